// The quant analyzer through its public API: on a fixture whose conv2 has one dead channel with a ~50x wider
// weight range (per-tensor recipe), both sweeps rank conv2 first and the ranges mark that channel; the
// four-way rows agree with fp32 and with what `fx` gives for the same recipe; stability gives 5 runs; the
// recommendation names a fix with parameters; the text and JSON carry every part; bad input is an Error.
#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>
#include <cmath>

#include "core/analysis/analysis_report.h"
#include "core/analysis/quant_analysis.h"
#include "core/data/dataset.h"
#include "core/results/metrics.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::expectError;
using quantscope::test::fixture;

namespace {

const SweepPoint& point(const std::vector<SweepPoint>& points, const std::string& layer) {
  for (const auto& p : points)
    if (p.layer == layer) return p;
  throw std::runtime_error("no sweep point for " + layer);
}

}  // namespace

class TestQuantAnalysis : public QObject {
  Q_OBJECT

  Model model_ = Model::load(fixture("fragile_cnn.pt"));
  Dataset calibration_ = Dataset::load(DataSource{fixture("fragile_calibration.pt")});
  Dataset test_ = Dataset::load(DataSource{fixture("fragile_test.pt")});
  ParamValues recipe_{{"qconfig", "qnnpack"}, {"calib_samples", "128"}};
  QuantAnalysis analysis_;

 private slots:
  void initTestCase() {
    QuantAnalysisOptions options;
    options.recipe = recipe_;
    analysis_ = analyzeQuantization(model_, calibration_, &test_, options);
  }

  void sweepsRankTheFragileLayerFirst() {
    QCOMPARE(analysis_.enableOne.size(), size_t(4));
    QCOMPARE(analysis_.disableOne.size(), size_t(4));
    QCOMPARE(analysis_.worstLayers.front(), std::string("conv2"));
    // Quantized alone, conv2 costs the most output SQNR; kept float alone, it recovers the most.
    const double conv2Alone = point(analysis_.enableOne, "conv2").measured.sqnrDb;
    const double conv2Float = point(analysis_.disableOne, "conv2").measured.sqnrDb;
    for (const auto& layer : {"conv1", "conv3", "fc"}) {
      QVERIFY2(conv2Alone + 3 < point(analysis_.enableOne, layer).measured.sqnrDb, layer);
      QVERIFY2(conv2Float > point(analysis_.disableOne, layer).measured.sqnrDb + 3, layer);
    }
    QVERIFY(conv2Float > analysis_.sweepBaseline.sqnrDb + 3);
  }

  void fourWayRowsAreConsistent() {
    QCOMPARE(analysis_.fourWay.size(), size_t(4));
    QCOMPARE(analysis_.metricName, std::string("top-1 accuracy"));
    // fp32 row = the float model's accuracy (the labels are its own predictions: 100 %).
    const AccuracyMetrics fp32 = computeAccuracy(runModel(model_, test_), test_.labels());
    QCOMPARE(analysis_.fourWay[0].name, std::string("fp32"));
    QVERIFY(std::abs(analysis_.fourWay[0].measured.metric - fp32.top1 * 100) < 1e-6);
    QVERIFY(analysis_.fourWay[1].simulated && analysis_.fourWay[2].simulated &&
            !analysis_.fourWay[3].simulated);
    // full int8 = what fx gives for the same recipe and calibration samples.
    const QuantizationOutcome fx = prepare_model_for_quantization(model_, "fx", recipe_, &calibration_);
    const AccuracyMetrics int8 = computeAccuracy(runModel(fx.model, test_), test_.labels());
    QVERIFY2(
        std::abs(analysis_.fourWay[3].measured.metric - int8.top1 * 100) < 1e-6,
        qPrintable(
            QString("analyzer %1 vs fx %2").arg(analysis_.fourWay[3].measured.metric).arg(int8.top1 * 100)));
    // The fragile layer is a weight problem: weights-only costs more SQNR than activations-only.
    QVERIFY(analysis_.fourWay[1].measured.sqnrDb + 3 < analysis_.fourWay[2].measured.sqnrDb);
  }

  void simulatedVsRealPerLayer() {
    QCOMPARE(analysis_.simulatedVsReal.size(), size_t(4));
    int measured = 0;
    for (const auto& row : analysis_.simulatedVsReal) {
      if (row.hasSimulated && row.hasReal) ++measured;
      QVERIFY(!row.flagged || !row.note.empty());
    }
    QVERIFY(measured >= 3);
    // The simulation rounds with the calibration's own ranges, so it tracks the int8 kernels here.
    for (const auto& row : analysis_.simulatedVsReal) QVERIFY2(!row.flagged, row.note.c_str());
    QVERIFY(analysis_.fourWay[2].measured.sqnrDb >= analysis_.fourWay[3].measured.sqnrDb - 0.5);
    QVERIFY(!analysis_.otherEngine.empty());
  }

  void stabilityHasFiveRuns() {
    QCOMPARE(analysis_.stability.runs.size(), size_t(5));
    QCOMPARE(analysis_.stability.seeds.size(), size_t(5));
    QVERIFY(analysis_.stability.subsetSize == 128);
    double sum = 0;
    for (const auto& run : analysis_.stability.runs) sum += run.metric;
    QVERIFY(std::abs(sum / 5 - analysis_.stability.metricMean) < 1e-9);
    QVERIFY(analysis_.stability.metricSpread >= 0);
  }

  void rangesMarkTheOutlierChannel() {
    QCOMPARE(analysis_.ranges.size(), size_t(4));
    for (const auto& r : analysis_.ranges) {
      if (r.layer == "conv2") {
        QCOMPARE(r.channelRanges.size(), size_t(16));
        QVERIFY(r.outlierChannels == std::vector<int>{5});
      } else {
        QVERIFY2(r.outlierChannels.empty(), r.layer.c_str());
      }
      QVERIFY(r.hasActivationRange && r.activationMax > r.activationMin);
    }
  }

  void recommendationNamesAFix() {
    const Recommendation& advice = analysis_.recommendation;
    QVERIFY(!advice.summary.empty());
    // Per-tensor recipe with an unbalanced layer: equalize.
    QCOMPARE(advice.technique, std::string("fx"));
    QCOMPARE(advice.params.at("equalize"), std::string("true"));
    QCOMPARE(advice.params.at("qconfig"), std::string("qnnpack"));
    QVERIFY(advice.paramText().find("equalize=true") != std::string::npos);
  }

  void perChannelRecipeNeedsNoEqualization() {
    QuantAnalysisOptions options;
    options.recipe = {{"qconfig", "onednn"}, {"calib_samples", "64"}};
    options.stabilityRuns = 2;
    const QuantAnalysis a = analyzeQuantization(model_, calibration_, &test_, options);
    QVERIFY(a.perChannelWeights);
    QVERIFY(a.recommendation.params.count("equalize") == 0);
    // Per-channel weights take the outlier in stride: full int8 is far better than with qnnpack's recipe.
    QVERIFY(a.fourWay[3].measured.sqnrDb > analysis_.fourWay[3].measured.sqnrDb + 3);
  }

  void textAndJsonCarryEveryPart() {
    const std::string text = formatQuantAnalysis(analysis_);
    for (const char* part : {"Four-way comparison", "Per-quantizer sweeps", "Simulated vs real",
                             "Calibration stability", "Ranges", "Recommendation", "conv2"})
      QVERIFY2(text.find(part) != std::string::npos, part);
    const QByteArray bytes = QJsonDocument(toJson(analysis_)).toJson();
    const QJsonObject json = QJsonDocument::fromJson(bytes).object();
    QCOMPARE(json["four_way"].toArray().size(), 4);
    QCOMPARE(json["sweeps"].toObject()["worst_layers"].toArray().first().toString(), QString("conv2"));
    QCOMPARE(json["calibration_stability"].toObject()["runs"].toArray().size(), 5);
    QCOMPARE(json["recommendation"].toObject()["params"].toObject()["equalize"].toString(), QString("true"));
  }

  void badInputIsAnError() {
    QuantAnalysisOptions options;
    options.recipe = {{"qconfig", "nonsense"}};
    expectError([&] { analyzeQuantization(model_, calibration_, &test_, options); }, {"qconfig"});
    options.recipe = {{"bits", "4"}};
    expectError([&] { analyzeQuantization(model_, calibration_, &test_, options); }, {"no parameter 'bits'"});
    const Dataset wrongShape = Dataset::load(DataSource{fixture("rgb_8x8.pt")});
    expectError([&] { analyzeQuantization(model_, wrongShape, &test_, {}); }, {});
  }
};

QTEST_GUILESS_MAIN(TestQuantAnalysis)
#include "test_quant_analysis.moc"
