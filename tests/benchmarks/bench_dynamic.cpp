// Benchmark (not a test): MLP 1024-4096-4096-1000, batch 64, 2 threads. fp32 vs QuantScope's dynamic int8
// vs PyTorch's own quantize_dynamic on the same engine. Prints the figures and checks the targets:
// QuantScope / PyTorch latency <= 1.05 and speed-up over fp32 >= 5x. Exit code 1 when a target is missed.
#include <QCoreApplication>
#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSysInfo>
#include <QTemporaryDir>
#include <cstdio>
#include <fstream>
#include <thread>

#include "core/quantization_techniques.h"
#include "core/runtime/benchmark.h"
#include "core/runtime/runtime_info.h"
#include "tests/benchmarks/bench_machine.h"

using namespace quantscope;

namespace {}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  const int runs = argc > 1 ? std::atoi(argv[1]) : 50;
  const int warmup = 10;
  const int threads = 2;
  const RuntimeInfo runtime = configureRuntime(threads);
  QTemporaryDir work;

  std::printf(
      "Dynamic quantization benchmark: MLP 1024-4096-4096-1000, input 64x1024, %d threads, %d runs after %d "
      "warm-up\n",
      threads, runs, warmup);
  std::printf("Machine: %s, %u hardware threads, %s\n", bench::cpuModel().c_str(),
              std::thread::hardware_concurrency(), QSysInfo::prettyProductName().toStdString().c_str());
  std::printf("Runtime: %s (BLAS %s)\n\n", describe(runtime).c_str(), runtime.blasLibrary.c_str());
  for (const auto& w : runtime.warnings) std::printf("WARNING: %s\n", w.c_str());

  QProcess python;
  python.start(
      "/usr/bin/python3",
      {QString(QUANTSCOPE_BENCH_DIR) + "/pytorch_dynamic_reference.py", work.path(), QString::number(runs),
       QString::number(warmup), QString::number(threads), QString::fromStdString(runtime.quantizedEngine)});
  if (!python.waitForFinished(900000) || python.exitCode() != 0) {
    std::fprintf(stderr, "PyTorch reference failed: %s\n", python.readAllStandardError().constData());
    return 2;
  }
  const QJsonObject reference = QJsonDocument::fromJson(python.readAllStandardOutput()).object();
  const double torchFp32 = reference["fp32"].toObject()["median_ms"].toDouble();
  const double torchInt8 = reference["pytorch_dynamic"].toObject()["median_ms"].toDouble();

  configureRuntime(threads);
  const Model model = Model::load(reference["model"].toString().toStdString());
  const InputSpec spec = model.requireInputSpec();
  BenchmarkOptions options;
  options.threads = threads;
  options.warmupRuns = warmup;
  const LatencyStats fp32 = benchmark_inference_speed(model, spec, runs, options);
  const QuantizationOutcome outcome = QuantizationTechniques::dynamic_quantization(model);
  const LatencyStats int8 = benchmark_inference_speed(outcome.model, spec, runs, options);

  std::printf("%-46s %10s %10s\n", "", "median ms", "p90 ms");
  std::printf("%-46s %10.2f %10.2f\n", "fp32, QuantScope (LibTorch + OpenBLAS)", fp32.medianMs, fp32.p90Ms);
  std::printf("%-46s %10.2f\n", "fp32, PyTorch eager", torchFp32);
  std::printf("%-46s %10.2f %10.2f\n",
              ("int8 dynamic, QuantScope (" + outcome.recipe + " recipe, " + outcome.engine + ")").c_str(),
              int8.medianMs, int8.p90Ms);
  std::printf("%-46s %10.2f\n",
              ("int8 dynamic, PyTorch quantize_dynamic (" + runtime.quantizedEngine + ")").c_str(),
              torchInt8);

  const double vsPyTorch = int8.medianMs / torchInt8;
  const double speedup = fp32.medianMs / int8.medianMs;
  const bool vsPyTorchOk = vsPyTorch <= 1.05, speedupOk = speedup >= 5.0;
  std::printf("\nQuantScope int8 / PyTorch int8 latency: %.3f  (target <= 1.05) %s\n", vsPyTorch,
              vsPyTorchOk ? "MET" : "MISSED");
  std::printf("Speed-up of QuantScope int8 over fp32:  %.2fx  (target >= 5x)  %s\n", speedup,
              speedupOk ? "MET" : "MISSED");
  return vsPyTorchOk && speedupOk ? 0 : 1;
}
