// Benchmark (not a test): the post-training accuracy steps of issue 11 on depthwise-separable networks.
// Plain PTQ (fx) against + equalization, + empirical bias correction, + AdaRound and all three, each a
// parameter string of the fx technique, with PyTorch FX PTQ (prepare_fx/convert_fx, same recipe, same
// calibration and evaluation samples) in the same run. Models: a small depthwise-separable CNN trained on
// the digits (made at build time by train_digits_depthwise.py) and torchvision's MobileNetV2 (random
// weights, batch-norm statistics from sample images; pytorch_ptq_accuracy_reference.py). Recipes: qnnpack
// (per-tensor weights) and onednn (per-channel weights), each on its own kernels.
//
// Usage: bench_ptq_accuracy [--only plain,adaround,...] [--models digits,mobilenet_v2]
//                           [--adaround-iters N] [--threads N]
// --only limits the combinations (names: plain, equalize, equalize_relu, bias_correction, adaround, all); a
// combination whose parameters this build does not have is reported as not available. Exit code 1 when a
// target is missed, 2 when the reference or a model fails.
#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStringList>
#include <QTemporaryDir>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/results/metrics.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"
#include "tests/benchmarks/bench_machine.h"

using namespace quantscope;

namespace {

struct Combination {
  std::string name;
  std::string params;  // "key=value,key=value" added to the fx technique's parameters
};

const std::vector<Combination>& allCombinations() {
  static const std::vector<Combination> combinations{
      {"plain", ""},
      {"equalize", "equalize=true"},
      {"equalize_relu", "equalize=true,relu6_to_relu=true"},
      {"bias_correction", "bias_correction=empirical"},
      {"adaround", "adaround=true"},
      {"all", "equalize=true,relu6_to_relu=true,bias_correction=empirical,adaround=true"},
  };
  return combinations;
}

ParamValues parseParams(const std::string& text) {
  ParamValues params;
  for (const QString& item : QString::fromStdString(text).split(',', Qt::SkipEmptyParts)) {
    const auto parts = item.split('=');
    params[parts.value(0).trimmed().toStdString()] = parts.value(1).trimmed().toStdString();
  }
  return params;
}

struct Row {
  std::string name;
  bool available = false;
  std::string error;
  double sqnrDb = 0;
  double top1 = 0;  // top-1 accuracy with labels, agreement with fp32 without
  double seconds = 0;
  std::vector<std::string> stepNotes;
};

// Runs the model in batches; oneDNN's int8 depthwise kernels fail at some batch sizes, so a failing
// batch size falls back to one sample at a time.
Matrix outputsOf(const Model& model, const Dataset& data, int64_t batch) {
  try {
    return runModel(model, data, batch);
  } catch (const std::exception&) {
    if (batch == 1) throw;
    return runModel(model, data, 1);
  }
}

bool check(const std::string& what, double value, const char* op, double target, bool met) {
  std::printf("  %-66s %8.2f  (target %s %g) %s\n", what.c_str(), value, op, target, met ? "MET" : "MISSED");
  return met;
}

}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  QCoreApplication app(argc, argv);
  QStringList only, models{"digits", "mobilenet_v2"};
  std::string adaroundIters;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool hasValue = i + 1 < argc;
    if (arg == "--only" && hasValue) {
      only = QString(argv[++i]).split(',', Qt::SkipEmptyParts);
    } else if (arg == "--models" && hasValue) {
      models = QString(argv[++i]).split(',', Qt::SkipEmptyParts);
    } else if (arg == "--adaround-iters" && hasValue) {
      adaroundIters = argv[++i];
    } else if (arg == "--threads" && hasValue) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(
          stderr,
          "usage: bench_ptq_accuracy [--only plain,equalize,equalize_relu,bias_correction,adaround,all] "
          "[--models digits,mobilenet_v2] [--adaround-iters N] [--threads N]\n");
      return 2;
    }
  }
  for (const QString& modelName : models) {
    if (modelName != "digits" && modelName != "mobilenet_v2") {
      std::fprintf(stderr, "unknown model '%s' (digits, mobilenet_v2)\n", modelName.toStdString().c_str());
      return 2;
    }
  }
  std::vector<Combination> combinations;
  for (const auto& c : allCombinations())
    if (only.isEmpty() || only.contains(QString::fromStdString(c.name))) combinations.push_back(c);
  if (combinations.empty()) {
    std::fprintf(stderr,
                 "--only names none of: plain, equalize, equalize_relu, bias_correction, adaround, all\n");
    return 2;
  }

  const RuntimeInfo runtime = configureRuntime(threads);
  std::printf(
      "PTQ accuracy benchmark (issue 11): fx plain vs accuracy steps vs PyTorch FX, %d threads\n%s\n%s\n",
      threads, describe(runtime).c_str(), bench::cpuModel().c_str());
  if (!adaroundIters.empty()) std::printf("adaround_iters=%s\n", adaroundIters.c_str());
  QTemporaryDir work;
  const QString digitsModel = QString(QUANTSCOPE_BENCH_BUILD_DIR) + "/digits_depthwise.pt";
  std::printf("Running PyTorch's reference (data, MobileNetV2, FX PTQ)...\n");
  std::fflush(stdout);
  QProcess python;
  python.start("/usr/bin/python3", {QString(QUANTSCOPE_BENCH_DIR) + "/pytorch_ptq_accuracy_reference.py",
                                    work.path(), digitsModel, QString::number(threads), models.join(',')});
  if (!python.waitForFinished(3600000) || python.exitCode() != 0) {
    std::fprintf(stderr, "PyTorch reference failed: %s\n", python.readAllStandardError().constData());
    return 2;
  }
  const QJsonObject torchFigures = QJsonDocument::fromJson(python.readAllStandardOutput()).object();
  std::printf("PyTorch %s\n", torchFigures["torch_version"].toString().toStdString().c_str());

  bool ok = true;
  for (const QString& modelName : models) {
    const bool digits = modelName == "digits";
    const std::string file =
        digits ? digitsModel.toStdString() : work.filePath("mobilenet_v2.pt").toStdString();
    const Model model = Model::load(file);
    const Dataset calibration =
        Dataset::load(DataSource{work.filePath(modelName + "_calib.pt").toStdString()});
    const Dataset evaluation = Dataset::load(DataSource{work.filePath(modelName + "_eval.pt").toStdString()});
    const std::vector<int64_t> labels = evaluation.labels();
    const int64_t batch = digits ? 64 : 16;
    configureRuntime(threads);
    const Matrix reference = runModel(model, evaluation, batch);
    const QJsonObject torchModel = torchFigures[modelName].toObject();
    const double fp32Top1 = digits ? computeAccuracy(reference, labels).top1 * 100 : 100.0;
    const char* metric = digits ? "top-1 %" : "agree %";

    for (const std::string recipe : {"qnnpack", "onednn"}) {
      std::printf("\n%s, %s recipe (%s weights) on %s kernels; calibration %lld, evaluation %lld samples\n",
                  digits ? "Digits depthwise-separable CNN (trained)" : "MobileNetV2 (random weights)",
                  recipe.c_str(), recipe == "qnnpack" ? "per-tensor" : "per-channel", recipe.c_str(),
                  static_cast<long long>(calibration.info().size),
                  static_cast<long long>(evaluation.info().size));
      std::printf("  %-34s %9s %9s %10s\n", "", "SQNR dB", metric, "quantize s");
      if (digits) std::printf("  %-34s %9s %9.2f\n", "fp32", "", fp32Top1);
      const QJsonObject torchRecipe = torchModel[QString::fromStdString(recipe)].toObject();
      const bool torchRan = !torchRecipe.contains("error");
      if (torchRan) {
        std::printf("  %-34s %9.2f %9.2f\n", "PyTorch FX", torchRecipe["sqnr_db"].toDouble(),
                    (digits ? torchRecipe["top1"] : torchRecipe["agreement"]).toDouble() * 100);
      } else {
        std::printf("  %-34s failed: %s\n", "PyTorch FX",
                    torchRecipe["error"].toString().toStdString().c_str());
      }
      std::vector<Row> rows;
      for (const auto& combination : combinations) {
        Row row;
        row.name = combination.name;
        ParamValues params = parseParams(combination.params);
        params["qconfig"] = recipe;
        params["engine"] = recipe;
        params["calib_samples"] = std::to_string(calibration.info().size);
        if (!adaroundIters.empty() && params.count("adaround")) params["adaround_iters"] = adaroundIters;
        try {
          const auto started = std::chrono::steady_clock::now();
          const QuantizationOutcome outcome =
              prepare_model_for_quantization(model, "fx", params, &calibration);
          row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          const Matrix out = outputsOf(outcome.model, evaluation, batch);
          const FidelityMetrics fidelity = computeFidelity(reference, out);
          row.sqnrDb = fidelity.sqnrDb;
          row.top1 = (digits ? computeAccuracy(out, labels).top1 : fidelity.top1Agreement) * 100;
          row.available = true;
          for (const auto& step : outcome.accuracySteps) {  // layers a step left alone, and why
            if (step.change.rfind("not ", 0) == 0) row.stepNotes.push_back(step.layer + ": " + step.change);
          }
          for (const auto& note : outcome.notes) {
            if (note.find("AdaRound") != std::string::npos || note.find("qualiz") != std::string::npos ||
                note.find("ias correction") != std::string::npos)
              row.stepNotes.push_back(note);
          }
        } catch (const std::exception& e) {
          row.error = e.what();
        }
        const std::string label = "QuantScope fx " + (row.name == "plain" ? "plain" : "+ " + row.name);
        if (row.available) {
          std::printf("  %-34s %9.2f %9.2f %10.1f\n", label.c_str(), row.sqnrDb, row.top1, row.seconds);
          for (const auto& note : row.stepNotes) std::printf("      %s\n", note.c_str());
        } else {
          std::printf("  %-34s not available: %s\n", label.c_str(), row.error.c_str());
        }
        std::fflush(stdout);
        rows.push_back(row);
      }

      // Each step's gain over plain, and the targets on the best combination that ran.
      const auto plain =
          std::find_if(rows.begin(), rows.end(), [](const Row& r) { return r.name == "plain"; });
      const Row* best = nullptr;
      for (const Row& r : rows)
        if (r.available && (!best || r.sqnrDb > best->sqnrDb)) best = &r;
      if (!best) {
        std::printf("  no combination ran\n");
        ok = false;
        continue;
      }
      if (plain != rows.end() && plain->available) {
        for (const Row& r : rows) {
          if (r.available && r.name != "plain")
            std::printf("  gain of %-26s %+8.2f dB %+8.2f pt\n", r.name.c_str(), r.sqnrDb - plain->sqnrDb,
                        r.top1 - plain->top1);
        }
      }
      std::printf("  best combination: %s\n", best->name.c_str());
      if (digits && recipe == "qnnpack") {
        if (plain != rows.end() && plain->available) {
          const double gain = best->sqnrDb - plain->sqnrDb;
          ok &= check("digits, per-tensor: best SQNR - plain SQNR (dB)", gain, ">=", 3, gain >= 3);
        }
        const double drop = fp32Top1 - best->top1;
        ok &= check("digits, per-tensor: fp32 top-1 - best top-1 (pt)", drop, "<=", 0.5, drop <= 0.5);
      }
      if (!digits) {
        if (torchRan) {
          const double margin = best->sqnrDb - torchRecipe["sqnr_db"].toDouble();
          ok &= check("MobileNetV2, " + recipe + ": best SQNR - PyTorch FX SQNR (dB)", margin, ">=", 1,
                      margin >= 1);
        } else {
          std::printf("  MobileNetV2, %s: PyTorch FX did not run, no comparison\n", recipe.c_str());
        }
      }
    }
  }
  return ok ? 0 : 1;
}
