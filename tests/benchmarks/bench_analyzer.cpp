// Benchmark (not a test): how long the quant analyzer takes on a ResNet-18 (torchvision architecture,
// random weights, made by make_resnet18.py), onednn recipe and kernels, 2 threads: 32 calibration images,
// the four-way rows and the 5 stability runs measured on those 32 images unlabelled (agreement with fp32
// and SQNR), each of the 2 x 21 sweep configurations on the first 16 of them. Prints the time of each
// part and the total against the target (< 2 min; exit code 1 when missed).
#include <QCoreApplication>
#include <QProcess>
#include <QTemporaryDir>
#include <chrono>
#include <cstdio>

#include "core/analysis/analysis_report.h"
#include "core/analysis/quant_analysis.h"
#include "core/data/dataset.h"
#include "core/model/model.h"
#include "core/runtime/runtime_info.h"

using namespace quantscope;

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  const RuntimeInfo runtime = configureRuntime(2);
  QTemporaryDir work;
  QProcess python;
  python.start("/usr/bin/python3", {QString(QUANTSCOPE_BENCH_DIR) + "/make_resnet18.py", work.path()});
  if (!python.waitForFinished(600000) || python.exitCode() != 0) {
    std::fprintf(stderr, "make_resnet18.py failed: %s\n", python.readAllStandardError().constData());
    return 2;
  }
  std::printf("Quant analyzer on ResNet-18 (random weights), onednn recipe, %s\n\n",
              describe(runtime).c_str());
  const Model model = Model::load(work.filePath("resnet18.pt").toStdString());
  DataSource source{work.filePath("resnet18_data.pt").toStdString()};
  source.unlabelled = true;  // random labels: agreement with fp32 is the meaningful metric
  const Dataset data = Dataset::load(source);
  QuantAnalysisOptions options;
  options.recipe = {{"qconfig", "onednn"}, {"calib_samples", "32"}};
  options.evalSamples = 32;
  options.sweepSamples = 16;
  Progress progress;
  progress.onUpdate = [](const std::string& stage, double fraction) {
    std::fprintf(stderr, "[%3d%%] %s\n", int(fraction * 100), stage.c_str());
  };
  const auto start = std::chrono::steady_clock::now();
  const QuantAnalysis analysis = analyzeQuantization(model, data, &data, options, progress);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n", formatQuantAnalysis(analysis).c_str());
  std::printf("Layers: %zu; analyzer total %.1f s (target < 120 s: %s)\n", analysis.enableOne.size(), seconds,
              seconds < 120 ? "met" : "MISSED");
  return seconds < 120 ? 0 : 1;
}
