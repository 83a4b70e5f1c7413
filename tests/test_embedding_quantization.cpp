// Weight-only quantization of embedding tables (embeddings=int8|4bit) on an Embedding(8000, 256) LSTM text
// classifier, against PyTorch's own quantize_dynamic with float_qparams_weight_only_qconfig(_4bit) on the
// same model (text_classifier.json, written by tests/fixtures/make_text_fixtures.py).
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/results/metrics.h"
#include "core/results/size_report.h"
#include "core/runtime/op_profile.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;
using quantscope::test::layer;

namespace {

QJsonObject pytorchFigures() {
  QFile file(quantscope::test::fixturesDir() + "/text_classifier.json");
  if (!file.open(QIODevice::ReadOnly)) qFatal("text_classifier.json missing");
  return QJsonDocument::fromJson(file.readAll()).object();
}

int count(const std::map<std::string, int>& ops, const std::string& op) {
  const auto found = ops.find(op);
  return found == ops.end() ? 0 : found->second;
}

// The archive exactly as written to disk.
int64_t savedBytes(const Model& model, const QString& name) {
  const QString path = quantscope::test::tempPath(name);
  model.save(path.toStdString());
  return QFileInfo(path).size();
}

RunResult evaluateText(const std::string& technique, const ParamValues& params) {
  RunOptions options;
  options.benchmarkRuns = 2;
  options.benchmark.warmupRuns = 1;
  const Dataset tokens = Dataset::load(DataSource{fixture("text_tokens.pt")});
  options.calibrationData = technique == "dynamic" ? nullptr : &tokens;
  return quantize_and_evaluate(Model::load(fixture("text_classifier.pt")), tokens, technique, params,
                               options);
}

}  // namespace

class TestEmbeddingQuantization : public QObject {
  Q_OBJECT
 private slots:
  void tokenModelsTakeInt64Inputs() {
    const Model model = Model::load(fixture("text_classifier.pt"));
    QVERIFY(model.inputSpec().has_value());
    QVERIFY(model.inputSpec()->dtype == ElementType::Int64);
    const Dataset tokens = Dataset::load(DataSource{fixture("text_tokens.pt")});
    QVERIFY(tokens.info().dtype == ElementType::Int64);
    tokens.checkFits(model);
  }

  // The archive shrinks as PyTorch's does on the same model: float embeddings as quantize_dynamic
  // (12.4 MB -> 9.3 MB), int8 rows -> 3.2 MB, 4-bit rows -> 2.2 MB.
  void archiveShrinksAsPyTorchs_data() {
    QTest::addColumn<QString>("embeddings");
    QTest::addColumn<QString>("pytorchKey");
    QTest::addColumn<QString>("kernel");
    QTest::newRow("float") << "float"
                           << "pytorch_dynamic_bytes"
                           << "aten::embedding";
    QTest::newRow("int8") << "int8"
                          << "pytorch_embedding_int8_bytes"
                          << "quantized::embedding_byte";
    QTest::newRow("4bit") << "4bit"
                          << "pytorch_embedding_4bit_bytes"
                          << "quantized::embedding_4bit";
  }
  void archiveShrinksAsPyTorchs() {
    QFETCH(QString, embeddings);
    QFETCH(QString, pytorchKey);
    QFETCH(QString, kernel);
    const QJsonObject figures = pytorchFigures();
    const Model model = Model::load(fixture("text_classifier.pt"));
    const QuantizationOutcome outcome =
        prepare_model_for_quantization(model, "dynamic", {{"embeddings", embeddings.toStdString()}});
    const int64_t ours = savedBytes(outcome.model, "text_" + embeddings + ".pt");
    const double pytorch = figures.value(pytorchKey).toDouble();
    const double fp32 = figures.value("fp32_bytes").toDouble();
    // The fixture file (with its input spec) weighs what PyTorch's own fp32 archive does, give or take its
    // extra files.
    QVERIFY(std::abs(QFileInfo(QString::fromStdString(fixture("text_classifier.pt"))).size() - fp32) <
            0.01 * fp32);
    const QString detail =
        QString("QuantScope %1 B, PyTorch %2 B, fp32 %3 B").arg(ours).arg(qint64(pytorch)).arg(qint64(fp32));
    qInfo("embeddings=%s: %s", qPrintable(embeddings), qPrintable(detail));
    QVERIFY2(std::abs(ours - pytorch) <= 0.02 * pytorch, qPrintable(detail));
    // What the size report says is the file's size.
    QCOMPARE(measureModelSize(outcome.model).serializedBytes, ours);
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(count(ops, kernel.toStdString()), 1);
    QCOMPARE(count(ops, "aten::quantized_lstm"), 1);
    QCOMPARE(count(ops, "quantized::linear_dynamic"), 1);
    const LayerQuantization& table = layer(outcome.layers, "embedding");
    const QString scheme = QString::fromStdString(table.scheme);
    if (embeddings == "float") {
      QVERIFY(fp32 / ours < 1.4);  // the table stays float: only the LSTM and Linear shrink
      QVERIFY(!table.quantized);
      QVERIFY2(scheme.contains("embeddings=float"), qPrintable(scheme));
      return;
    }
    QCOMPARE(count(ops, "aten::embedding"), 0);
    QVERIFY2(fp32 / ours > (embeddings == "int8" ? 3.7 : 5.5), qPrintable(detail));
    QVERIFY(table.quantized);
    QVERIFY2(scheme.contains(embeddings == "int8" ? "weight-only int8 rows on quantized::embedding_byte"
                                                  : "weight-only 4-bit rows on quantized::embedding_4bit"),
             qPrintable(scheme));
    QVERIFY2(scheme.contains("per-row float scale and offset, 8000 rows"), qPrintable(scheme));
    QCOMPARE(table.weightBits, embeddings == "int8" ? 0 : 4);
    // 8-bit rows: ~256 levels over each row's range; 4-bit: 16.
    QVERIFY2(table.hasWeightSqnr && table.weightSqnrDb > (embeddings == "int8" ? 38.0 : 16.0),
             qPrintable(QString::number(table.weightSqnrDb)));
    QVERIFY(std::any_of(outcome.notes.begin(), outcome.notes.end(), [](const std::string& note) {
      return note.find("embedding lookup(s) run on") != std::string::npos;
    }));

    // The written file's own Layers table: the table is a quantized embedding under its layer name.
    const QString path = quantscope::test::tempPath("text_" + embeddings + ".pt");
    const ModelInfo info = Model::load(path.toStdString()).inspect();
    const auto row = std::find_if(info.layers.begin(), info.layers.end(),
                                  [](const LayerInfo& l) { return l.name == "embedding"; });
    QVERIFY(row != info.layers.end());
    QCOMPARE(row->type, std::string("QuantizedEmbedding"));
    QCOMPARE(row->dtype, std::string(embeddings == "int8" ? "quint8" : "quint4x2"));
    // Parameter bytes: 8000 rows of 256 values at 8 or 4 bits, plus a float scale and offset per row.
    const auto bytes = measureModelSize(outcome.model).parameterBytesByDtype;
    const int64_t expected = 8000 * (embeddings == "int8" ? 256 : 128) + 8000 * 8;
    QCOMPARE(bytes.at(embeddings == "int8" ? "quint8" : "quint4x2"), expected);
  }

  // Agreement with fp32 on the fixture's 256 token sequences: int8 rows >= 99 %; 4-bit rows (16 levels per
  // row, 19 dB weight SQNR) >= 97 % and within a point of PyTorch's own 4-bit model.
  void agreesWithFloat_data() {
    QTest::addColumn<QString>("technique");
    QTest::addColumn<QString>("embeddings");
    QTest::addColumn<double>("bound");
    QTest::newRow("dynamic int8") << "dynamic"
                                  << "int8" << 0.99;
    QTest::newRow("dynamic 4bit") << "dynamic"
                                  << "4bit" << 0.97;
    QTest::newRow("fx int8") << "fx"
                             << "int8" << 0.99;
    QTest::newRow("static 4bit") << "static"
                                 << "4bit" << 0.97;
  }
  void agreesWithFloat() {
    QFETCH(QString, technique);
    QFETCH(QString, embeddings);
    QFETCH(double, bound);
    const RunResult result =
        evaluateText(technique.toStdString(), {{"embeddings", embeddings.toStdString()}});
    const double agreement = result.fidelity.top1Agreement;
    const double pytorch = pytorchFigures()
                               .value(embeddings == "int8" ? "pytorch_embedding_int8_agreement"
                                                           : "pytorch_embedding_4bit_agreement")
                               .toDouble();
    const QString detail = QString("%1 embeddings=%2: agreement %3 (PyTorch dynamic %4), SQNR %5 dB, %6 B")
                               .arg(technique, embeddings)
                               .arg(agreement)
                               .arg(pytorch)
                               .arg(result.fidelity.sqnrDb)
                               .arg(result.sizes.quantized.serializedBytes);
    qInfo("%s", qPrintable(detail));
    QCOMPARE(result.datasetSize, int64_t{256});
    QVERIFY2(agreement >= bound, qPrintable(detail));
    QVERIFY2(agreement >= pytorch - 0.01, qPrintable(detail));
    QVERIFY2(result.sizes.serializedRatio > 1.9, qPrintable(detail));  // fx/static keep the LSTM float
    const LayerQuantization& table = layer(result.layers, "embedding");
    QVERIFY(table.quantized);
    const auto ops = result.quantizedOps;
    QVERIFY(std::any_of(ops.ops.begin(), ops.ops.end(), [&](const auto& op) {
      return op.op == (embeddings == "int8" ? "quantized::embedding_byte" : "quantized::embedding_4bit") &&
             op.precision == OpPrecision::Int8;
    }));
  }

  // Sum bags run on quantized::embedding_bag_*; LibTorch's quantized bag kernels get means wrong, so a mean
  // bag stays float and the notes say why.
  void sumBagsRunQuantizedMeanBagsStayFloat() {
    const Model model = Model::load(fixture("bags.pt"));
    const QuantizationOutcome outcome =
        prepare_model_for_quantization(model, "dynamic", {{"embeddings", "int8"}});
    const auto ops = outcome.model.graphOperators();
    QCOMPARE(count(ops, "quantized::embedding_bag_byte"), 1);
    QCOMPARE(count(ops, "aten::embedding_bag"), 1);
    QVERIFY(layer(outcome.layers, "sums").quantized);
    QVERIFY(!layer(outcome.layers, "means").quantized);
    QVERIFY(std::any_of(outcome.notes.begin(), outcome.notes.end(), [](const std::string& note) {
      return note.find("only mode='sum'") != std::string::npos;
    }));
    const Dataset tokens = Dataset::load(DataSource{fixture("bag_tokens.pt")});
    const FidelityMetrics f = computeFidelity(runModel(model, tokens), runModel(outcome.model, tokens));
    QVERIFY2(f.sqnrDb > 30.0, qPrintable(QString::number(f.sqnrDb)));
  }

  void badValueIsAClearError_data() {
    QTest::addColumn<QString>("technique");
    QTest::newRow("dynamic") << "dynamic";
    QTest::newRow("fx") << "fx";
    QTest::newRow("static") << "static";
  }
  void badValueIsAClearError() {
    QFETCH(QString, technique);
    const Model model = Model::load(fixture("text_classifier.pt"));
    const Dataset tokens = Dataset::load(DataSource{fixture("text_tokens.pt")});
    quantscope::test::expectError(
        [&] {
          prepare_model_for_quantization(model, technique.toStdString(), {{"embeddings", "3bit"}}, &tokens);
        },
        {"embeddings=3bit", "float, int8, 4bit"});
  }
};

QTEST_GUILESS_MAIN(TestEmbeddingQuantization)
#include "test_embedding_quantization.moc"
