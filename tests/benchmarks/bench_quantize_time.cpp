// Benchmark (not a test): how long QuantScope takes to quantize a ResNet-18 with `fx` (post-training, 32
// calibration images), stage by stage, against PyTorch's prepare_fx + calibration + convert_fx on the same
// model, images, recipe, engine and threads, in one run, the two taking turns. Each side's figures are its
// fastest of `repeats` runs (first argument, 3). Prints the ratio and checks the targets (exit code 1 when
// one is missed): quantization including calibration no slower than PyTorch's, the per-layer output report
// adding at most 20 %, and the int8 model's output SQNR within 0.5 dB of PyTorch's.
#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "core/data/dataset.h"
#include "core/results/metrics.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"

using namespace quantscope;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool check(const char* what, double value, const char* op, double target, bool met) {
  std::printf("  %-60s %7.3f  (target %s %g) %s\n", what, value, op, target, met ? "MET" : "MISSED");
  return met;
}

// Times of one quantization, by the stages the technique reports through Progress.
struct StageTimes {
  std::vector<std::string> order;
  std::map<std::string, double> seconds;
  double total = 0;
};

StageTimes timeQuantization(const Model& model, const Dataset& calibration, const ParamValues& params,
                            std::optional<QuantizationOutcome>& outcome) {
  StageTimes times;
  std::string current;
  Clock::time_point stageStart;
  Progress progress;
  progress.onUpdate = [&](const std::string& stage, double) {
    if (stage == current) return;
    const auto now = Clock::now();
    if (!current.empty()) times.seconds[current] += std::chrono::duration<double>(now - stageStart).count();
    if (!times.seconds.count(stage)) times.order.push_back(stage);
    times.seconds.emplace(stage, 0.0);
    current = stage;
    stageStart = now;
  };
  const auto start = Clock::now();
  outcome = prepare_model_for_quantization(model, "fx", params, &calibration, progress);
  times.total = secondsSince(start);
  if (!current.empty()) times.seconds[current] += secondsSince(stageStart);
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const int threads = 2, samples = 32;
  const std::string qconfig = "onednn";
  const RuntimeInfo runtime = configureRuntime(threads);
  QTemporaryDir work;
  std::printf(
      "Quantization time: ResNet-18 (torchvision, random weights, batch-norm statistics set), fx with the %s "
      "recipe on %s kernels, %d calibration images, %d threads, fastest of %d runs each side\n%s\n\n",
      qconfig.c_str(), runtime.quantizedEngine.c_str(), samples, threads, repeats, describe(runtime).c_str());
  // PyTorch and QuantScope take turns, run by run, so that both see the same load on a busy machine.
  auto runPython = [&](const char* mode) {
    QProcess python;
    python.start("/usr/bin/python3",
                 {QString(QUANTSCOPE_BENCH_DIR) + "/pytorch_quantize_time_reference.py", work.path(),
                  QString::number(threads), QString::fromStdString(runtime.quantizedEngine),
                  QString::fromStdString(qconfig), QString::number(samples), mode});
    if (!python.waitForFinished(1800000) || python.exitCode() != 0) {
      std::fprintf(stderr, "PyTorch reference failed: %s\n", python.readAllStandardError().constData());
      std::exit(2);
    }
    return QJsonDocument::fromJson(python.readAllStandardOutput()).object();
  };
  runPython("make");
  std::map<std::string, double> torchBest;
  double torchSqnr = 0;

  configureRuntime(threads);
  const ParamValues params{
      {"qconfig", qconfig}, {"engine", runtime.quantizedEngine}, {"calib_samples", std::to_string(samples)}};
  double loadSeconds = std::numeric_limits<double>::infinity();
  StageTimes best;
  std::optional<QuantizationOutcome> outcome;
  std::optional<Model> model;
  for (int run = 0; run < repeats; ++run) {
    const QJsonObject torchRun = runPython("time");
    torchSqnr = torchRun["sqnr_db"].toDouble();
    for (const char* key : {"prepare_s", "calibrate_s", "convert_s", "total_s"}) {
      const double seconds = torchRun[key].toDouble();
      torchBest[key] = run == 0 ? seconds : std::min(torchBest[key], seconds);
    }
    configureRuntime(threads);
    const auto start = Clock::now();
    model = Model::load(work.filePath("resnet18.pt").toStdString());
    loadSeconds = std::min(loadSeconds, secondsSince(start));
    const Dataset calibration =
        Dataset::load(DataSource{work.filePath("resnet18_calibration.pt").toStdString()});
    const StageTimes times = timeQuantization(*model, calibration, params, outcome);
    std::printf("  run %d: QuantScope %.2f s, PyTorch FX %.2f s\n", run + 1, times.total,
                torchRun["total_s"].toDouble());
    if (run == 0) {
      best = times;
      continue;
    }
    best.total = std::min(best.total, times.total);
    for (auto& [stage, seconds] : best.seconds) {
      const auto found = times.seconds.find(stage);
      if (found != times.seconds.end()) seconds = std::min(seconds, found->second);
    }
  }
  const std::string reportStage = "Comparing each layer's output with the float model";
  const double reportSeconds = best.seconds.count(reportStage) ? best.seconds.at(reportStage) : 0.0;

  std::printf("QuantScope fx, seconds (fastest run per stage)\n");
  std::printf("  %-58s %7.2f\n", "Load the TorchScript model (not part of quantization)", loadSeconds);
  for (const auto& stage : best.order) std::printf("  %-58s %7.2f\n", stage.c_str(), best.seconds.at(stage));
  std::printf("  %-58s %7.2f\n", "whole quantization step (fastest run)", best.total);
  std::printf("\nPyTorch FX, seconds (fastest run per stage)\n");
  for (const char* key : {"prepare_s", "calibrate_s", "convert_s", "total_s"})
    std::printf("  %-58s %7.2f\n", key, torchBest[key]);

  // The same images through both models: the fidelity both quantizations reach.
  const Dataset calibration =
      Dataset::load(DataSource{work.filePath("resnet18_calibration.pt").toStdString()});
  const FidelityMetrics fidelity =
      computeFidelity(runModel(*model, calibration, 8), runModel(outcome->model, calibration, 8));
  std::printf("\nOutput SQNR vs fp32 on the calibration images: QuantScope %.2f dB, PyTorch FX %.2f dB\n\n",
              fidelity.sqnrDb, torchSqnr);

  const double torchTotal = torchBest["total_s"];
  bool ok = true;
  ok &= check("QuantScope / PyTorch quantization time, per-layer report excluded",
              (best.total - reportSeconds) / torchTotal, "<=", 1.0, best.total - reportSeconds <= torchTotal);
  ok &= check("QuantScope / PyTorch quantization time, everything", best.total / torchTotal, "<=", 1.2,
              best.total <= 1.2 * torchTotal);
  ok &=
      check("per-layer report / rest of the quantization step", reportSeconds / (best.total - reportSeconds),
            "<=", 0.2, reportSeconds <= 0.2 * (best.total - reportSeconds));
  ok &= check("|QuantScope SQNR - PyTorch FX SQNR| (dB)", std::abs(fidelity.sqnrDb - torchSqnr), "<=", 0.5,
              std::abs(fidelity.sqnrDb - torchSqnr) <= 0.5);
  return ok ? 0 : 1;
}
