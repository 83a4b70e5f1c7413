// Mixed precision through the public API on the digits demo: per-layer bits with the real int8 kernels and
// packed weights, sensitivity, the automatic search (against a synthetic model of its inputs, and on the
// real model), cancel mid-sensitivity and mid-search, and bad overrides.
#include <QtTest>
#include <atomic>
#include <cmath>
#include <map>

#include "core/data/dataset.h"
#include "core/quant/bit_plan.h"
#include "core/quantization_techniques.h"
#include "core/results/metrics.h"
#include "core/search/bit_width_search.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::expectError;
using quantscope::test::layer;

namespace {

const std::vector<std::string> kDigitsLayers{"conv1", "conv2", "conv3", "fc1", "fc2"};

ParamValues with(ParamValues params, const ParamValues& more) {
  for (const auto& [k, v] : more) params[k] = v;
  return params;
}

// A search space whose metric is a known function of the assignment: each layer's drop adds up.
struct SyntheticModel {
  SearchSpace space;
  int evaluations = 0;
  SearchCandidate operator()(const std::vector<int>& choice) {
    ++evaluations;
    SearchCandidate c;
    for (size_t l = 0; l < choice.size(); ++l) {
      const int bits = space.options[size_t(choice[l])];
      const int64_t n = space.weightCounts[l];
      c.fileBytes += bits == 0 ? n * 4 : (n * bits + 7) / 8;
      c.drop += space.drop[l][size_t(choice[l])];
      c.assignment += std::to_string(bits) + ",";
    }
    c.metric = 99 - c.drop;
    return c;
  }
};

SyntheticModel syntheticModel() {
  SyntheticModel m;
  m.space.layers = {"a", "b", "c", "d"};
  m.space.weightCounts = {1000, 50000, 20000, 300};
  m.space.options = {2, 4, 8, 0};
  // b is big and robust, d is tiny and fragile, a fragile below 8 bits.
  m.space.drop = {{3.0, 1.5, 0.1, 0}, {0.4, 0.1, 0.0, 0}, {2.0, 0.6, 0.05, 0}, {8.0, 4.0, 0.2, 0}};
  return m;
}

}  // namespace

class TestMixedPrecision : public QObject {
  Q_OBJECT
 private:
  Model model_ = Model::load(builtinDigitsModelPath());
  Dataset calibration_ = Dataset::load(DataSource{"digits:train"});
  Dataset test_ = Dataset::load(DataSource{"digits:test"});

  double accuracy(const Model& m) { return computeAccuracy(runModel(m, test_), test_.labels()).top1; }
  QuantizationOutcome run(const ParamValues& params, const Progress& progress = {}) {
    return prepare_model_for_quantization(model_, "mixed", params, &calibration_, progress);
  }

 private slots:
  void bitPlansParseAndRejectBadOverrides() {
    const BitPlan plan = parseBitPlan(" conv1=float, fc2=4,fc1=w4a6", kDigitsLayers, {8, 8});
    QCOMPARE(plan.size(), kDigitsLayers.size());
    QVERIFY(plan[0].second.isFloat());
    QCOMPARE(plan[1].second.weightBits, 8);
    QCOMPARE(plan[3].second.weightBits, 4);
    QCOMPARE(plan[3].second.activationBits, 6);
    QCOMPARE(plan[4].second.weightBits, 4);
    QCOMPARE(plan[4].second.activationBits, 8);
    QCOMPARE(formatBitPlan(plan, 8), std::string("conv1=float,conv2=8,conv3=8,fc1=w4a6,fc2=4"));
    expectError(
        [] {
          parseBitPlan("conv9=4", kDigitsLayers, {8, 8});
        },
        {"no quantizable layer 'conv9'", "conv1, conv2, conv3, fc1, fc2"});
    expectError([] { parseBitPlan("conv1=1", kDigitsLayers, {8, 8}); }, {"1 bits is out of range", "2 to 8"});
    expectError([] { parseBitPlan("conv1=9", kDigitsLayers, {8, 8}); }, {"9 bits is out of range"});
    expectError([] { parseBitPlan("conv1=4,conv1=8", kDigitsLayers, {8, 8}); }, {"given twice"});
    expectError([] { parseBitPlan("conv1", kDigitsLayers, {8, 8}); }, {"has no '='"});
    expectError([] { parseBitPlan("conv1=four", kDigitsLayers, {8, 8}); }, {"not a bit-width"});
    QCOMPARE(parseBitList("8, 4,4", "candidate_bits"), (std::vector<int>{4, 8}));
    expectError([] { parseBitList("", "candidate_bits"); }, {"lists no bit-width"});
  }

  void badOverridesOnARealModelGetClearErrors() {
    // A batch norm is a layer of the model, but not one mixed precision can give bits to.
    expectError(
        [&] {
          run({{"layer_bits", "bn1=4"}});
        },
        {"no quantizable layer 'bn1'", "conv1, conv2, conv3, fc1, fc2"});
    expectError([&] { run({{"layer_bits", "fc1=9"}}); }, {"9 bits is out of range"});
    expectError([&] { run({{"bits_weights", "1"}}); }, {"bits_weights"});
    expectError([&] { run({{"bits_weights", "9"}}); }, {"bits_weights"});
    expectError(
        [&] {
          run({{"layer_bits", "conv1=float,conv2=float,conv3=float,fc1=float,fc2=float"}});
        },
        {"Every layer is float"});
    expectError([&] { run({{"search", "size"}}); }, {"max_size_kb is 0"});
    expectError([&] { prepare_model_for_quantization(model_, "mixed", {}, nullptr); },
                {"needs calibration data"});
  }

  void perLayerBitsRunOnInt8KernelsAndShrinkTheFile() {
    std::map<int, int64_t> fileBytes;
    std::map<int, double> top1;
    for (int bits : {8, 6, 4, 3, 2}) {
      const QuantizationOutcome outcome = run({{"bits_weights", std::to_string(bits)}});
      QVERIFY(!outcome.simulated);  // executed on the int8 kernels, not simulated
      fileBytes[bits] = compare_model_sizes(model_, outcome.model).quantized.serializedBytes;
      top1[bits] = accuracy(outcome.model);
      for (const auto& name : kDigitsLayers) {
        const LayerQuantization& l = layer(outcome.layers, name);
        QVERIFY2(l.quantized, name.c_str());
        QCOMPARE(l.weightBits, bits);
        QCOMPARE(l.activationBits, 8);
      }
      if (bits < 8) {
        QVERIFY(layer(outcome.layers, "fc1").scheme.find(std::to_string(bits) + "-bit weights packed") !=
                std::string::npos);
      }
    }
    // Every step down in bits makes the file smaller, and fc1's 65536 weights alone save about
    // 65536 * (8 - b) / 8 bytes.
    QVERIFY(fileBytes[6] < fileBytes[8] && fileBytes[4] < fileBytes[6] && fileBytes[3] < fileBytes[4] &&
            fileBytes[2] < fileBytes[3]);
    QVERIFY(fileBytes[8] - fileBytes[4] > 65536 * 4 / 8);
    // The theoretical weight bytes the result shows: 81,024 weights at 4 bits.
    const QuantizationOutcome four = run({{"bits_weights", "4"}});
    const auto theoretical =
        std::find_if(four.figures.begin(), four.figures.end(),
                     [](const ResultFigure& f) { return f.name == "weights at their bits (theoretical)"; });
    QVERIFY(theoretical != four.figures.end());
    QCOMPARE(theoretical->value, double((144 + 4608 + 9216 + 65536 + 1280) / 2));
    // 8-bit mixed precision is the fx recipe: the same accuracy as fx; 2-bit weights lose accuracy.
    const QuantizationOutcome fx = prepare_model_for_quantization(model_, "fx", {}, &calibration_);
    QCOMPARE(top1[8], accuracy(fx.model));
    QVERIFY(top1[2] < top1[8]);
  }

  void floatOverridesStayFloatAndActivationBitsShowInTheReport() {
    const QuantizationOutcome outcome = run({{"layer_bits", "conv1=float,fc1=w4a4"}, {"bits_weights", "8"}});
    QCOMPARE(layer(outcome.layers, "conv1").weightBits, -1);
    QVERIFY(!layer(outcome.layers, "conv1").quantized);
    QCOMPARE(layer(outcome.layers, "fc1").weightBits, 4);
    QCOMPARE(layer(outcome.layers, "fc1").activationBits, 4);
    QVERIFY(layer(outcome.layers, "fc1").scheme.find("4-bit grid") != std::string::npos);
    QCOMPARE(layer(outcome.layers, "conv2").weightBits, 8);
    // conv1 really computes in float: the graph has one float convolution, and the others are int8.
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(ops.count("aten::conv2d") ? ops.at("aten::conv2d") : 0, 1);
    // fc1's 4-bit activation clamp is a real op in the graph, the only one (every other layer is a8).
    QCOMPARE(ops.count("aten::clamp") ? ops.at("aten::clamp") : 0, 1);
  }

  void residualBlocksOfOneClassTakeTheirOwnBits() {
    // Instances of one block class hold layers at different bits, one layer float: LibTorch's passes need
    // a type per instance and one qconfig; the shortcut, the add and the float layer's borders stay int8.
    const Model blocks = Model::load(test::fixture("blocks_cnn.pt"));
    const Dataset images = Dataset::load(DataSource{test::fixture("cnn_calibration.pt")});
    const QuantizationOutcome outcome = prepare_model_for_quantization(
        blocks, "mixed",
        {{"bits_weights", "4"},
         {"layer_bits", "layer1.0.conv2=2,layer1.1.conv1=float,layer2.0.downsample.0=8,fc=w8a6"}},
        &images);
    const std::map<std::string, int> expected{
        {"stem.0", 4},          {"layer1.0.conv1", 4},        {"layer1.0.conv2", 2},
        {"layer1.1.conv1", -1}, {"layer1.1.conv2", 4},        {"layer2.0.conv1", 4},
        {"layer2.0.conv2", 4},  {"layer2.0.downsample.0", 8}, {"fc", 8}};
    for (const auto& [name, bits] : expected) {
      const LayerQuantization& l = layer(outcome.layers, name);
      QCOMPARE(l.weightBits, bits);
      QVERIFY2(l.quantized == (bits > 0), name.c_str());
    }
    QCOMPARE(layer(outcome.layers, "fc").activationBits, 6);
    // One float convolution, the other eight on int8 kernels; the output clamp of fc's 6-bit activation.
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(ops.count("aten::conv2d") ? ops.at("aten::conv2d") : 0, 1);
    QCOMPARE(ops.count("aten::clamp") ? ops.at("aten::clamp") : 0, 1);
    // Sensitivity reaches every layer of the shared block class, one at a time.
    const QuantizationOutcome sensitivity = prepare_model_for_quantization(
        blocks, "mixed", {{"sensitivity", "true"}, {"candidate_bits", "4"}}, &images);
    QCOMPARE(sensitivity.mixedPrecision.sensitivity.size(), size_t{9});
  }

  void sensitivityRanksEveryLayerAtEveryCandidate() {
    const QuantizationOutcome outcome =
        run({{"sensitivity", "true"}, {"candidate_bits", "2,8"}, {"sensitivity_samples", "128"}});
    const MixedPrecisionReport& r = outcome.mixedPrecision;
    QCOMPARE(r.metricName, std::string("top-1 accuracy"));
    QCOMPARE(r.samples, int64_t{128});
    QCOMPARE(r.sensitivity.size(), kDigitsLayers.size() * 2);
    double worst2 = 0, worst8 = 0;
    for (const auto& row : r.sensitivity) {
      QCOMPARE(row.drop, r.floatMetric - row.metric);
      QVERIFY(std::isfinite(row.sqnrDb) || row.sqnrDb > 0);
      (row.bits == "2" ? worst2 : worst8) = std::max(row.bits == "2" ? worst2 : worst8, row.drop);
    }
    // A single layer at 8 bits costs (almost) nothing. The training split is fitted perfectly (fp32 100 %),
    // so 2-bit drops may be 0 there too: the output SQNR below tells the bit-widths apart.
    QVERIFY2(worst8 <= 1.0, std::to_string(worst8).c_str());
    QVERIFY(worst2 >= worst8);
    // Per layer, 2-bit output SQNR is below 8-bit output SQNR.
    for (const auto& name : kDigitsLayers) {
      double sqnr2 = 0, sqnr8 = 0;
      for (const auto& row : r.sensitivity)
        if (row.layer == name) (row.bits == "2" ? sqnr2 : sqnr8) = row.sqnrDb;
      QVERIFY2(sqnr2 < sqnr8, name.c_str());
    }
    QVERIFY(r.candidates.empty());
  }

  void searchDataDefaultsToTheTestDataOfTheRun() {
    RunOptions options;
    options.calibrationData = &calibration_;
    options.benchmarkRuns = 3;
    const RunResult onTest = quantize_and_evaluate(
        model_, test_, "mixed", {{"sensitivity", "true"}, {"candidate_bits", "2"}}, options);
    QCOMPARE(onTest.mixedPrecision.samples, int64_t{256});
    // The test split is not fitted perfectly: 2-bit layers cost accuracy there, and the note says where the
    // figures come from.
    QVERIFY(onTest.mixedPrecision.floatMetric < 100.0);
    double worst = 0;
    for (const auto& row : onTest.mixedPrecision.sensitivity) worst = std::max(worst, row.drop);
    QVERIFY(worst > 0);
    const auto note = std::find_if(onTest.notes.begin(), onTest.notes.end(), [](const std::string& n) {
      return n.find("Sensitivity and search measured") == 0;
    });
    QVERIFY(note != onTest.notes.end());
    QVERIFY(note->find("digits:test") != std::string::npos &&
            note->find("selected for") != std::string::npos);
    const RunResult onCalibration = quantize_and_evaluate(
        model_, test_, "mixed",
        {{"sensitivity", "true"}, {"candidate_bits", "2"}, {"search_data", "calibration"}}, options);
    QCOMPARE(onCalibration.mixedPrecision.floatMetric, 100.0);  // the training split the model fits
  }

  void accuracySearchRespectsItsBudgetOnSyntheticSensitivity() {
    SyntheticModel m = syntheticModel();
    SearchBudget budget;
    budget.maxDrop = 1.0;
    const SearchResult result = searchBitWidths(m.space, budget, std::ref(m), {});
    QCOMPARE(int(result.candidates.size()), m.evaluations);
    int picked = -1;
    for (size_t i = 0; i < result.candidates.size(); ++i)
      if (result.candidates[i].picked) picked = int(i);
    QVERIFY(picked >= 0);
    const SearchCandidate& pick = result.candidates[size_t(picked)];
    QVERIFY(pick.drop <= 1.0);
    QVERIFY(pick.pareto);
    // No evaluated configuration within the budget is smaller than the pick.
    for (const auto& c : result.candidates)
      if (c.withinBudget) QVERIFY(c.fileBytes >= pick.fileBytes);
    // The big robust layer b ends low, the tiny fragile layer d high.
    QCOMPARE(m.space.options[size_t(result.picked[1])], 2);
    QVERIFY(m.space.options[size_t(result.picked[3])] == 8 || m.space.options[size_t(result.picked[3])] == 0);
  }

  void sizeSearchRespectsItsBudgetOnSyntheticSensitivity() {
    SyntheticModel m = syntheticModel();
    SearchBudget budget;
    budget.goal = SearchGoal::Size;
    budget.maxBytes = 30000;  // all-8-bit is 71300 bytes
    const SearchResult result = searchBitWidths(m.space, budget, std::ref(m), {});
    const auto pick = std::find_if(result.candidates.begin(), result.candidates.end(),
                                   [](const SearchCandidate& c) { return c.picked; });
    QVERIFY(pick != result.candidates.end());
    QVERIFY(pick->fileBytes <= budget.maxBytes);
    for (const auto& c : result.candidates)
      if (c.withinBudget) QVERIFY(c.metric <= pick->metric);
    budget.maxBytes = 100;  // less than every layer at 2 bits
    SyntheticModel tooSmall = syntheticModel();
    expectError([&] { searchBitWidths(tooSmall.space, budget, std::ref(tooSmall), {}); },
                {"No bit assignment fits max_size_kb", "Raise max_size_kb"});
  }

  void searchOnTheDemoPicksASmallerModelWithinOnePoint() {
    const QuantizationOutcome outcome =
        run({{"search", "accuracy"}, {"max_acc_drop", "1"}, {"candidate_bits", "2,4,8"}});
    const MixedPrecisionReport& r = outcome.mixedPrecision;
    QVERIFY(!r.sensitivity.empty());
    QVERIFY(r.candidates.size() >= 2);
    const auto pick = std::find_if(r.candidates.begin(), r.candidates.end(),
                                   [](const SearchCandidate& c) { return c.picked; });
    QVERIFY(pick != r.candidates.end());
    QVERIFY(pick->drop <= 1.0);
    QVERIFY(pick->pareto);
    // The pick's file is what the run returned (saved the same way), and smaller than uniform int8's.
    const QuantizationOutcome int8 = run({});
    QVERIFY(pick->fileBytes < compare_model_sizes(model_, int8.model).quantized.serializedBytes);
    // The size the search measured is the returned model's archive (up to the digits of the class names
    // TorchScript numbers per process).
    const int64_t returned = compare_model_sizes(model_, outcome.model).quantized.serializedBytes;
    QVERIFY2(std::abs(returned - pick->fileBytes) <= 16,
             (std::to_string(returned) + " vs " + std::to_string(pick->fileBytes)).c_str());
    // The layers the result describes carry the picked bits.
    for (const auto& name : kDigitsLayers) {
      const int bits = layer(outcome.layers, name).weightBits;
      const std::string entry = name + "=" + (bits < 0 ? std::string("float") : std::to_string(bits));
      QVERIFY2(pick->assignment.find(entry) != std::string::npos, (pick->assignment + " / " + entry).c_str());
    }
  }

  void cancelMidSensitivityKeepsTheRowsSoFar() {
    std::atomic<bool> cancel{false};
    Progress progress;
    progress.cancelFlag = &cancel;
    progress.onUpdate = [&](const std::string& stage, double) {
      if (stage.rfind("Sensitivity: conv3", 0) == 0) cancel = true;
    };
    const QuantizationOutcome outcome = run({{"sensitivity", "true"}, {"bits_weights", "4"}}, progress);
    const MixedPrecisionReport& r = outcome.mixedPrecision;
    // conv1 and conv2 (2 rows each) and conv3, which was running when cancel came; nothing after.
    QCOMPARE(r.sensitivity.size(), size_t{6});
    QVERIFY(r.stoppedEarly.find("Cancelled during sensitivity after 3 of 5 layers") != std::string::npos);
    QCOMPARE(layer(outcome.layers, "fc1").weightBits, 4);
    QVERIFY(!cancel);  // the request was taken; a second cancel stops the run
  }

  void cancelMidSearchKeepsTheBestSoFarAndASecondCancelStopsTheRun() {
    std::atomic<bool> cancel{false};
    Progress progress;
    progress.cancelFlag = &cancel;
    progress.onUpdate = [&](const std::string& stage, double) {
      if (stage.rfind("Search: configuration 3", 0) == 0) cancel = true;
    };
    const QuantizationOutcome outcome = run({{"search", "accuracy"}, {"candidate_bits", "2,4,8"}}, progress);
    const MixedPrecisionReport& r = outcome.mixedPrecision;
    QCOMPARE(r.candidates.size(), size_t{3});
    QVERIFY(r.stoppedEarly.find("Cancelled after 3 evaluated configurations") != std::string::npos);
    QCOMPARE(std::count_if(r.candidates.begin(), r.candidates.end(), [](const auto& c) { return c.picked; }),
             long{1});

    bool stopped = false;
    int cancels = 0;
    progress.onUpdate = [&](const std::string& stage, double) {
      if (stage.rfind("Search: configuration 2", 0) == 0 && cancels == 0) cancel = true, ++cancels;
      if (stage.rfind("Calibrating the chosen", 0) == 0 && cancels == 1) cancel = true, ++cancels;
    };
    try {
      run({{"search", "accuracy"}, {"candidate_bits", "2,4,8"}}, progress);
    } catch (const CancelledError&) {
      stopped = true;
    }
    QVERIFY(stopped);
    QCOMPARE(cancels, 2);
  }
};

QTEST_GUILESS_MAIN(TestMixedPrecision)
#include "test_mixed_precision.moc"
