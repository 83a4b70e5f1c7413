// Benchmark (not a test): mixed precision on the digits demo (uniform int8 fx, uniform 4-bit weights, the
// accuracy search's pick at max_acc_drop=1, and the size search at uniform 4-bit's file size) with file
// bytes, accuracy and SQNR side by side, sensitivity and search times; then sensitivity time on ResNet-18
// (random weights, unlabelled: the SQNR/agreement metric, 64 images; skipped with --digits-only). Exit code 1
// when a target is missed.
#include <QCoreApplication>
#include <QProcess>
#include <QTemporaryDir>
#include <chrono>
#include <cstdio>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"

using namespace quantscope;

namespace {

bool check(const char* what, double value, const char* op, double target, bool met) {
  std::printf("  %-62s %9.3f  (target %s %g) %s\n", what, value, op, target, met ? "MET" : "MISSED");
  return met;
}

void row(const char* name, const RunResult& r) {
  std::printf("  %-34s %9lld B  %6.2f %%  %5.1f dB  %7.2f s\n", name,
              static_cast<long long>(r.sizes.quantized.serializedBytes), r.quantizedAccuracy.top1 * 100,
              r.fidelity.sqnrDb, r.quantizeSeconds);
}

}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  const RuntimeInfo runtime = configureRuntime(2);
  std::printf("Mixed-precision benchmark, %s kernels\n%s\n\n", runtime.quantizedEngine.c_str(),
              describe(runtime).c_str());
  bool ok = true;
  try {
    const Model digits = Model::load(builtinDigitsModelPath());
    const Dataset train = Dataset::load(DataSource{"digits:train"});
    const Dataset test = Dataset::load(DataSource{"digits:test"});
    RunOptions options;
    options.calibrationData = &train;
    options.benchmarkRuns = 30;
    std::printf("Digits CNN: calibrated on digits:train, measured on digits:test (360 images)\n");
    std::printf("  %-34s %11s  %8s  %8s  %9s\n", "", "file", "top-1", "SQNR", "quantize");
    const RunResult int8 = quantize_and_evaluate(digits, test, "fx", {}, options);
    std::printf("  %-34s %9lld B  %6.2f %%\n", "fp32",
                static_cast<long long>(int8.sizes.original.serializedBytes),
                int8.originalAccuracy.top1 * 100);
    row("uniform int8 (fx)", int8);
    const RunResult four = quantize_and_evaluate(digits, test, "mixed", {{"bits_weights", "4"}}, options);
    row("uniform 4-bit weights (mixed)", four);
    const RunResult searched = quantize_and_evaluate(
        digits, test, "mixed", {{"search", "accuracy"}, {"max_acc_drop", "1"}, {"candidate_bits", "2,4,8"}},
        options);
    row("accuracy search, max_acc_drop=1", searched);
    const double fourKib = double(four.sizes.quantized.serializedBytes) / 1024.0;
    char budget[32];
    std::snprintf(budget, sizeof(budget), "%.3f", fourKib);
    const RunResult sized = quantize_and_evaluate(
        digits, test, "mixed", {{"search", "size"}, {"max_size_kb", budget}, {"candidate_bits", "2,4,8"}},
        options);
    row("size search at uniform 4-bit's size", sized);
    for (const RunResult* r : {&searched, &sized}) {
      for (const auto& note : r->notes)
        if (note.rfind("Bits per layer", 0) == 0) std::printf("    %s\n", note.c_str());
      std::printf("    sensitivity %.2f s, search %.2f s, %zu configurations evaluated\n",
                  r->mixedPrecision.sensitivitySeconds, r->mixedPrecision.searchSeconds,
                  r->mixedPrecision.candidates.size());
    }
    const double fp32 = int8.originalAccuracy.top1 * 100;
    ok &=
        check("accuracy search: file bytes / uniform int8's",
              double(searched.sizes.quantized.serializedBytes) / double(int8.sizes.quantized.serializedBytes),
              "<", 1.0, searched.sizes.quantized.serializedBytes < int8.sizes.quantized.serializedBytes);
    ok &= check("accuracy search: top-1 drop vs fp32 on the test split (pt)",
                fp32 - searched.quantizedAccuracy.top1 * 100, "<=", 1.0,
                fp32 - searched.quantizedAccuracy.top1 * 100 <= 1.0);
    ok &= check("size search: file bytes / uniform 4-bit's",
                double(sized.sizes.quantized.serializedBytes) / double(four.sizes.quantized.serializedBytes),
                "<=", 1.0, sized.sizes.quantized.serializedBytes <= four.sizes.quantized.serializedBytes);
    const double gain = (sized.quantizedAccuracy.top1 - four.quantizedAccuracy.top1) * 100;
    const bool better = gain > 0 || (gain == 0 && sized.fidelity.sqnrDb > four.fidelity.sqnrDb);
    ok &= check("size search top-1 - uniform 4-bit top-1 (pt; tie: higher SQNR)", gain, ">=", 0, better);
    ok &= check("sensitivity on the demo, 2 candidates (s)", sized.mixedPrecision.sensitivitySeconds, "<", 10,
                sized.mixedPrecision.sensitivitySeconds < 10);

    if (argc > 1 && QString(argv[1]) == "--digits-only") return ok ? 0 : 1;
    QTemporaryDir work;
    QProcess python;
    python.start("/usr/bin/python3", {QString(QUANTSCOPE_BENCH_DIR) + "/make_resnet18.py", work.path()});
    if (!python.waitForFinished(600000) || python.exitCode() != 0) {
      std::fprintf(stderr, "make_resnet18.py failed: %s\n", python.readAllStandardError().constData());
      return 2;
    }
    const Model resnet = Model::load(work.filePath("resnet18.pt").toStdString());
    // Unlabelled images (a bare tensor): the metric is agreement with fp32, with the output SQNR.
    QProcess makeImages;
    makeImages.start("/usr/bin/python3", {"-c",
                                          "import torch,sys; torch.manual_seed(2); "
                                          "torch.save(torch.randn(64, 3, 224, 224), sys.argv[1])",
                                          work.filePath("images.pt")});
    if (!makeImages.waitForFinished(120000) || makeImages.exitCode() != 0) return 2;
    const Dataset images = Dataset::load(DataSource{work.filePath("images.pt").toStdString()});
    const auto started = std::chrono::steady_clock::now();
    const QuantizationOutcome q = prepare_model_for_quantization(
        resnet, "mixed", {{"sensitivity", "true"}, {"sensitivity_samples", "64"}, {"calib_samples", "64"}},
        &images);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const MixedPrecisionReport& r = q.mixedPrecision;
    std::printf("\nResNet-18 (random weights), 64 images, %s; candidates 4,8\n", r.metricName.c_str());
    std::printf("  %zu sensitivity rows in %.1f s (whole run %.1f s)\n", r.sensitivity.size(),
                r.sensitivitySeconds, seconds);
    ok &= check("sensitivity on ResNet-18, 64 images (s)", r.sensitivitySeconds, "<", 180,
                r.sensitivitySeconds < 180);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.fullMessage().c_str());
    return 2;
  }
  return ok ? 0 : 1;
}
