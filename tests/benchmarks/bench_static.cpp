// Benchmark (not a test): QuantScope's graph-mode (fx) and static quantization against PyTorch's own
// prepare_fx/convert_fx on the same model, recipe, engine and calibration samples. Prints the figures and
// checks the targets; exit code 1 when one is missed.
#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <chrono>
#include <cstdio>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/runtime/benchmark.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"

using namespace quantscope;

namespace {

bool check(const char* what, double value, const char* op, double target, bool met) {
  std::printf("  %-58s %8.3f  (target %s %g) %s\n", what, value, op, target, met ? "MET" : "MISSED");
  return met;
}

}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  const int runs = argc > 1 ? std::atoi(argv[1]) : 30, warmup = 5, threads = 2;
  const std::string qconfig = "fbgemm";
  const RuntimeInfo runtime = configureRuntime(threads);
  QTemporaryDir work;
  std::printf(
      "Static / graph-mode quantization benchmark: %s recipe on %s kernels, %d threads, %d runs\n%s\n\n",
      qconfig.c_str(), runtime.quantizedEngine.c_str(), threads, runs, describe(runtime).c_str());
  QProcess python;
  python.start("/usr/bin/python3",
               {QString(QUANTSCOPE_BENCH_DIR) + "/pytorch_fx_reference.py", work.path(),
                QString::number(runs), QString::number(warmup), QString::number(threads),
                QString::fromStdString(runtime.quantizedEngine), QString::fromStdString(qconfig)});
  if (!python.waitForFinished(1800000) || python.exitCode() != 0) {
    std::fprintf(stderr, "PyTorch reference failed: %s\n", python.readAllStandardError().constData());
    return 2;
  }
  const QJsonObject torchFigures = QJsonDocument::fromJson(python.readAllStandardOutput()).object();
  bool ok = true;
  const ParamValues params{{"qconfig", qconfig}, {"calib_samples", "256"}};

  // Digits: accuracy and fidelity on the test split, calibrated on the same 256 training samples.
  configureRuntime(threads);
  const Model digits = Model::load(builtinDigitsModelPath());
  const Dataset test = Dataset::load(DataSource{"digits:test"});
  const Dataset calib = Dataset::load(DataSource{work.filePath("digits_calib.pt").toStdString()});
  RunOptions options;
  options.benchmarkRuns = runs;
  options.calibrationData = &calib;
  const QJsonObject torchDigits = torchFigures["digits"].toObject();
  std::printf("Digits CNN (360 test images)          top-1      SQNR vs fp32\n");
  std::printf("  fp32                                %6.2f %%\n", torchDigits["fp32_top1"].toDouble() * 100);
  std::printf("  PyTorch FX int8                     %6.2f %%   %5.1f dB\n",
              torchDigits["int8_top1"].toDouble() * 100, torchDigits["sqnr_db"].toDouble());
  RunResult fx, eager;
  for (auto* r : {&fx, &eager}) {
    *r = quantize_and_evaluate(digits, test, r == &fx ? "fx" : "static", params, options);
    std::printf("  QuantScope %-6s int8               %6.2f %%   %5.1f dB\n", r->technique.c_str(),
                r->quantizedAccuracy.top1 * 100, r->fidelity.sqnrDb);
  }
  const double fp32 = fx.originalAccuracy.top1 * 100;
  ok &= check("fx top-1 drop vs fp32 (pt)", fp32 - fx.quantizedAccuracy.top1 * 100, "<=", 0.5,
              fp32 - fx.quantizedAccuracy.top1 * 100 <= 0.5);
  ok &= check("static top-1 drop vs fp32 (pt)", fp32 - eager.quantizedAccuracy.top1 * 100, "<=", 1.0,
              fp32 - eager.quantizedAccuracy.top1 * 100 <= 1.0);
  const double top1Gap = std::abs(fx.quantizedAccuracy.top1 - torchDigits["int8_top1"].toDouble()) * 100;
  ok &= check("|fx top-1 - PyTorch FX top-1| (pt)", top1Gap, "<=", 0.5, top1Gap <= 0.5);
  const double sqnrGap = torchDigits["sqnr_db"].toDouble() - fx.fidelity.sqnrDb;
  ok &= check("PyTorch FX SQNR - fx SQNR (dB)", sqnrGap, "<=", 1.0, sqnrGap <= 1.0);

  // ResNet-18, batch 8: latency against PyTorch FX and fp32, and the time to quantize with 256 images.
  const Model resnet = Model::load(work.filePath("resnet18.pt").toStdString());
  const Dataset resnetCalib = Dataset::load(DataSource{work.filePath("resnet18_calib.pt").toStdString()});
  const auto started = std::chrono::steady_clock::now();
  const QuantizationOutcome q = prepare_model_for_quantization(resnet, "fx", params, &resnetCalib);
  const double quantizeSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BenchmarkOptions bench;
  bench.threads = threads;
  bench.warmupRuns = warmup;
  const InputSpec spec = resnet.requireInputSpec();
  const double fp32Ms = benchmark_inference_speed(resnet, spec, runs, bench).medianMs;
  const double int8Ms = benchmark_inference_speed(q.model, spec, runs, bench).medianMs;
  const QJsonObject torchResnet = torchFigures["resnet18"].toObject();
  std::printf("\nResNet-18, input 8x3x224x224          median ms\n");
  std::printf("  fp32 (QuantScope / PyTorch)         %7.1f / %7.1f\n", fp32Ms,
              torchResnet["fp32_ms"].toDouble());
  std::printf("  int8 QuantScope fx                  %7.1f\n", int8Ms);
  std::printf("  int8 PyTorch FX                     %7.1f\n", torchResnet["int8_ms"].toDouble());
  std::printf("  quantize with 256 images: QuantScope %.1f s, PyTorch FX %.1f s\n", quantizeSeconds,
              torchResnet["quantize_s"].toDouble());
  ok &= check("QuantScope fx / PyTorch FX latency", int8Ms / torchResnet["int8_ms"].toDouble(), "<=", 1.05,
              int8Ms / torchResnet["int8_ms"].toDouble() <= 1.05);
  ok &= check("speed-up over fp32 (x)", fp32Ms / int8Ms, ">=", 3.5, fp32Ms / int8Ms >= 3.5);
  ok &= check("quantize ResNet-18 with 256 images (s)", quantizeSeconds, "<", 30, quantizeSeconds < 30);

  // MobileNetV2 at batch 1 and 8: the first engine that runs it (oneDNN fails on some depthwise
  // convolutions at batch > 1 in some builds; then qnnpack).
  const Model mobilenet = Model::load(work.filePath("mobilenet_v2.pt").toStdString());
  const Dataset mobilenetCalib =
      Dataset::load(DataSource{work.filePath("mobilenet_v2_calib.pt").toStdString()});
  std::printf("\nMobileNetV2 (64 calibration images)   median ms fp32 -> int8 fx\n");
  for (int64_t batch : {1, 8}) {
    const InputSpec mobileSpec = mobilenet.requireInputSpec().withBatch(batch);
    const double floatMs = benchmark_inference_speed(mobilenet, mobileSpec, runs, bench).medianMs;
    bool measured = false;
    for (const char* engine : {"onednn", "qnnpack"}) {
      ParamValues mobileParams = params;
      mobileParams["engine"] = engine;
      mobileParams["calib_samples"] = "64";
      try {
        const QuantizationOutcome mq =
            prepare_model_for_quantization(mobilenet, "fx", mobileParams, &mobilenetCalib);
        const double ms = benchmark_inference_speed(mq.model, mobileSpec, runs, bench).medianMs;
        std::printf("  batch %lld on %-8s                %7.1f -> %7.1f  (%.2fx)\n",
                    static_cast<long long>(batch), engine, floatMs, ms, floatMs / ms);
        measured = true;
        break;
      } catch (const Error& e) {
        std::printf("  batch %lld on %-8s failed: %s\n", static_cast<long long>(batch), engine, e.what());
      }
    }
    ok &= measured;
  }
  return ok ? 0 : 1;
}
