// Benchmark (not a test): QuantScope's training techniques against PyTorch's own recipes on the digits demo
// with the same data, epochs, batch size, learning rates, seed and threads (PyTorch: prepare_qat_fx;
// prune.global_unstructured + fine-tuning + FX PTQ; a KD loop with the same loss), and channel pruning's
// speed-up on a ResNet-18-sized model. Prints the figures side by side and checks the targets; exit code 1
// when one is missed.
#include <sys/resource.h>

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <cmath>
#include <cstdio>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"

using namespace quantscope;

namespace {

bool check(const char* what, double value, const char* op, double target, bool met) {
  std::printf("  %-62s %8.3f  (target %s %g) %s\n", what, value, op, target, met ? "MET" : "MISSED");
  return met;
}

double figure(const RunResult& r, const std::string& name) {
  for (const auto& f : r.figures) {
    if (f.name == name) return f.value;
  }
  return std::nan("");
}

double peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

QJsonObject runPython(const QString& script, const QStringList& args) {
  QProcess python;
  python.start("/usr/bin/python3", QStringList{QString(QUANTSCOPE_BENCH_DIR) + "/" + script} + args);
  if (!python.waitForFinished(3600000) || python.exitCode() != 0) {
    std::fprintf(stderr, "PyTorch reference failed: %s\n", python.readAllStandardError().constData());
    std::exit(2);
  }
  return QJsonDocument::fromJson(python.readAllStandardOutput()).object();
}

}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  const int threads = 2, seeds = 3;
  const RuntimeInfo runtime = configureRuntime(threads);
  std::printf(
      "Training techniques benchmark: digits demo, fbgemm recipe on %s kernels, %d threads, batch 32\n%s\n\n",
      runtime.quantizedEngine.c_str(), threads, describe(runtime).c_str());
  const QString resources = QString::fromStdString(resourcesDirectory());
  const QJsonObject torchFigures =
      runPython("pytorch_training_reference.py",
                {"--model", resources + "/digits_cnn.pt", "--technique", "all", "--threads",
                 QString::number(threads), "--batch-size", "32", "--seed", "0", "--pruning-scope", "global",
                 "--student", resources + "/digits_student.pt", "--seeds", QString::number(seeds)});
  bool ok = true;

  configureRuntime(threads);
  const Model digits = Model::load(builtinDigitsModelPath());
  const Dataset test = Dataset::load(DataSource{"digits:test"});
  const Dataset train = Dataset::load(DataSource{"digits:train"});
  RunOptions options;
  options.benchmarkRuns = 20;
  options.calibrationData = &train;
  const RunResult fx = quantize_and_evaluate(digits, test, "fx", {}, options);
  const double fp32 = fx.originalAccuracy.top1 * 100;
  std::printf("Digits CNN, 360 test images: fp32 %.2f %%, fx PTQ int8 %.2f %%\n\n", fp32,
              fx.quantizedAccuracy.top1 * 100);

  std::printf("%-14s %-28s %10s %10s\n", "technique", "figure", "QuantScope", "PyTorch");
  const auto row = [](const char* technique, const char* what, double ours, double theirs) {
    std::printf("%-14s %-28s %10.3f %10.3f\n", technique, what, ours, theirs);
  };
  // QAT
  const RunResult qat = quantize_and_evaluate(digits, test, "qat", {}, options);
  const double qatRss = peakRssMiB();
  const QJsonObject tq = torchFigures["qat"].toObject();
  row("qat", "int8 test top-1 (%)", qat.quantizedAccuracy.top1 * 100, tq["int8_top1"].toDouble() * 100);
  row("qat", "fake-quant top-1 (%)*", figure(qat, "fake-quant validation top-1 (before conversion)"),
      tq["fake_quant_top1"].toDouble() * 100);
  row("qat", "seconds per epoch", figure(qat, "seconds per epoch"), tq["seconds_per_epoch"].toDouble());
  row("qat", "peak RSS so far (MiB)", qatRss, tq["peak_rss_mib"].toDouble());
  // Pruning, 50 % unstructured (global), default fine-tuning.
  const RunResult pruning = quantize_and_evaluate(digits, test, "pruning", {}, options);
  const double pruningRss = peakRssMiB();
  const QJsonObject tp = torchFigures["pruning"].toObject();
  row("pruning", "int8 test top-1 (%)", pruning.quantizedAccuracy.top1 * 100,
      tp["int8_top1"].toDouble() * 100);
  row("pruning", "weights pruned (%)", figure(pruning, "weights pruned (fp32)"),
      tp["zero_weight_fraction"].toDouble() * 100);
  row("pruning", "seconds per epoch", figure(pruning, "seconds per epoch"),
      tp["seconds_per_epoch"].toDouble());
  row("pruning", "peak RSS so far (MiB)", pruningRss, tp["peak_rss_mib"].toDouble());
  // Distillation into the shipped untrained student, with and without, over `seeds` seeds.
  const ParamValues kd{{"student", (resources + "/digits_student.pt").toStdString()},
                       {"seeds", std::to_string(seeds)}};
  const RunResult distilled = quantize_and_evaluate(digits, test, "distillation", kd, options);
  const QJsonObject td = torchFigures["distillation"].toObject();
  const QJsonObject tdWith = td["distilled"].toObject(), tdWithout = td["baseline"].toObject();
  row("distillation", "with: int8 test top-1 (%)", distilled.quantizedAccuracy.top1 * 100,
      tdWith["int8_top1_mean"].toDouble() * 100);
  row("distillation", "with: int8 val top-1 mean*",
      figure(distilled, "with distillation: int8 validation top-1"), std::nan(""));
  row("distillation", "with: int8 val top-1 std*", figure(distilled, "with distillation: int8 top-1 std"),
      tdWith["int8_top1_std"].toDouble() * 100);
  row("distillation", "without: int8 val mean*",
      figure(distilled, "without distillation: int8 validation top-1"),
      tdWithout["int8_top1_mean"].toDouble() * 100);
  row("distillation", "without: int8 val std*", figure(distilled, "without distillation: int8 top-1 std"),
      tdWithout["int8_top1_std"].toDouble() * 100);
  row("distillation", "with: agreement w/ teacher*",
      figure(distilled, "with distillation: int8 agreement with teacher"),
      tdWith["agreement_mean"].toDouble() * 100);
  row("distillation", "without: agreement*",
      figure(distilled, "without distillation: int8 agreement with teacher"),
      tdWithout["agreement_mean"].toDouble() * 100);
  const double kdEpoch = figure(distilled, "with distillation: seconds per epoch");
  row("distillation", "seconds per epoch (with)", kdEpoch, tdWith["seconds_per_epoch_mean"].toDouble());
  std::printf(
      "  * QuantScope: on the validation samples held out of the training split (PyTorch: on the test split\n"
      "    for int8/fake-quant top-1, on the validation split for the distillation means).\n\n");

  std::printf("Targets\n");
  const double qatInt8 = qat.quantizedAccuracy.top1 * 100;
  ok &= check("qat int8 top-1 - (fp32 - 0.3) (pt)", qatInt8 - (fp32 - 0.3), ">=", 0, qatInt8 >= fp32 - 0.3);
  ok &= check("qat int8 top-1 - fx PTQ top-1 (pt)", qatInt8 - fx.quantizedAccuracy.top1 * 100, ">=", 0,
              qatInt8 >= fx.quantizedAccuracy.top1 * 100);
  const double pruneDrop = fp32 - pruning.quantizedAccuracy.top1 * 100;
  ok &= check("50 % pruning: top-1 drop vs fp32 (pt)", pruneDrop, "<=", 1.0, pruneDrop <= 1.0);
  for (const auto& [name, ours, theirs] :
       {std::tuple<const char*, double, double>{"|qat - PyTorch qat| int8 top-1 (pt)", qatInt8,
                                                tq["int8_top1"].toDouble() * 100},
        {"|pruning - PyTorch pruning| int8 top-1 (pt)", pruning.quantizedAccuracy.top1 * 100,
         tp["int8_top1"].toDouble() * 100},
        {"|distillation - PyTorch KD| int8 top-1 (pt)", distilled.quantizedAccuracy.top1 * 100,
         tdWith["int8_top1_mean"].toDouble() * 100}}) {
    ok &= check(name, std::abs(ours - theirs), "<=", 0.5, std::abs(ours - theirs) <= 0.5);
  }
  for (const auto& [name, ours, theirs] :
       {std::tuple<const char*, double, double>{"qat seconds per epoch / PyTorch",
                                                figure(qat, "seconds per epoch"),
                                                tq["seconds_per_epoch"].toDouble()},
        {"pruning seconds per epoch / PyTorch", figure(pruning, "seconds per epoch"),
         tp["seconds_per_epoch"].toDouble()},
        {"distillation seconds per epoch / PyTorch", kdEpoch, tdWith["seconds_per_epoch_mean"].toDouble()}}) {
    ok &= check(name, ours / theirs, "<=", 1.25, ours / theirs <= 1.25);
  }

  // Channel pruning at 0.5 on ResNet-18 (random weights; speed and size only): int8 at batch 8 against
  // the unpruned fx int8 model.
  QTemporaryDir work;
  QProcess make;
  make.start("/usr/bin/python3", {QString(QUANTSCOPE_BENCH_DIR) + "/make_resnet18.py", work.path(), "8"});
  if (!make.waitForFinished(600000) || make.exitCode() != 0) {
    std::fprintf(stderr, "make_resnet18.py failed: %s\n", make.readAllStandardError().constData());
    return 2;
  }
  configureRuntime(threads);
  const Model resnet = Model::load(work.filePath("resnet18.pt").toStdString());
  DataSource images{work.filePath("resnet18_data.pt").toStdString()};
  images.unlabelled = true;
  const Dataset resnetData = Dataset::load(images);
  RunOptions resnetOptions;
  resnetOptions.benchmarkRuns = 20;
  resnetOptions.benchmarkBatch = 8;
  resnetOptions.evalBatchSize = 8;
  resnetOptions.calibrationData = &resnetData;
  const RunResult dense =
      quantize_and_evaluate(resnet, resnetData, "fx", {{"calib_samples", "32"}}, resnetOptions);
  const RunResult channels = quantize_and_evaluate(
      resnet, resnetData, "pruning",
      {{"structure", "channels"}, {"scope", "layer"}, {"finetune_epochs", "0"}, {"validation_fraction", "0"}},
      resnetOptions);
  std::printf("\nResNet-18 (random weights), batch 8       median ms    archive\n");
  std::printf("  fp32                                 %10.1f %10.1f MiB\n", dense.originalLatency.medianMs,
              dense.sizes.original.serializedBytes / 1048576.0);
  std::printf("  int8 fx (unpruned)                   %10.1f %10.1f MiB\n", dense.quantizedLatency.medianMs,
              dense.sizes.quantized.serializedBytes / 1048576.0);
  std::printf("  int8, 50 %% channels pruned           %10.1f %10.1f MiB\n",
              channels.quantizedLatency.medianMs, channels.sizes.quantized.serializedBytes / 1048576.0);
  const double speedup = dense.quantizedLatency.medianMs / channels.quantizedLatency.medianMs;
  const double smaller =
      double(dense.sizes.quantized.serializedBytes) / double(channels.sizes.quantized.serializedBytes);
  ok &= check("channel pruning: unpruned int8 ms / pruned int8 ms", speedup, ">=", 1.4, speedup >= 1.4);
  ok &= check("channel pruning: unpruned int8 file / pruned file", smaller, ">=", 1.5, smaller >= 1.5);
  std::printf("\n%s\n", ok ? "All targets met." : "Some targets missed.");
  return ok ? 0 : 1;
}
