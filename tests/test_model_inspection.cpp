// Inspection facts of scripted and traced models, checked against what Python computed for the same files.
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>

#include "core/model/model.h"
#include "core/results/size_report.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;

class TestModelInspection : public QObject {
  Q_OBJECT
 private slots:
  void parameterCountsAndLayersMatchPython_data() {
    QTest::addColumn<QString>("file");
    for (const char* f :
         {"mlp.pt", "cnn_scripted.pt", "cnn_traced.pt", "lstm.pt", "transformer.pt", "mobilenet_v2.pt"}) {
      QTest::newRow(f) << f;
    }
  }
  void parameterCountsAndLayersMatchPython() {
    QFETCH(QString, file);
    const QJsonObject facts = test::fixtureFacts(file);
    const ModelInfo info = Model::load(fixture(file.toStdString())).inspect();
    QCOMPARE(info.parameterCount, facts.value("parameter_count").toInteger());
    QCOMPARE(info.parameterBytes, 4 * info.parameterCount);  // all float32
    QVERIFY(!info.quantized);
    std::vector<std::string> names;
    for (const auto& layer : info.layers) names.push_back(layer.name);
    for (const auto& expected : facts.value("layers").toArray()) {
      QVERIFY2(std::find(names.begin(), names.end(), expected.toString().toStdString()) != names.end(),
               qPrintable("layer missing: " + expected.toString()));
    }
    // Linear, LSTM and GRU layers can be quantized dynamically; nothing else can.
    for (const auto& layer : info.layers) {
      const bool dynamic = std::count(layer.quantizableBy.begin(), layer.quantizableBy.end(), "dynamic") > 0;
      QCOMPARE(dynamic, layer.type == "Linear" || layer.type == "LSTM" || layer.type == "GRU");
    }
  }
  void layerDetails() {
    const ModelInfo info = Model::load(fixture("cnn_scripted.pt")).inspect();
    const auto conv1 = std::find_if(info.layers.begin(), info.layers.end(),
                                    [](const LayerInfo& l) { return l.name == "conv1"; });
    QVERIFY(conv1 != info.layers.end());
    QCOMPARE(conv1->type, std::string("Conv2d"));
    QCOMPARE(conv1->parameterCount, 8 * 3 * 3 * 3 + 8);
    QCOMPARE(conv1->dtype, std::string("float32"));
    QCOMPARE(conv1->parameterShapes, (std::vector<std::string>{"weight 8x3x3x3", "bias 8"}));
  }
  void inputSpecFromArchiveOrUser() {
    Model withSpec = Model::load(fixture("cnn_traced.pt"));
    QVERIFY(withSpec.inputSpec().has_value());
    QCOMPARE(withSpec.inputSpec()->shapeString(), std::string("1x3x16x16"));
    Model withoutSpec = Model::load(fixture("mlp_no_spec.pt"));
    QVERIFY(!withoutSpec.inputSpec().has_value());
    test::expectError([&] { withoutSpec.requireInputSpec(); }, {"does not say what input", "--input-shape"});
    withoutSpec.setInputSpec(InputSpec::parse("4x64"));
    withoutSpec.checkInput(*withoutSpec.inputSpec());
  }
  void serializedSizeIsWhatTheFileWeighs() {
    const Model model = Model::load(fixture("mlp.pt"));
    const QString copy = quantscope::test::tempPath("quantscope_size_check.pt");
    model.save(copy.toStdString());
    QCOMPARE(QFileInfo(copy).size(), measureModelSize(model).serializedBytes);
    QCOMPARE(model.inspect().fileBytes, QFileInfo(copy).size());
    // The copy keeps the input spec inside the archive.
    QCOMPARE(Model::load(copy.toStdString()).inputSpec()->shapeString(), std::string("1x64"));
    QFile::remove(copy);
  }
  void graphOperatorsOfFloatModel() {
    const auto ops = Model::load(fixture("mlp.pt")).graphOperators();
    QCOMPARE(ops.at("aten::linear"), 3);
    QVERIFY(ops.count("quantized::linear_dynamic") == 0);
  }
};

QTEST_GUILESS_MAIN(TestModelInspection)
#include "test_model_inspection.moc"
