// Per-layer output SQNR (numeric-suite style) on a residual network, against PyTorch's own figures:
// make_fixtures.py quantizes the same model with prepare_fx/convert_fx (onednn recipe, the same 32
// calibration samples) and measures each layer's output against the batch-norm-folded float model by
// forward hooks. Every layer kind of a ResNet is there: conv-bn-relu (fused), conv-bn feeding an in-place
// residual add, a conv-bn shortcut, add-relu, Linear-ReLU (fused) and a plain Linear.
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>
#include <cmath>

#include "core/data/dataset.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;
using quantscope::test::layer;

namespace {

// Both sides calibrate with histogram observers on one batch of the same 32 samples and run the same
// oneDNN kernels; what differs is LibTorch's graph passes against PyTorch's FX and the order of float
// operations, worth a few tenths of a dB at most on this model.
constexpr double kToleranceDb = 0.5;

bool contains(const std::string& text, const char* fragment) {
  return text.find(fragment) != std::string::npos;
}

}  // namespace

class TestLayerOutputs : public QObject {
  Q_OBJECT
 private:
  Model model_ = Model::load(fixture("residual_layers.pt"));
  Dataset calibration_ = Dataset::load(DataSource{fixture("residual_layers_calibration.pt")});
  QJsonObject facts_ = quantscope::test::fixtureFacts("residual_layers.pt");

  QuantizationOutcome quantize(const std::string& technique, ParamValues params = {}) {
    params["qconfig"] = "onednn";
    params["engine"] = "onednn";
    params["calib_samples"] = "32";
    return prepare_model_for_quantization(model_, technique, params, &calibration_);
  }

 private slots:
  void fxLayerOutputsAgreeWithPyTorch() {
    const QuantizationOutcome q = quantize("fx");
    const QJsonObject reference = facts_["fx_output_sqnr_db"].toObject();
    QCOMPARE(reference.size(), 8);  // 6 convolutions, 2 Linear
    QStringList fused;
    for (const auto& name : facts_["fx_fused_relu_layers"].toArray()) fused << name.toString();
    QCOMPARE(fused, (QStringList{"conv1", "layer1.conv1", "layer2.conv1", "fc1"}));
    for (auto it = reference.begin(); it != reference.end(); ++it) {
      const LayerQuantization& l = layer(q.layers, it.key().toStdString());
      const double expected = it.value().toDouble();
      const QString what = QString("%1: QuantScope %2 dB, PyTorch FX %3 dB (%4)")
                               .arg(it.key())
                               .arg(l.outputSqnrDb)
                               .arg(expected)
                               .arg(QString::fromStdString(l.scheme));
      QVERIFY2(l.quantized && l.hasOutputSqnr, qPrintable(what));
      QVERIFY2(std::abs(l.outputSqnrDb - expected) <= kToleranceDb, qPrintable(what));
      // A layer fused with its ReLU has no output of its own in the int8 graph: the figure is taken after
      // the ReLU, and the report says so; the others are the layer's own output.
      QVERIFY2(contains(l.scheme, "output taken after the ReLU fused into") == fused.contains(it.key()),
               qPrintable(what));
      QVERIFY2(contains(l.scheme, "output QUInt8 scale"), qPrintable(what));
    }
    // The convolutions whose output feeds the in-place residual add (`out += identity`) once read ~0 dB:
    // the float side's value had been overwritten by the sum. They must be as faithful as their neighbours.
    QVERIFY(layer(q.layers, "layer1.conv2").outputSqnrDb > 25.0);
    QVERIFY(layer(q.layers, "layer2.conv2").outputSqnrDb > 25.0);
    // Batch norms have no output of their own in the int8 graph (folded into the convolutions): no figure.
    const QJsonArray batchNorms = facts_["batch_norm_layers"].toArray();
    QCOMPARE(batchNorms.size(), 6);
    for (const auto& name : batchNorms) {
      const LayerQuantization& l = layer(q.layers, name.toString().toStdString());
      QVERIFY2(!l.hasOutputSqnr && contains(l.scheme, "folded"), qPrintable(name.toString()));
    }
  }

  void floatLayerInMixedPrecisionLeavesTheOthersMeasured() {
    // One convolution kept float: the int8 graph has one Conv op fewer than the float graph, which once
    // made the pairing give up for every layer.
    const QuantizationOutcome fx = quantize("fx");
    const QuantizationOutcome mixed = quantize("mixed", {{"layer_bits", "layer1.conv2=float"}});
    const LayerQuantization& floatLayer = layer(mixed.layers, "layer1.conv2");
    QVERIFY(!floatLayer.quantized);
    QVERIFY(!floatLayer.hasOutputSqnr);
    for (const char* name :
         {"conv1", "layer1.conv1", "layer2.conv1", "layer2.conv2", "layer2.downsample.0", "fc1", "fc2"}) {
      const LayerQuantization& l = layer(mixed.layers, name);
      QVERIFY2(l.quantized && l.hasOutputSqnr, name);
    }
    // Upstream of the float layer nothing changed: the same figures as fx, from the same calibration.
    for (const char* name : {"conv1", "layer1.conv1"}) {
      QVERIFY2(std::abs(layer(mixed.layers, name).outputSqnrDb - layer(fx.layers, name).outputSqnrDb) < 0.05,
               name);
    }
  }
};

QTEST_GUILESS_MAIN(TestLayerOutputs)
#include "test_layer_outputs.moc"
