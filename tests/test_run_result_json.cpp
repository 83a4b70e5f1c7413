// RunResult <-> JSON for the training techniques' and mixed precision's additions (training curve, figures,
// per-layer sparsity and bits, the mixed-precision report), written and read back through the same bytes
// project files and --json use; and their text rendering.
#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>
#include <cmath>

#include "core/results/report_text.h"
#include "core/results/run_result_json.h"

using namespace quantscope;

namespace {

TrainingPoint point(const std::string& series, int epoch, int64_t step, bool endOfEpoch, double loss) {
  TrainingPoint p;
  p.series = series;
  p.epoch = epoch;
  p.step = step;
  p.endOfEpoch = endOfEpoch;
  p.loss = loss;
  p.learningRate = 1e-3 * (1.0 + epoch);
  p.elapsedSeconds = 0.1 * double(step) + 1.0 / 3.0;
  return p;
}

RunResult trainedResult() {
  RunResult r;
  r.technique = "distillation";
  r.params = {{"temperature", "2.0"}, {"student", "/tmp/student.pt"}};
  r.trainingCurve.push_back(point("with distillation", 0, 1, false, 2.302585092994046));
  r.trainingCurve.push_back(point("with distillation", 0, 2, false, 1.0 / 7.0));
  TrainingPoint epoch = point("with distillation", 0, 2, true, 0.123456789012345678);
  epoch.trainAccuracy = 97.14285714285714;
  epoch.validationAccuracy = 98.0;
  epoch.validationAgreement = 99.30555555555556;
  r.trainingCurve.push_back(epoch);
  TrainingPoint other = point("without distillation", 0, 2, true, 0.3);
  other.trainAccuracy = 0.0;  // measured, and zero: must not turn into "not measured"
  r.trainingCurve.push_back(other);
  r.figures = {{"distillation", "student with distillation", 98.61111111111111, "%"},
               {"distillation", "student without distillation", 97.5, "%"},
               {"distillation", "teacher", 99.16666666666667, "%"},
               {"size", "student parameters", 17226, ""}};
  LayerQuantization pruned;
  pruned.layer = "fc1";
  pruned.opKind = "Linear";
  pruned.quantized = true;
  pruned.scheme = "qint8 per-channel";
  pruned.sparsity = 0.5000305175781250;
  pruned.int8Sparsity = 0.53125;
  pruned.channelsRemoved = 12;
  LayerQuantization plain;
  plain.layer = "fc2";
  plain.opKind = "Linear";
  r.layers = {pruned, plain};
  return r;
}

// A mixed-precision run: three layers at 4 and 8 bits, three configurations of an accuracy search.
RunResult mixedResult() {
  RunResult r;
  r.technique = "mixed";
  MixedPrecisionReport& m = r.mixedPrecision;
  m.metricName = "top-1 accuracy";
  m.floatMetric = 98.61111111111111;
  m.samples = 720;
  m.search = "accuracy";
  m.budget = "max_acc_drop=1 pt";
  const char* layers[] = {"conv1", "conv2", "fc1"};
  for (int i = 0; i < 3; ++i) {
    for (const char* bits : {"4", "8"}) {
      SensitivityRow row;
      row.layer = layers[i];
      row.bits = bits;
      row.drop = (bits[0] == '4' ? 1.0 / 3.0 : 0.05) * (i + 1);
      row.metric = m.floatMetric - row.drop;
      row.sqnrDb = (bits[0] == '4' ? 14.3 : 32.5) + i;
      row.seconds = 0.125 * (i + 1);
      m.sensitivity.push_back(row);
    }
  }
  m.sensitivity[1].sqnrDb = INFINITY;  // identical outputs: written as null, read back as +inf
  auto candidate = [](const char* assignment, int64_t file, int64_t packed, double metric, double drop,
                      double sqnr, bool within, bool pareto, bool picked) {
    SearchCandidate c;
    c.assignment = assignment;
    c.fileBytes = file;
    c.packedWeightBytes = packed;
    c.metric = metric;
    c.drop = drop;
    c.sqnrDb = sqnr;
    c.withinBudget = within;
    c.pareto = pareto;
    c.picked = picked;
    return c;
  };
  m.candidates = {
      candidate("conv1=8,conv2=8,fc1=8", 61440, 28160, 98.47222222222223, 0.1388888888888889, 31.5, true,
                true, false),
      candidate("conv1=8,conv2=4,fc1=8", 55296, 21504, 98.05555555555556, 0.5555555555555556, 24.8, true,
                true, true),
      candidate("conv1=4,conv2=4,fc1=4", 43008, 14080, 96.5, 2.1111111111111112, 12.0, false, true, false)};
  m.stoppedEarly = "cancelled after 3 of 12 configurations; the best of those is returned";
  m.sensitivitySeconds = 1.75;
  m.searchSeconds = 4.5;
  LayerQuantization conv1, conv2, fc1, fc2;
  conv1.layer = "conv1";
  conv1.weightBits = 8;
  conv1.activationBits = 8;
  conv2.layer = "conv2";
  conv2.weightBits = 4;
  conv2.activationBits = 8;
  fc1.layer = "fc1";
  fc1.weightBits = -1;
  fc2.layer = "fc2";  // not set by the technique
  r.layers = {conv1, conv2, fc1, fc2};
  return r;
}

// Through bytes, as a project file or --json output is.
RunResult roundTrip(const RunResult& r) {
  const QByteArray bytes = QJsonDocument(toJson(r)).toJson(QJsonDocument::Indented);
  return runResultFromJson(QJsonDocument::fromJson(bytes).object());
}

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

class TestRunResultJson : public QObject {
  Q_OBJECT
 private slots:
  void trainingCurveRoundTripsExactly() {
    const RunResult original = trainedResult();
    const RunResult back = roundTrip(original);
    QCOMPARE(back.trainingCurve.size(), original.trainingCurve.size());
    for (size_t i = 0; i < original.trainingCurve.size(); ++i) {
      const TrainingPoint& a = original.trainingCurve[i];
      const TrainingPoint& b = back.trainingCurve[i];
      QCOMPARE(b.series, a.series);
      QCOMPARE(b.epoch, a.epoch);
      QCOMPARE(b.step, a.step);
      QCOMPARE(b.endOfEpoch, a.endOfEpoch);
      // Exact, not fuzzy: project files must give back the numbers that were measured.
      QVERIFY2(b.loss == a.loss, qPrintable(QString::number(b.loss, 'g', 17)));
      QVERIFY(b.learningRate == a.learningRate);
      QVERIFY(b.elapsedSeconds == a.elapsedSeconds);
      QVERIFY(b.trainAccuracy == a.trainAccuracy);
      QVERIFY(b.validationAccuracy == a.validationAccuracy);
      QVERIFY(b.validationAgreement == a.validationAgreement);
    }
    QCOMPARE(back.trainingCurve[0].trainAccuracy, -1.0);  // a step point: not measured
    QCOMPARE(back.trainingCurve[3].trainAccuracy, 0.0);
    QCOMPARE(back.params.at("student"), std::string("/tmp/student.pt"));
  }
  void unmeasuredValuesAreLeftOutOfTheJson() {
    const QJsonObject json = toJson(trainedResult());
    const QJsonArray curve = json.value("training_curve").toArray();
    QCOMPARE(curve.size(), 4);
    QVERIFY(!curve[0].toObject().contains("train_accuracy"));
    QCOMPARE(curve[2].toObject().value("validation_accuracy").toDouble(), 98.0);
    QCOMPARE(curve[2].toObject().value("series").toString(), QString("with distillation"));
    const QJsonArray layers = json.value("layers").toArray();
    QCOMPARE(layers[0].toObject().value("channels_removed").toInteger(), 12);
    QCOMPARE(layers[0].toObject().value("int8_sparsity").toDouble(), 0.53125);
    for (const char* key : {"sparsity", "int8_sparsity", "channels_removed"})
      QVERIFY2(!layers[1].toObject().contains(key), key);
    // The keys that were there before are unchanged.
    for (const char* key : {"technique", "params", "recipe", "engine", "sizes", "fidelity", "layers", "notes",
                            "simulated", "quantize_seconds", "finished_at", "runtime"}) {
      QVERIFY2(json.contains(key), key);
    }
    QCOMPARE(layers[0].toObject().value("op").toString(), QString("Linear"));
  }
  void accuracyStepsRoundTrip() {
    RunResult original = trainedResult();
    QVERIFY(!toJson(original).contains("accuracy_steps"));  // left out when no step ran
    original.accuracySteps = {
        {"equalization", "conv1",
         "16 output channels scaled by 0.2..3.1 with conv2; channel range max/min 540 -> 2.1", 23.5, 31.25,
         true},
        {"high-bias absorption", "conv2", "took up to 1.5 from 4 channels of conv1's bias", 0, 0, false},
        {"bias correction", "fc", "bias shifted by 0.002 on average (max 0.01)", 30.0, INFINITY, true},
        {"bias correction", "conv1", "not corrected: its input does not come from a batch norm", 0, 0,
         false}};
    const QJsonArray steps = toJson(original).value("accuracy_steps").toArray();
    QCOMPARE(steps.size(), 4);
    QCOMPARE(steps[0].toObject().value("output_sqnr_before_db").toDouble(), 23.5);
    QVERIFY(!steps[1].toObject().contains("output_sqnr_before_db"));
    const RunResult back = roundTrip(original);
    QCOMPARE(back.accuracySteps.size(), original.accuracySteps.size());
    for (size_t i = 0; i < original.accuracySteps.size(); ++i) {
      const AccuracyStepChange &a = original.accuracySteps[i], &b = back.accuracySteps[i];
      QCOMPARE(b.step, a.step);
      QCOMPARE(b.layer, a.layer);
      QCOMPARE(b.change, a.change);
      QCOMPARE(b.hasOutputSqnr, a.hasOutputSqnr);
      if (a.hasOutputSqnr) {
        QVERIFY(same(b.outputSqnrBeforeDb, a.outputSqnrBeforeDb));
        QVERIFY(same(b.outputSqnrAfterDb, a.outputSqnrAfterDb));  // inf (identical) survives as null
      }
    }
    // The CLI's text shows them too.
    const std::string text = formatAccuracySteps(original.accuracySteps);
    QVERIFY(text.find("equalization") != std::string::npos &&
            text.find("23.5 dB -> 31.2 dB") != std::string::npos);
    QVERIFY(formatRunResult(original).find("Accuracy steps") != std::string::npos);
  }
  void figuresAndSparsityRoundTrip() {
    const RunResult original = trainedResult();
    const RunResult back = roundTrip(original);
    QCOMPARE(back.figures.size(), original.figures.size());
    for (size_t i = 0; i < original.figures.size(); ++i) {
      QCOMPARE(back.figures[i].group, original.figures[i].group);
      QCOMPARE(back.figures[i].name, original.figures[i].name);
      QVERIFY(back.figures[i].value == original.figures[i].value);
      QCOMPARE(back.figures[i].unit, original.figures[i].unit);
    }
    QCOMPARE(back.layers.size(), size_t(2));
    QVERIFY(back.layers[0].sparsity == original.layers[0].sparsity);
    QVERIFY(back.layers[0].int8Sparsity == original.layers[0].int8Sparsity);
    QCOMPARE(back.layers[0].channelsRemoved, int64_t(12));
    QCOMPARE(back.layers[1].sparsity, -1.0);
    QCOMPARE(back.layers[1].int8Sparsity, -1.0);
    QCOMPARE(back.layers[1].channelsRemoved, int64_t(0));
  }
  void divergedLossSurvivesAsNaN() {
    RunResult r;
    r.trainingCurve.push_back(point("qat", 1, 40, false, NAN));
    r.figures.push_back({"qat", "fake-quant accuracy", NAN, "%"});
    const RunResult back = roundTrip(r);
    QVERIFY(std::isnan(back.trainingCurve[0].loss));
    QVERIFY(same(back.trainingCurve[0].learningRate, r.trainingCurve[0].learningRate));
    QVERIFY(std::isnan(back.figures[0].value));
  }
  void olderJsonWithoutTheNewKeysReads() {
    QJsonObject json = toJson(trainedResult());
    json.remove("training_curve");
    json.remove("figures");
    const RunResult back = runResultFromJson(json);
    QVERIFY(back.trainingCurve.empty());
    QVERIFY(back.figures.empty());
  }
  void mixedPrecisionRoundTripsExactly() {
    const RunResult original = mixedResult();
    const RunResult back = roundTrip(original);
    const MixedPrecisionReport& a = original.mixedPrecision;
    const MixedPrecisionReport& b = back.mixedPrecision;
    QCOMPARE(b.metricName, a.metricName);
    QVERIFY(b.floatMetric == a.floatMetric);
    QCOMPARE(b.samples, a.samples);
    QCOMPARE(b.search, a.search);
    QCOMPARE(b.budget, a.budget);
    QCOMPARE(b.stoppedEarly, a.stoppedEarly);
    QVERIFY(b.sensitivitySeconds == a.sensitivitySeconds);
    QVERIFY(b.searchSeconds == a.searchSeconds);
    QCOMPARE(b.sensitivity.size(), a.sensitivity.size());
    for (size_t i = 0; i < a.sensitivity.size(); ++i) {
      QCOMPARE(b.sensitivity[i].layer, a.sensitivity[i].layer);
      QCOMPARE(b.sensitivity[i].bits, a.sensitivity[i].bits);
      QVERIFY(b.sensitivity[i].metric == a.sensitivity[i].metric);
      QVERIFY(b.sensitivity[i].drop == a.sensitivity[i].drop);
      QVERIFY(b.sensitivity[i].sqnrDb == a.sensitivity[i].sqnrDb);
      QVERIFY(b.sensitivity[i].seconds == a.sensitivity[i].seconds);
    }
    QVERIFY(std::isinf(b.sensitivity[1].sqnrDb) && b.sensitivity[1].sqnrDb > 0);
    QCOMPARE(b.candidates.size(), a.candidates.size());
    for (size_t i = 0; i < a.candidates.size(); ++i) {
      const SearchCandidate& x = a.candidates[i];
      const SearchCandidate& y = b.candidates[i];
      QCOMPARE(y.assignment, x.assignment);
      QCOMPARE(y.fileBytes, x.fileBytes);
      QCOMPARE(y.packedWeightBytes, x.packedWeightBytes);
      QVERIFY(y.metric == x.metric);
      QVERIFY(y.drop == x.drop);
      QVERIFY(y.sqnrDb == x.sqnrDb);
      QCOMPARE(y.withinBudget, x.withinBudget);
      QCOMPARE(y.pareto, x.pareto);
      QCOMPARE(y.picked, x.picked);
    }
    QCOMPARE(back.layers.size(), original.layers.size());
    for (size_t i = 0; i < original.layers.size(); ++i) {
      QCOMPARE(back.layers[i].weightBits, original.layers[i].weightBits);
      QCOMPARE(back.layers[i].activationBits, original.layers[i].activationBits);
    }
    QCOMPARE(back.layers[2].weightBits, -1);
  }
  void runsWithoutMixedPrecisionKeepTheirJson() {
    // Other techniques' JSON gains no key; files written before mixed precision still read.
    const QJsonObject plain = toJson(trainedResult());
    QVERIFY(!plain.contains("mixed_precision"));
    for (const auto& layer : plain.value("layers").toArray()) {
      QVERIFY(!layer.toObject().contains("weight_bits"));
      QVERIFY(!layer.toObject().contains("activation_bits"));
    }
    QJsonObject json = toJson(mixedResult());
    QVERIFY(json.contains("mixed_precision"));
    QCOMPARE(json.value("layers").toArray()[1].toObject().value("weight_bits").toInt(), 4);
    QVERIFY(!json.value("layers").toArray()[3].toObject().contains("weight_bits"));
    json.remove("mixed_precision");
    QJsonArray layers = json.value("layers").toArray();
    for (int i = 0; i < layers.size(); ++i) {
      QJsonObject layer = layers[i].toObject();
      layer.remove("weight_bits");
      layer.remove("activation_bits");
      layers[i] = layer;
    }
    json["layers"] = layers;
    const RunResult back = runResultFromJson(json);
    QVERIFY(back.mixedPrecision.empty());
    QVERIFY(back.mixedPrecision.metricName.empty());
    QCOMPARE(back.layers.size(), size_t(4));
    for (const auto& l : back.layers) {
      QCOMPARE(l.weightBits, 0);
      QCOMPARE(l.activationBits, 0);
    }
  }
  void mixedPrecisionText() {
    const RunResult r = mixedResult();
    QCOMPARE(formatLayerBits(r.layers[0]), std::string("w8 a8"));
    QCOMPARE(formatLayerBits(r.layers[1]), std::string("w4 a8"));
    QCOMPARE(formatLayerBits(r.layers[2]), std::string("float"));
    QCOMPARE(formatLayerBits(r.layers[3]), std::string("-"));
    const std::string text = formatMixedPrecision(r.mixedPrecision);
    QStringList lines = QString::fromStdString(text).split('\n');
    auto line = [&](const QString& start) {
      for (const auto& l : lines) {
        if (l.trimmed().startsWith(start)) return l;
      }
      return QString();
    };
    QVERIFY2(line("Float model").contains("top-1 accuracy 98.61 % on 720 samples"), text.c_str());
    // Sensitivity: a column per candidate bit-width, a row per layer in the given order.
    QVERIFY2(line("Sensitivity").contains("1.8 s"), text.c_str());
    QVERIFY(line("LAYER").contains("4 BIT") &&
            line("LAYER").indexOf("4 BIT") < line("LAYER").indexOf("8 BIT"));
    QVERIFY(line("conv1").contains("0.33 pt  14.3 dB"));
    QVERIFY(line("conv1").contains("0.05 pt  inf (identical)"));
    QVERIFY2(line("fc1").contains("1.00 pt  16.3 dB") && line("fc1").contains("0.15 pt  34.5 dB"),
             text.c_str());
    QVERIFY(text.find("conv1") < text.find("conv2") && text.find("conv2") < text.find("fc1"));
    // Search: every configuration, the pick starred, the marks.
    QVERIFY2(line("Search").contains("(accuracy, max_acc_drop=1 pt): 3 configurations, 4.5 s"), text.c_str());
    const QString picked = line("*");
    QVERIFY2(picked.contains("54.0") && picked.contains("21.0") && picked.contains("98.06 %") &&
                 picked.contains("0.56 pt") && picked.contains("24.8 dB") && picked.contains(" BP ") &&
                 picked.endsWith("conv1=8,conv2=4,fc1=8"),
             qPrintable(picked));
    const QString over = line("42.0");
    QVERIFY2(over.contains("96.50 %") && over.contains("2.11 pt") && over.contains(" P ") &&
                 !over.contains(" BP "),
             qPrintable(over));
    QCOMPARE(lines.filter("conv1=").size(), 3);
    QVERIFY(line("Stopped early").contains("cancelled after 3 of 12 configurations"));
    // In the run's text too, with the BITS column; not for other techniques.
    const std::string run = formatRunResult(r);
    QVERIFY(run.find("Mixed precision") != std::string::npos);
    QVERIFY(run.find("BITS") != std::string::npos);
    QVERIFY(QString::fromStdString(formatLayerReport(r.layers)).split('\n')[2].contains("w4 a8"));
    QVERIFY(formatMixedPrecision(MixedPrecisionReport{}).empty());
    const std::string plain = formatRunResult(trainedResult());
    QVERIFY(plain.find("BITS") == std::string::npos);
    QVERIFY(plain.find("Mixed precision") == std::string::npos);
  }
  void textReportListsCurveFiguresAndSparsity() {
    const RunResult r = trainedResult();
    QCOMPARE(
        formatTrainingPoint(r.trainingCurve[2]),
        std::string(
            "epoch 1 [with distillation]: loss 0.1235, train 97.1 %, val 98.0 %, agreement 99.3 %, 0.5 s"));
    QCOMPARE(formatTrainingPoint(point("qat", 2, 9, true, 0.5)),
             std::string("epoch 3 [qat]: loss 0.5000, 1.2 s"));
    const std::string text = formatRunResult(r);
    QVERIFY2(text.find("Technique figures") != std::string::npos, text.c_str());
    QVERIFY(text.find("student without distillation") != std::string::npos);
    QVERIFY(text.find("97.5 %") != std::string::npos);
    QVERIFY(text.find("ZERO WEIGHTS INT8") != std::string::npos);
    QVERIFY(text.find("53.12 %") != std::string::npos);
    QVERIFY(text.find("[without distillation]: loss 0.3000, train 0.0 %") != std::string::npos);
    RunResult plain;
    plain.layers = {r.layers[1]};
    const std::string plainText = formatRunResult(plain);
    QVERIFY(plainText.find("ZERO WEIGHTS") == std::string::npos);
    QVERIFY(plainText.find("Technique figures") == std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestRunResultJson)
#include "test_run_result_json.moc"
