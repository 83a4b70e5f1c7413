// Dynamic quantization of TransformerEncoder layers: all four projections of each layer on LibTorch's int8
// dynamic kernels instead of the fused float kernel, outputs within dynamic tolerance of fp32, and a report
// that says so.
#include <QtTest>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/results/metrics.h"
#include "core/results/size_report.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;
using quantscope::test::layer;

namespace {

int count(const std::map<std::string, int>& ops, const std::string& op) {
  const auto it = ops.find(op);
  return it == ops.end() ? 0 : it->second;
}

// The weights of one layer's four projections, d_model 32 and feed-forward 64 (make_fixtures.py).
constexpr int64_t kProjectionWeightsPerLayer = 3 * 32 * 32 + 32 * 32 + 64 * 32 + 32 * 64;

}  // namespace

class TestDynamicTransformer : public QObject {
  Q_OBJECT
 private slots:
  void projectionsRunOnInt8Kernels_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("qconfig");
    QTest::addColumn<QString>("granularity");
    QTest::addColumn<bool>("relu");
    // batch first, ReLU, post-norm: the layer LibTorch runs on its fused kernel.
    QTest::newRow("fused-path encoder, fbgemm recipe") << "token_transformer.pt"
                                                       << "fbgemm"
                                                       << "per_tensor" << true;
    QTest::newRow("fused-path encoder, onednn recipe, per channel") << "token_transformer.pt"
                                                                    << "onednn"
                                                                    << "per_channel" << true;
    // sequence first, GELU, norm first, padding mask.
    QTest::newRow("padded, sequence-first, norm-first GELU encoder") << "padded_token_transformer.pt"
                                                                     << "fbgemm"
                                                                     << "per_tensor" << false;
  }
  void projectionsRunOnInt8Kernels() {
    QFETCH(QString, file);
    QFETCH(QString, qconfig);
    QFETCH(QString, granularity);
    QFETCH(bool, relu);
    const Model original = Model::load(fixture(file.toStdString()));
    const QuantizationOutcome outcome = prepare_model_for_quantization(
        original, "dynamic",
        {{"qconfig", qconfig.toStdString()}, {"weight_granularity", granularity.toStdString()}});

    // Per layer: q/k/v and output projections and linear2 on linear_dynamic, linear1 too (with ReLU fused
    // when the layer uses ReLU); the head is the seventh linear_dynamic. No float projection is left.
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(count(ops, "quantized::linear_dynamic"), relu ? 2 * 3 + 1 : 2 * 4 + 1);
    QCOMPARE(count(ops, "quantized::linear_relu_dynamic"), relu ? 2 : 0);
    QCOMPARE(count(ops, "aten::_transformer_encoder_layer_fwd"), 0);
    QCOMPARE(count(ops, "aten::_native_multi_head_attention"), 0);
    QCOMPARE(count(ops, "aten::linear"), 0);

    // The report marks every projection int8, and says which one it is.
    for (const std::string prefix : {"encoder.layers.0", "encoder.layers.1"}) {
      for (const auto& [suffix, what] : std::vector<std::pair<std::string, QString>>{
               {".self_attn", "attention input projection"},
               {".self_attn.out_proj", "attention output projection"},
               {".linear1", "linear1"},
               {".linear2", "linear2"}}) {
        const LayerQuantization& l = layer(outcome.layers, prefix + suffix);
        QVERIFY2(l.quantized, (prefix + suffix + ": " + l.scheme).c_str());
        const QString scheme = QString::fromStdString(l.scheme);
        const QString kernel = relu && suffix == ".linear1" ? "int8 on quantized::linear_relu_dynamic"
                                                            : "int8 on quantized::linear_dynamic";
        QVERIFY2(scheme.contains(kernel) && scheme.contains(what), qPrintable(scheme));
        QVERIFY2(scheme.contains(granularity == "per_channel" ? "per-channel" : "per-tensor"),
                 qPrintable(scheme));
        QVERIFY2(l.hasWeightSqnr && l.weightSqnrDb > 30.0, qPrintable(QString::number(l.weightSqnrDb)));
        QVERIFY(!l.packedAs.empty());
      }
    }
    QVERIFY(layer(outcome.layers, "head").quantized);
    QVERIFY(std::any_of(outcome.notes.begin(), outcome.notes.end(), [](const std::string& note) {
      return note.find("2 TransformerEncoderLayer(s) run an int8 forward") != std::string::npos;
    }));

    // The float projection weights are gone from the model: int8 copies only (plus the head's). Per-channel
    // weights also carry a scale and a zero point (8 bytes each) per output row.
    const ModelSize sizes = measureModelSize(outcome.model);
    const int64_t outputRows = 2 * (3 * 32 + 32 + 64 + 32) + 3;
    QCOMPARE(sizes.parameterBytesByDtype.at("qint8"),
             2 * kProjectionWeightsPerLayer + 3 * 32 + (granularity == "per_channel" ? 16 * outputRows : 0));

    // Outputs within the usual dynamic tolerance of fp32, padded sequences included.
    const Dataset tokens = Dataset::load(DataSource{fixture("tokens.pt")});
    const Matrix reference = runModel(original, tokens, 24), quantized = runModel(outcome.model, tokens, 24);
    const FidelityMetrics fidelity = computeFidelity(reference, quantized);
    QVERIFY2(fidelity.sqnrDb >= 30.0, qPrintable(QString("SQNR %1 dB").arg(fidelity.sqnrDb)));
    QVERIFY(fidelity.cosineSimilarity > 0.999);

    // Saved and reloaded, the same graph gives the same outputs.
    const QString path = quantscope::test::tempPath("transformer_" + file);
    outcome.model.save(path.toStdString());
    const Model reloaded = Model::load(path.toStdString());
    QVERIFY(reloaded.graphOperators() == ops);
    QCOMPARE(runModel(reloaded, tokens, 24).values, quantized.values);
  }
  void singleLayer() {
    // A TransformerEncoderLayer used on its own (no encoder around it), fed float features.
    const Model original = Model::load(fixture("transformer.pt"));
    const QuantizationOutcome outcome = QuantizationTechniques::dynamic_quantization(original);
    for (const char* name :
         {"encoder.self_attn", "encoder.self_attn.out_proj", "encoder.linear1", "encoder.linear2"})
      QVERIFY2(layer(outcome.layers, name).quantized, name);
    QCOMPARE(count(outcome.model.graphOperators(), "aten::_transformer_encoder_layer_fwd"), 0);
    const Matrix reference = runModel(original, Dataset::load(DataSource{fixture("sequences_32.pt")}), 30);
    const Matrix quantized =
        runModel(outcome.model, Dataset::load(DataSource{fixture("sequences_32.pt")}), 30);
    const FidelityMetrics fidelity = computeFidelity(reference, quantized);
    QVERIFY2(fidelity.sqnrDb >= 30.0, qPrintable(QString("SQNR %1 dB").arg(fidelity.sqnrDb)));
  }
};

QTEST_GUILESS_MAIN(TestDynamicTransformer)
#include "test_dynamic_transformer.moc"
