// Dynamic quantization numerics and graph facts on realistic models.
#include <QDir>
#include <QtTest>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/results/size_report.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;
using quantscope::test::layer;

namespace {

RunResult evaluate(const std::string& model, const std::string& data, const ParamValues& params = {}) {
  RunOptions options;
  options.benchmarkRuns = 5;
  options.benchmark.warmupRuns = 1;
  return quantize_and_evaluate(Model::load(fixture(model)), Dataset::load(DataSource{fixture(data)}),
                               "dynamic", params, options);
}

}  // namespace

class TestDynamicQuantization : public QObject {
  Q_OBJECT
 private slots:
  void mlpIsFaithfulAndRunsInt8Kernels() {
    const Model model = Model::load(fixture("mlp.pt"));
    const QuantizationOutcome outcome = QuantizationTechniques::dynamic_quantization(model);
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(ops.count("quantized::linear_dynamic") ? ops.at("quantized::linear_dynamic") : 0, 3);
    QCOMPARE(ops.count("aten::linear"), size_t{0});
    QCOMPARE(outcome.recipe, std::string("fbgemm"));
    QCOMPARE(outcome.engine, bestQuantizedEngine());
    QVERIFY(outcome.engine != "fbgemm");  // Debian's LibTorch has no fbgemm; the recipe still applies
    for (const char* name : {"net.0", "net.2", "net.4"}) {
      const auto& l = layer(outcome.layers, name);
      QVERIFY(l.quantized);
      QVERIFY(l.hasWeightSqnr && l.weightSqnrDb > 30.0);
      QVERIFY(QString::fromStdString(l.scheme).contains("qint8 per-tensor symmetric"));
    }
    const RunResult result = evaluate("mlp.pt", "mlp_data.pt");
    QVERIFY2(result.fidelity.sqnrDb >= 30.0, qPrintable(QString::number(result.fidelity.sqnrDb)));
    QVERIFY(result.fidelity.cosineSimilarity > 0.999);
    QVERIFY(result.sizes.parameterRatio > 3.5);  // int8 weights, float32 biases
    // Exactly the three weight matrices in int8 (64x128 + 128x64 + 64x10 bytes) and the biases in float.
    const std::map<std::string, int64_t> bytesByDtype{{"qint8", 64 * 128 + 128 * 64 + 64 * 10},
                                                      {"float32", (128 + 64 + 10) * 4}};
    QVERIFY(result.sizes.quantized.parameterBytesByDtype == bytesByDtype);
    QVERIFY(result.originalLatency.available && result.quantizedLatency.available);
    QCOMPARE(result.quantizedLatency.runs, 5);
  }
  void perChannelWeights() {
    // A trained model's rows differ in range, so one scale per row beats one per tensor.
    const Model digits = Model::load(builtinDigitsModelPath());
    const QuantizationOutcome outcome =
        prepare_model_for_quantization(digits, "dynamic", {{"weight_granularity", "per_channel"}});
    const auto& l = layer(outcome.layers, "fc1");
    QVERIFY(QString::fromStdString(l.scheme).contains("per-channel symmetric, 128 scales"));
    const auto& perTensor = layer(QuantizationTechniques::dynamic_quantization(digits).layers, "fc1");
    QVERIFY2(l.weightSqnrDb > perTensor.weightSqnrDb + 1.0,
             qPrintable(QString("%1 vs %2 dB").arg(l.weightSqnrDb).arg(perTensor.weightSqnrDb)));
  }
  void recipeDecidesActivationRange() {
    // fbgemm/x86 quantize activations to 7 bits (reduce_range); qnnpack/onednn use 8: less noise.
    const double fbgemm = evaluate("mlp.pt", "mlp_data.pt", {{"qconfig", "fbgemm"}}).fidelity.sqnrDb;
    const double qnnpack = evaluate("mlp.pt", "mlp_data.pt", {{"qconfig", "qnnpack"}}).fidelity.sqnrDb;
    QVERIFY2(qnnpack > fbgemm + 1.0,
             qPrintable(QString("qnnpack %1 dB, fbgemm %2 dB").arg(qnnpack).arg(fbgemm)));
  }
  void recurrentLayersRunOnQuantizedRnnKernels_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("layerName");
    QTest::addColumn<QString>("kernel");
    QTest::newRow("LSTM") << "lstm.pt"
                          << "lstm"
                          << "aten::quantized_lstm";
    QTest::newRow("2-layer GRU") << "gru.pt"
                                 << "gru"
                                 << "aten::quantized_gru";
  }
  void recurrentLayersRunOnQuantizedRnnKernels() {
    QFETCH(QString, file);
    QFETCH(QString, layerName);
    QFETCH(QString, kernel);
    const Model original = Model::load(fixture(file.toStdString()));
    const QuantizationOutcome outcome = QuantizationTechniques::dynamic_quantization(original);
    QVERIFY(layer(outcome.layers, "head").quantized);
    const auto& rnn = layer(outcome.layers, layerName.toStdString());
    QVERIFY2(rnn.quantized, rnn.scheme.c_str());
    QVERIFY(rnn.weightSqnrDb > 30.0);
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(ops.count(kernel.toStdString()) ? ops.at(kernel.toStdString()) : 0, 1);  // one recurrent call
    QCOMPARE(ops.count("aten::lstm") + ops.count("aten::gru"), size_t{0});
    // int8 weights are counted in the sizes, and the outputs stay close to the float model's.
    QVERIFY(measureModelSize(outcome.model).parameterBytesByDtype.at("qint8") > 0);
    const Dataset sequences = Dataset::load(DataSource{fixture("sequences.pt")});
    const FidelityMetrics f =
        computeFidelity(runModel(original, sequences, 30), runModel(outcome.model, sequences, 30));
    QVERIFY2(f.sqnrDb > 25.0, qPrintable(QString::number(f.sqnrDb)));
    // Saved and reloaded, it runs the same.
    const QString path = quantscope::test::tempPath("quantscope_rnn_" + file);
    outcome.model.save(path.toStdString());
    QCOMPARE(runModel(Model::load(path.toStdString()), sequences, 30).values,
             runModel(outcome.model, sequences, 30).values);
    QFile::remove(path);
  }
  void transformerReportsWhatReallyRunsInt8() {
    const QuantizationOutcome outcome =
        QuantizationTechniques::dynamic_quantization(Model::load(fixture("transformer.pt")));
    QVERIFY(layer(outcome.layers, "head").quantized);
    // LibTorch's fused encoder kernel would keep using the float weights; the layer runs QuantScope's int8
    // forward instead (tests/test_dynamic_transformer.cpp has the details).
    for (const char* name : {"encoder.linear1", "encoder.linear2"}) {
      const auto& l = layer(outcome.layers, name);
      QVERIFY2(l.quantized, l.scheme.c_str());
      QVERIFY(QString::fromStdString(l.scheme).contains("int8 on quantized::linear"));
    }
    QCOMPARE(outcome.model.graphOperators().count("aten::_transformer_encoder_layer_fwd"), size_t{0});
    outcome.model.checkInput(InputSpec::parse("2x6x32"));
  }
  void savedModelReloadsWithSameOutputs() {
    const Model original = Model::load(fixture("cnn_traced.pt"));
    const QuantizationOutcome outcome = QuantizationTechniques::dynamic_quantization(original);
    const QString path = quantscope::test::tempPath("quantscope_dynamic_cnn.pt");
    outcome.model.save(path.toStdString());
    const Model reloaded = Model::load(path.toStdString());
    QCOMPARE(reloaded.inputSpec()->shapeString(), std::string("1x3x16x16"));
    const ModelInfo info = reloaded.inspect();
    QVERIFY(info.quantized);
    QCOMPARE(info.quantizedEngine, bestQuantizedEngine());
    // Freezing renamed the weights; the archive's record gives the original layer name back.
    const auto fc = std::find_if(info.layers.begin(), info.layers.end(),
                                 [](const LayerInfo& l) { return l.name == "fc"; });
    QVERIFY(fc != info.layers.end());
    QCOMPARE(fc->type, std::string("QuantizedLinear"));
    QCOMPARE(fc->dtype, std::string("qint8"));
    DataSource images{fixture("images")};
    const Dataset data = Dataset::load(images, original.inputSpec());
    const Matrix inMemory = runModel(outcome.model, data), fromFile = runModel(reloaded, data);
    QCOMPARE(fromFile.values, inMemory.values);
    QFile::remove(path);
  }
  void builtinDigitsDemoKeepsAccuracy() {
    RunOptions options;
    options.benchmarkRuns = 5;
    const Model model = Model::load(builtinDigitsModelPath());
    const RunResult r =
        quantize_and_evaluate(model, Dataset::load(DataSource{"digits:test"}), "dynamic", {}, options);
    QVERIFY(r.originalAccuracy.top1 >= 0.97);  // the shipped model's promise
    QVERIFY(r.quantizedAccuracy.top1 >= r.originalAccuracy.top1 - 0.01);
    QVERIFY(r.fidelity.top1Agreement >= 0.99);
    QCOMPARE(r.datasetSize, 360);
  }
};

QTEST_GUILESS_MAIN(TestDynamicQuantization)
#include "test_dynamic_quantization.moc"
