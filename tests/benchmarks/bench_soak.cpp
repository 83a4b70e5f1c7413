// Soak benchmark (also a CTest test with a short run): many quantize-and-evaluate runs in one process on the
// digits demo, cycling dynamic, static and fx, as a long session in the window does. Prints the resident
// memory (VmRSS) after runs 1, 10, every 50th and the last, and the ratio last/10: memory a run leaves behind
// shows as growth after the caches have warmed up (run 10). What still grows, ~0.3 MiB a run here, is
// LibTorch 1.13's own: isSingleInputGeneralCallFunction (torch/csrc/jit/passes/quantization/helper.cpp),
// called by InsertObservers and InsertQuantDeQuant for every value they look at, appends its list of names to
// a static vector on each call (heaptrack, dynamic runs only: the peak heap grew 58.5 -> 79.1 MB from 20 to
// 60 runs, 18.9 MB of it that vector's).
//   bench_soak [runs=100] [--max-growth PERCENT]
// With --max-growth, exits 1 when RSS after the last run exceeds RSS after run 10 by more than PERCENT.
#include <QCoreApplication>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/data/dataset.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"
#include "tests/benchmarks/bench_machine.h"

using namespace quantscope;

namespace {

// Resident memory of this process in KiB, from /proc/self/status (0 when unreadable).
long residentKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

}  // namespace

int run(int argc, char** argv);

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_soak: %s\n", e.what());
    return 2;
  }
}

int run(int argc, char** argv) {
  int runs = 100;
  double maxGrowthPercent = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--max-growth") == 0 && i + 1 < argc) {
      maxGrowthPercent = std::atof(argv[++i]);
    } else {
      runs = std::atoi(argv[i]);
    }
  }
  if (runs < 10) {
    std::fprintf(stderr, "bench_soak: at least 10 runs are needed (RSS after run 10 is the baseline)\n");
    return 2;
  }
  const RuntimeInfo runtime = configureRuntime(2);
  std::printf("Soak: %d quantize-and-evaluate runs of the digits demo in one process (dynamic, static, fx)\n",
              runs);
  std::printf("%s; %s\n\n", bench::cpuModel().c_str(), describe(runtime).c_str());

  const Model model = Model::load(builtinDigitsModelPath());
  const Dataset test = Dataset::load(DataSource{"digits:test"});
  const Dataset train = Dataset::load(DataSource{"digits:train"});
  RunOptions options;
  options.benchmarkRuns = 20;
  options.benchmark.warmupRuns = 2;
  options.calibrationData = &train;
  const char* techniques[] = {"dynamic", "static", "fx"};

  const long start = residentKiB();
  long afterTen = 0, last = 0;
  double firstTop1[3] = {-1, -1, -1};
  const auto began = std::chrono::steady_clock::now();
  std::printf("  %-28s %10.1f MiB\n", "RSS before the first run", start / 1024.0);
  for (int run = 1; run <= runs; ++run) {
    const int t = (run - 1) % 3;
    const ParamValues params = t == 0 ? ParamValues{} : ParamValues{{"calib_samples", "256"}};
    const RunResult r = quantize_and_evaluate(model, test, techniques[t], params, options);
    // The same run must give the same accuracy every time; a soak that drifts is a bug, not a figure.
    if (firstTop1[t] < 0) firstTop1[t] = r.quantizedAccuracy.top1;
    if (r.quantizedAccuracy.top1 != firstTop1[t]) {
      std::printf("run %d (%s): top-1 %.4f, first run of it gave %.4f\n", run, techniques[t],
                  r.quantizedAccuracy.top1, firstTop1[t]);
      return 1;
    }
    const long rss = residentKiB();
    if (run == 10) afterTen = rss;
    if (run == runs) last = rss;
    if (run == 1 || run == 10 || run % 50 == 0 || run == runs) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      std::printf("  RSS after run %-14d %10.1f MiB   (%.0f s so far)\n", run, rss / 1024.0, seconds);
    }
  }
  const double ratio = afterTen > 0 ? double(last) / double(afterTen) : 0;
  std::printf("\n  RSS after run %d / after run 10: %.3f (%+.1f %%)\n", runs, ratio, (ratio - 1) * 100);
  std::printf("  top-1 per technique, identical on every run: dynamic %.2f %%, static %.2f %%, fx %.2f %%\n",
              firstTop1[0] * 100, firstTop1[1] * 100, firstTop1[2] * 100);
  if (maxGrowthPercent >= 0) {
    const bool met = ratio > 0 && (ratio - 1) * 100 <= maxGrowthPercent;
    std::printf("  growth after run 10 %+.1f %% (bound %.0f %%) %s\n", (ratio - 1) * 100, maxGrowthPercent,
                met ? "MET" : "MISSED");
    return met ? 0 : 1;
  }
  return 0;
}
