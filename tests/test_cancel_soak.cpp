// Cancel soak in the core: 20 cancels at seeded-random moments spread over every long stage (calibration,
// training epochs, sensitivity and search, evaluation and benchmarking) of every technique on the digits
// demo. After each: the run stopped with CancelledError (or a search kept its best configuration, or the run
// had ended before the cancel point; both counted), the caller's model is the same bytes as before, and the
// next uncancelled run of the same technique gives exactly the reference run's figures (never latencies).
// Model loading reports no progress (Model::load is one LibTorch call), so it cannot be cancelled midway.
#include <QtTest>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "core/data/dataset.h"
#include "core/model/model.h"
#include "core/quantization_techniques.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;

namespace {

// A run whose progress is counted or cancelled; returns its result or throws CancelledError.
struct Scenario {
  std::string name;
  std::function<RunResult(const Progress&)> run;
};

// One progress report of a reference run: which stage it belongs to, for spreading the cancels.
struct Report {
  std::string stage;
  double fraction = 0;
};

// The stage's kind without its numbers and names ("Training qat: epoch 1/1" -> "Training"), so that
// cancels are drawn per kind of stage, not per report (benchmarks report far more often than calibration).
std::string stageKind(const std::string& stage) {
  const size_t end = stage.find_first_of(" :");
  return stage.substr(0, end);
}

std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// Every figure a run measures except times: what must not change between identical runs.
std::string fingerprint(const RunResult& r) {
  std::string s = r.technique;
  s += " fp32 top1 " + exact(r.originalAccuracy.top1) + " int8 top1 " + exact(r.quantizedAccuracy.top1);
  s += " top5 " + exact(r.quantizedAccuracy.top5);
  s += " agreement " + exact(r.fidelity.top1Agreement) + " sqnr " + exact(r.fidelity.sqnrDb);
  s += " maxerr " + exact(r.fidelity.maxAbsError);
  s += " archive " + std::to_string(r.sizes.quantized.serializedBytes);
  s += " params " + std::to_string(r.sizes.quantized.parameterBytes);
  for (const auto& l : r.layers)
    s += " " + l.layer + (l.quantized ? ":int8 " : ":float ") + exact(l.weightSqnrDb);
  for (const auto& f : r.figures) {
    if (f.unit == "s" || f.group == "time") continue;
    s += " [" + f.name + " " + exact(f.value) + "]";
  }
  for (const auto& p : r.trainingCurve) s += " " + exact(p.loss);
  for (const auto& c : r.mixedPrecision.candidates)
    s += " {" + c.assignment + " " + std::to_string(c.fileBytes) + " " + exact(c.metric) + "}";
  return s;
}

std::string latencyFingerprint(const LatencyStats& s) {
  // A benchmark's figures are times; what must repeat is how it measured: runs, warm-up, threads, shape.
  std::string out = std::to_string(s.runs) + " runs, " + std::to_string(s.warmupRuns) + " warm-up, " +
                    std::to_string(s.threads) + " threads, shape";
  for (auto d : s.inputShape) out += " " + std::to_string(d);
  return out;
}

}  // namespace

class TestCancelSoak : public QObject {
  Q_OBJECT
 private:
  Model model_ = Model::load(builtinDigitsModelPath());
  Dataset test_ = Dataset::load(DataSource{"digits:test"});
  Dataset train_ = Dataset::load(DataSource{"digits:train"});

  RunResult evaluate(const std::string& technique, const ParamValues& params, const Progress& progress) {
    RunOptions options;
    options.benchmarkRuns = 20;
    options.benchmark.warmupRuns = 2;
    options.calibrationData = &train_;
    return quantize_and_evaluate(model_, test_, technique, params, options, progress);
  }

  std::vector<Scenario> scenarios() {
    const ParamValues quickTraining{{"epochs", "1"}, {"train_samples", "320"}, {"freeze_bn_epoch", "0"}};
    return {
        {"dynamic", [=](const Progress& p) { return evaluate("dynamic", {}, p); }},
        {"static",
         [=](const Progress& p) {
           return evaluate("static", {{"calib_samples", "256"}}, p);
         }},
        {"fx",
         [=](const Progress& p) {
           return evaluate("fx", {{"calib_samples", "256"}}, p);
         }},
        {"qat", [=](const Progress& p) { return evaluate("qat", quickTraining, p); }},
        {"pruning",
         [=](const Progress& p) {
           return evaluate("pruning", {{"finetune_epochs", "1"}, {"train_samples", "320"}}, p);
         }},
        {"distillation",
         [=](const Progress& p) {
           ParamValues params = quickTraining;
           params["compare_without"] = "false";
           return evaluate("distillation", params, p);
         }},
        {"mixed",
         [=](const Progress& p) {
           return evaluate("mixed",
                           {{"search", "accuracy"},
                            {"candidate_bits", "4,8"},
                            {"sensitivity_samples", "64"},
                            {"max_evaluations", "6"},
                            {"calib_samples", "64"}},
                           p);
         }},
        {"benchmark",
         [=](const Progress& p) {
           RunResult r;
           r.technique = "benchmark_inference_speed";
           r.originalLatency = benchmark_inference_speed(model_, model_.requireInputSpec(), 200, {}, p);
           return r;
         }},
    };
  }

 private slots:
  void twentyCancelsAtRandomMomentsLeaveNothingBehind() {
    const std::string modelBefore = model_.serialize();
    std::vector<Scenario> all = scenarios();

    // Reference runs, uncancelled: their figures, and every progress report by kind of stage.
    std::map<std::string, std::string> reference;
    std::map<std::string, std::vector<Report>> reports;
    for (const auto& s : all) {
      std::vector<Report>& seen = reports[s.name];
      Progress progress;
      progress.onUpdate = [&seen](const std::string& stage, double f) { seen.push_back({stage, f}); };
      const RunResult r = s.run(progress);
      reference[s.name] = s.name == "benchmark" ? latencyFingerprint(r.originalLatency) : fingerprint(r);
      std::set<std::string> kinds;
      for (const auto& rep : seen) kinds.insert(stageKind(rep.stage));
      QStringList names;
      for (const auto& k : kinds) names << QString::fromStdString(k);
      qInfo("reference %s: %zu progress reports; stages: %s", s.name.c_str(), seen.size(),
            qPrintable(names.join(", ")));
      QVERIFY(model_.serialize() == modelBefore);
    }

    // The 20 moments: each long stage of each technique (calibration, training epochs, sensitivity, search,
    // evaluation, benchmarking) and three anywhere at all, in a seeded random order; within its stage a
    // random progress report.
    std::vector<std::pair<std::string, std::string>> moments = {{"static", "Calibrating"},
                                                                {"static", "Calibrating"},
                                                                {"fx", "Calibrating"},
                                                                {"fx", "Calibrating"},
                                                                {"qat", "Training"},
                                                                {"qat", "Training"},
                                                                {"pruning", "Training"},
                                                                {"pruning", "Training"},
                                                                {"distillation", "Training"},
                                                                {"distillation", "Training"},
                                                                {"mixed", "Sensitivity"},
                                                                {"mixed", "Sensitivity"},
                                                                {"mixed", "Search"},
                                                                {"mixed", "Search"},
                                                                {"dynamic", "Evaluating"},
                                                                {"dynamic", "Benchmarking"},
                                                                {"benchmark", "Benchmarking"},
                                                                {"", ""},
                                                                {"", ""},
                                                                {"", ""}};
    std::mt19937 random(20261129);
    std::shuffle(moments.begin(), moments.end(), random);
    int cancelled = 0, stoppedEarly = 0, finishedFirst = 0;
    std::map<std::string, int> stagesHit;
    for (int i = 0; i < int(moments.size()); ++i) {
      const std::string name =
          moments[size_t(i)].first.empty() ? all[random() % all.size()].name : moments[size_t(i)].first;
      const Scenario& s =
          *std::find_if(all.begin(), all.end(), [&](const Scenario& c) { return c.name == name; });
      const std::vector<Report>& seen = reports[s.name];
      std::vector<size_t> candidates;
      for (size_t k = 0; k < seen.size(); ++k) {
        if (moments[size_t(i)].second.empty() || stageKind(seen[k].stage) == moments[size_t(i)].second)
          candidates.push_back(k);
      }
      QVERIFY2(!candidates.empty(),
               qPrintable(QString::fromStdString(s.name + " reports no stage " + moments[size_t(i)].second)));
      const size_t target = candidates[random() % candidates.size()];
      const std::string kind = stageKind(seen[target].stage);

      std::atomic<bool> cancel{false};
      size_t count = 0;
      Report hit;
      Progress progress;
      progress.cancelFlag = &cancel;
      progress.onUpdate = [&](const std::string& stage, double f) {
        if (count++ == target) {
          hit = {stage, f};
          cancel = true;
        }
      };
      std::string outcome;
      try {
        const RunResult r = s.run(progress);
        if (!r.mixedPrecision.stoppedEarly.empty()) {
          ++stoppedEarly;
          outcome = "stopped early, kept: " + r.mixedPrecision.stoppedEarly;
        } else {
          ++finishedFirst;
          outcome = "finished before the cancel was seen";
        }
      } catch (const CancelledError&) {
        ++cancelled;
        outcome = "CancelledError";
      }
      ++stagesHit[kind];
      qInfo("cancel %2d/%zu: %-12s at report %zu of %zu, '%s' %.3f -> %s", i + 1, moments.size(),
            s.name.c_str(), target + 1, seen.size(), hit.stage.c_str(), hit.fraction, outcome.c_str());
      QVERIFY2(!hit.stage.empty(), "the cancel point was never reached");
      QVERIFY2(model_.serialize() == modelBefore, "the caller's model changed");

      // The next uncancelled run gives the reference's figures exactly.
      const RunResult again = s.run({});
      const std::string figures =
          s.name == "benchmark" ? latencyFingerprint(again.originalLatency) : fingerprint(again);
      QVERIFY2(figures == reference[s.name],
               qPrintable(QString::fromStdString("after the cancel:\n" + figures + "\nreference:\n" +
                                                 reference[s.name])));
    }
    QStringList hits;
    for (const auto& [kind, n] : stagesHit) hits << QString("%1 %2").arg(QString::fromStdString(kind)).arg(n);
    qInfo("%d cancelled, %d stopped early with a kept result, %d finished first; stages hit: %s", cancelled,
          stoppedEarly, finishedFirst, qPrintable(hits.join(", ")));
    QVERIFY(cancelled >= 14);
    QVERIFY(model_.serialize() == modelBefore);
  }
};

QTEST_GUILESS_MAIN(TestCancelSoak)
#include "test_cancel_soak.moc"
