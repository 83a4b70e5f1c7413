// Static (eager semantics) and graph-mode (fx) post-training quantization: numerics, graph facts,
// recipes, observers, engines and bad input.
#include <QDir>
#include <QFile>
#include <QtTest>
#include <optional>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/results/comparison.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::expectError;
using quantscope::test::fixture;
using quantscope::test::layer;

namespace {

struct DigitsRun {
  RunResult result;
  std::map<std::string, int> ops;
  std::vector<LayerQuantization> layers;
};

DigitsRun runOnDigits(const std::string& technique, const ParamValues& params = {}) {
  const Model model = Model::load(builtinDigitsModelPath());
  const Dataset test = Dataset::load(DataSource{"digits:test"});
  const Dataset calibration = Dataset::load(DataSource{"digits:train"});
  RunOptions options;
  options.benchmarkRuns = 3;
  options.benchmark.warmupRuns = 1;
  options.calibrationData = &calibration;
  std::optional<Model> quantized;
  DigitsRun run;
  run.result = quantize_and_evaluate(model, test, technique, params, options, {}, &quantized);
  run.ops = quantized->graphOperators();
  run.layers = run.result.layers;
  return run;
}

int count(const std::map<std::string, int>& ops, const std::string& op) {
  const auto it = ops.find(op);
  return it == ops.end() ? 0 : it->second;
}

}  // namespace

class TestStaticQuantization : public QObject {
  Q_OBJECT
 private slots:
  void graphModeQuantizesTheWholeGraph() {
    const DigitsRun run = runOnDigits("fx");
    // Conv-bn folded and conv+relu fused; int8 flows through the residual add and the pooling.
    QCOMPARE(count(run.ops, "quantized::conv2d_relu"), 2);
    QCOMPARE(count(run.ops, "quantized::conv2d"), 1);
    QCOMPARE(count(run.ops, "quantized::add_relu"), 1);
    QCOMPARE(count(run.ops, "quantized::linear_relu"), 1);
    QCOMPARE(count(run.ops, "quantized::linear"), 1);
    QCOMPARE(count(run.ops, "aten::quantize_per_tensor"), 1);  // only at the input border
    QCOMPARE(count(run.ops, "aten::dequantize"), 1);           // only at the output border
    QCOMPARE(
        count(run.ops, "aten::batch_norm") + count(run.ops, "aten::conv2d") + count(run.ops, "aten::add"), 0);
    const RunResult& r = run.result;
    QVERIFY2(r.originalAccuracy.top1 - r.quantizedAccuracy.top1 <= 0.005,
             qPrintable(QString("%1 -> %2").arg(r.originalAccuracy.top1).arg(r.quantizedAccuracy.top1)));
    QVERIFY(r.fidelity.sqnrDb > 25.0);
    QCOMPARE(r.engine, bestQuantizedEngine());
    QVERIFY(QString::fromStdString(layer(run.layers, "bn1").scheme).contains("folded"));
    // Profiled: no float operator ran, and the only conversions are the two borders. (Time shares are
    // measured and vary with the machine's load: they belong in benchmarks, not in assertions.)
    const OpProfile& ops = run.result.quantizedOps;
    QCOMPARE(ops.floatShare, 0.0);
    int int8Ops = 0;
    for (const OpTime& o : ops.ops) {
      QVERIFY2(o.precision != OpPrecision::Float, o.op.c_str());
      if (o.precision == OpPrecision::Int8) ++int8Ops;
      if (o.precision == OpPrecision::Conversion)
        QVERIFY2(o.op == "aten::quantize_per_tensor" || o.op == "aten::dequantize", o.op.c_str());
    }
    QVERIFY(int8Ops >= 4);  // conv2d_relu/conv2d, add, linear, max_pool2d at least
    QVERIFY(std::any_of(ops.ops.begin(), ops.ops.end(), [](const OpTime& o) {
      return o.op == "aten::max_pool2d" && o.precision == OpPrecision::Int8;
    }));
    QVERIFY(layer(run.layers, "conv1").quantized);
    // Numeric-suite style: every quantized layer's output against the float layer, on calibration data.
    for (const char* name : {"conv1", "conv2", "conv3", "fc1", "fc2"}) {
      const auto& l = layer(run.layers, name);
      QVERIFY2(l.hasOutputSqnr && l.outputSqnrDb > 20.0 && l.outputSqnrDb < 80.0, name);
      QVERIFY(QString::fromStdString(l.scheme).contains("output QUInt8 scale"));
    }
    QVERIFY(QString::fromStdString(layer(run.layers, "conv1").scheme)
                .contains("per-channel symmetric, 16 scales"));
  }
  void savedInt8ModelListsOriginalLayers() {
    const Model digits = Model::load(builtinDigitsModelPath());
    const Dataset calibration = Dataset::load(DataSource{"digits:train"});
    const QuantizationOutcome q =
        QuantizationTechniques::fx_graph_mode_quantization(digits, "", "fbgemm", &calibration);
    const QString path = quantscope::test::tempPath("quantscope_fx_digits.pt");
    q.model.save(path.toStdString());
    std::vector<std::string> names;
    for (const auto& l : Model::load(path.toStdString()).inspect().layers)
      names.push_back(l.name + ":" + l.type);
    QCOMPARE(names, (std::vector<std::string>{"conv1:QuantizedConv2d", "conv2:QuantizedConv2d",
                                              "conv3:QuantizedConv2d", "fc1:QuantizedLinear",
                                              "fc2:QuantizedLinear"}));
    QFile::remove(path);
  }
  void staticKeepsEagerSemantics() {
    const DigitsRun run = runOnDigits("static");
    // Each Conv/Linear is int8 inside quantize/dequantize borders; the residual add stays float.
    QVERIFY(count(run.ops, "quantized::conv2d_relu") + count(run.ops, "quantized::conv2d") == 3);
    QCOMPARE(count(run.ops, "aten::add"), 1);
    QVERIFY(std::any_of(
        run.result.quantizedOps.ops.begin(), run.result.quantizedOps.ops.end(),
        [](const OpTime& o) { return o.op == "aten::add" && o.precision == OpPrecision::Float; }));
    // Eager semantics: each layer is quantized at its own borders, and InsertQuantDeQuant then drops the
    // dequantize/quantize pairs between int8 layers that follow each other (conv1->conv2, fc1->fc2): two
    // quantize and three dequantize ops remain (measured with quantscope-cli profile on the digits model).
    QCOMPARE(count(run.ops, "aten::quantize_per_tensor"), 2);
    QCOMPARE(count(run.ops, "aten::dequantize"), 3);
    const RunResult& r = run.result;
    QVERIFY(r.originalAccuracy.top1 - r.quantizedAccuracy.top1 <= 0.01);
    for (const char* name : {"conv1", "conv2", "conv3", "fc1", "fc2"})
      QVERIFY(layer(run.layers, name).quantized);
  }
  void recipePicksWeightGranularity() {
    const DigitsRun qnnpack = runOnDigits("fx", {{"qconfig", "qnnpack"}});
    QVERIFY(QString::fromStdString(layer(qnnpack.layers, "conv2").scheme).contains("per-tensor symmetric"));
    QCOMPARE(qnnpack.result.recipe, std::string("qnnpack"));
    QVERIFY(qnnpack.result.originalAccuracy.top1 - qnnpack.result.quantizedAccuracy.top1 <= 0.01);
  }
  void defaultRecipeSaysWhatItsSevenBitsCost() {
    // fbgemm (the documented default) keeps 7-bit activations that onednn's kernels do not need: the note
    // says so, and once both recipes have run, the measured difference is spelled out.
    const DigitsRun fbgemm = runOnDigits("fx");
    const DigitsRun onednn = runOnDigits("fx", {{"qconfig", "onednn"}});
    QCOMPARE(fbgemm.result.recipe, std::string("fbgemm"));
    const auto& notes = fbgemm.result.notes;
    QVERIFY(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
      return n.find("7 bits guard fbgemm's kernels") != std::string::npos;
    }));
    const std::string difference = describeRecipeDifference(fbgemm.result, onednn.result);
    QVERIFY2(difference.find("onednn recipe (8-bit activations) vs fbgemm (7-bit), measured here: SQNR") == 0,
             difference.c_str());
    QCOMPARE(describeRecipeDifference(onednn.result, fbgemm.result), difference);  // either order
    char expected[64];
    std::snprintf(expected, sizeof(expected), "(%+.1f dB)",
                  onednn.result.fidelity.sqnrDb - fbgemm.result.fidelity.sqnrDb);
    QVERIFY2(difference.find(expected) != std::string::npos, difference.c_str());
    QVERIFY2(onednn.result.fidelity.sqnrDb > fbgemm.result.fidelity.sqnrDb, difference.c_str());
    // Other differences than the recipe: no claim.
    RunResult otherObserver = onednn.result;
    otherObserver.params["observer"] = "minmax";
    QVERIFY(describeRecipeDifference(fbgemm.result, otherObserver).empty());
    const DigitsRun qnnpack = runOnDigits("fx", {{"qconfig", "qnnpack"}});
    QVERIFY(describeRecipeDifference(onednn.result, qnnpack.result).empty());  // both 8-bit
  }
  void everyObserverCalibrates_data() {
    QTest::addColumn<QString>("observer");
    for (const char* o : {"minmax", "moving_average_minmax", "histogram", "percentile"})
      QTest::newRow(o) << o;
  }
  void everyObserverCalibrates() {
    QFETCH(QString, observer);
    const DigitsRun run = runOnDigits("fx", {{"observer", observer.toStdString()}, {"calib_samples", "128"}});
    QVERIFY2(run.result.fidelity.sqnrDb > 20.0, qPrintable(QString::number(run.result.fidelity.sqnrDb)));
    QVERIFY(run.result.quantizedAccuracy.top1 >= 0.97);
    bool named = false;
    for (const auto& note : run.result.notes)
      named |= note.find(observer.toStdString() + " activation observers") != std::string::npos;
    QVERIFY(named);
  }
  void qnnpackEngineRunsToo() {
    configureRuntime(2);
    const RuntimeInfo before = currentRuntimeInfo();
    const DigitsRun run = runOnDigits("fx", {{"engine", "qnnpack"}, {"qconfig", "qnnpack"}});
    QCOMPARE(run.result.engine, std::string("qnnpack"));
    QCOMPARE(run.result.runtime.quantizedEngine, std::string("qnnpack"));  // what the benchmark ran on
    // The run's engine and threads ended with it: the next run starts from the process's settings.
    QCOMPARE(currentRuntimeInfo().quantizedEngine, before.quantizedEngine);
    QCOMPARE(currentRuntimeInfo().threads, before.threads);
    QVERIFY(run.result.quantizedAccuracy.top1 >= 0.97);
    QVERIFY(run.result.quantizedLatency.available);
    expectError([] { runOnDigits("fx", {{"engine", "fbgemm"}}); }, {"not one of"});
  }
  void engineFailuresSayWhereAndOfferTheOtherEngine() {
    // This LibTorch's oneDNN fails on some of MobileNetV2's depthwise convolutions depending on the batch
    // sizes it has run; either it runs, or the error names engine, op and input shape and offers qnnpack.
    const Model mobilenet = Model::load(fixture("mobilenet_v2.pt"));
    const Dataset calibration = Dataset::load(DataSource{fixture("mobilenet_calibration.pt")});
    const ParamValues onednn{{"engine", "onednn"}, {"calib_samples", "8"}};
    // Either branch asserts: a model that runs must give at batch 8 what it gives one image at a time.
    std::optional<Matrix> batched, single;
    try {
      const QuantizationOutcome q = prepare_model_for_quantization(mobilenet, "fx", onednn, &calibration);
      QCOMPARE(q.engine, std::string("onednn"));
      q.model.checkInput(InputSpec::parse("1x3x224x224"));
      q.model.checkInput(InputSpec::parse("8x3x224x224"));
      batched = runModel(q.model, calibration, 8);
      single = runModel(q.model, calibration, 1);
    } catch (const Error& e) {
      const QString message = QString::fromStdString(e.fullMessage());
      for (const char* part :
           {"failed on the onednn engine", "quantized::", "on an input of shape", "engine=qnnpack"}) {
        QVERIFY2(message.contains(part), qPrintable(message));
      }
    }
    if (batched) {
      const FidelityMetrics agreement = computeFidelity(*single, *batched);
      QCOMPARE(agreement.top1Agreement, 1.0);
      QVERIFY2(agreement.sqnrDb > 30.0, qPrintable(QString::number(agreement.sqnrDb)));
    }
    const QuantizationOutcome q = prepare_model_for_quantization(
        mobilenet, "fx", {{"engine", "qnnpack"}, {"qconfig", "qnnpack"}, {"calib_samples", "8"}},
        &calibration);
    QCOMPARE(q.engine, std::string("qnnpack"));
    q.model.checkInput(InputSpec::parse("1x3x224x224"));
    q.model.checkInput(InputSpec::parse("8x3x224x224"));
    // MobileNetV2's 52 convolutions all run on int8 kernels; none stays float.
    const auto ops = q.model.graphOperators();
    QCOMPARE(count(ops, "quantized::conv2d") + count(ops, "quantized::conv2d_relu"), 52);
    QCOMPARE(count(ops, "aten::conv2d"), 0);
  }
  void userModelsAndTheirData() {
    // A scripted and a traced CNN with an image-shaped tensor file as calibration data.
    const Dataset calibration = Dataset::load(DataSource{fixture("cnn_calibration.pt")});
    for (const char* file : {"cnn_scripted.pt", "cnn_traced.pt"}) {
      const Model model = Model::load(fixture(file));
      const QuantizationOutcome q =
          QuantizationTechniques::fx_graph_mode_quantization(model, "2x3x16x16", "fbgemm", &calibration);
      const auto ops = q.model.graphOperators();
      // conv1-bn-relu fused; conv2-bn into the residual add (add_relu); the Linear head.
      QCOMPARE(count(ops, "quantized::conv2d_relu"), 1);
      QCOMPARE(count(ops, "quantized::conv2d"), 1);
      QCOMPARE(count(ops, "quantized::add_relu"), 1);
      QCOMPARE(count(ops, "quantized::linear"), 1);
      q.model.checkInput(InputSpec::parse("4x3x16x16"));
      const Matrix reference = runModel(model, calibration), quantized = runModel(q.model, calibration);
      QVERIFY(computeFidelity(reference, quantized).sqnrDb > 20.0);
    }
  }
  void badInput() {
    const Model digits = Model::load(builtinDigitsModelPath());
    expectError([&] { QuantizationTechniques::static_quantization(digits); }, {"needs calibration data"});
    const Dataset rgb = Dataset::load(DataSource{fixture("rgb_8x8.pt")});
    expectError([&] { QuantizationTechniques::fx_graph_mode_quantization(digits, "", "fbgemm", &rgb); },
                {"does not fit"});
    expectError([] { Dataset::load(DataSource{fixture("header_only.csv")}); }, {"no rows"});
    const Model noWeights = Model::load(fixture("no_weights.pt"));
    const Dataset features = Dataset::load(DataSource{fixture("mlp_unlabelled.pt")});
    expectError(
        [&] { QuantizationTechniques::fx_graph_mode_quantization(noWeights, "", "fbgemm", &features); },
        {"no layer"});
    expectError([&] { QuantizationTechniques::static_quantization(noWeights, "fbgemm", &features); },
                {"no Conv or Linear"});
    expectError(
        [&] { QuantizationTechniques::fx_graph_mode_quantization(digits, "1x3x8x8", "fbgemm", &rgb); },
        {"rejected an input of shape 1x3x8x8"});
  }
  void cliWritesNothingOnError() {
    const QString out = quantscope::test::tempPath("quantscope_static_nothing.pt");
    QFile::remove(out);
    QProcess cli;
    cli.start(qEnvironmentVariable("QUANTSCOPE_CLI"),
              {"quantize", QString::fromStdString(fixture("no_weights.pt")), "--technique", "fx",
               "--calib-data", QString::fromStdString(fixture("mlp_unlabelled.pt")), "-o", out});
    QVERIFY(cli.waitForFinished(120000));
    QCOMPARE(cli.exitCode(), 1);
    QVERIFY(QString(cli.readAllStandardError()).contains("no layer"));
    QVERIFY(!QFile::exists(out));
  }
};

QTEST_GUILESS_MAIN(TestStaticQuantization)
#include "test_static_quantization.moc"
