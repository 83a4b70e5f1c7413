// The quantized TorchScript files QuantScope writes open in stock PyTorch (Debian's python3-torch) and
// give the same outputs there as in QuantScope.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QtTest>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;

class TestPythonRoundTrip : public QObject {
  Q_OBJECT
 private slots:
  void pytorchRunsOurFileWithTheSameOutputs_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("data");
    QTest::addColumn<QString>("technique");
    // How many int8 Linear kernels the saved graph holds (quantized::linear_dynamic for dynamic,
    // quantized::linear otherwise; fused Linear-ReLU layers run quantized::linear_relu(_dynamic) and are not
    // counted: the token transformer's ReLU feed-forward fuses linear1, the padded one's GELU does not).
    QTest::addColumn<int>("int8LinearKernels");
    QTest::newRow("dynamic, scripted MLP") << "mlp.pt"
                                           << "mlp_data.pt"
                                           << "dynamic" << 3;
    QTest::newRow("dynamic, scripted CNN") << "cnn_scripted.pt"
                                           << ""
                                           << "dynamic" << 1;
    QTest::newRow("dynamic, traced CNN") << "cnn_traced.pt"
                                         << ""
                                         << "dynamic" << 1;
    QTest::newRow("dynamic, LSTM") << "lstm.pt"
                                   << ""
                                   << "dynamic" << 1;
    QTest::newRow("dynamic, GRU") << "gru.pt"
                                  << ""
                                  << "dynamic" << 1;
    // Token inputs; embedding rows weight-only (the row name picks embeddings=int8 or 4bit).
    QTest::newRow("dynamic, text LSTM, int8 embedding") << "text_classifier.pt"
                                                        << "text_tokens.pt"
                                                        << "dynamic" << 1;
    QTest::newRow("dynamic, text LSTM, 4bit embedding") << "text_classifier.pt"
                                                        << "text_tokens.pt"
                                                        << "dynamic" << 1;
    QTest::newRow("fx, text LSTM, int8 embedding") << "text_classifier.pt"
                                                   << "text_tokens.pt"
                                                   << "fx" << 1;
    // Transformer encoders on QuantScope's int8 forward (token ids in, padding mask in the second).
    QTest::newRow("dynamic, token transformer") << "token_transformer.pt"
                                                << "tokens.pt"
                                                << "dynamic" << 7;
    QTest::newRow("dynamic, padded token transformer") << "padded_token_transformer.pt"
                                                       << "tokens.pt"
                                                       << "dynamic" << 9;
    QTest::newRow("fx, scripted CNN") << "cnn_scripted.pt"
                                      << ""
                                      << "fx" << 1;
    QTest::newRow("fx, traced CNN") << "cnn_traced.pt"
                                    << ""
                                    << "fx" << 1;
    // AdaRound rewrites the packed weights after Finalize (depthwise and grouped convolutions).
    QTest::newRow("static + adaround, depthwise CNN") << "adaround_depthwise_cnn.pt"
                                                      << ""
                                                      << "static" << 1;
    QTest::newRow("static, scripted CNN") << "cnn_scripted.pt"
                                          << ""
                                          << "static" << 1;
    QTest::newRow("fx, MLP") << "mlp.pt"
                             << "mlp_data.pt"
                             << "fx" << 1;
    // The training techniques, on the digits demo they train on (one short epoch each).
    QTest::newRow("qat, digits CNN") << "digits_cnn.pt"
                                     << ""
                                     << "qat" << 1;
    QTest::newRow("pruning (channels), digits CNN") << "digits_cnn.pt"
                                                    << ""
                                                    << "pruning" << 1;
    QTest::newRow("distillation, digits student") << "digits_cnn.pt"
                                                  << ""
                                                  << "distillation" << 1;
    // Packed sub-8-bit weights that __setstate__ unpacks, a float layer, a 6-bit activation clamp.
    QTest::newRow("mixed (2..6 bits, a float layer), digits CNN") << "digits_cnn.pt"
                                                                  << ""
                                                                  << "mixed" << 1;
    QTest::newRow("mixed, residual blocks of one class") << "blocks_cnn.pt"
                                                         << ""
                                                         << "mixed" << 1;
    QTest::newRow("mixed 4-bit, MLP") << "mlp.pt"
                                      << "mlp_data.pt"
                                      << "mixed" << 1;
    // Post-training accuracy steps: equalized float weights, and biases rewritten in the packed params
    // (root attributes, and the 4-bit holders' state that __setstate__ repacks from).
    QTest::newRow("static, equalize + empirical bias correction") << "unbalanced_cnn.pt"
                                                                  << ""
                                                                  << "static" << 1;
    QTest::newRow("fx, equalize + analytical bias correction, depthwise") << "depthwise_cnn.pt"
                                                                          << ""
                                                                          << "fx" << 1;
    QTest::newRow("mixed 4-bit, equalize + empirical bias correction, depthwise") << "depthwise_cnn.pt"
                                                                                  << ""
                                                                                  << "mixed" << 1;
  }
  void pytorchRunsOurFileWithTheSameOutputs() {
    QFETCH(QString, model);
    QFETCH(QString, data);
    QFETCH(QString, technique);
    QFETCH(int, int8LinearKernels);
    const bool digits = model == "digits_cnn.pt";  // the built-in demo model
    const Model original = Model::load(digits ? builtinDigitsModelPath() : fixture(model.toStdString()));
    const Dataset calibration = Dataset::load(DataSource{
        digits ? "digits:train"
               : fixture(model.startsWith("adaround")                            ? "depthwise_calibration.pt"
                         : model.startsWith("cnn") || model.startsWith("blocks") ? "cnn_calibration.pt"
                         : model.startsWith("text")                              ? "text_tokens.pt"
                         : model.startsWith("unbalanced") || model.startsWith("depthwise")
                             ? "accuracy_calibration.pt"
                             : "mlp_data.pt")});
    ParamValues params;
    if (technique == "qat") params = {{"epochs", "1"}, {"train_samples", "320"}};
    if (technique == "pruning")
      params = {{"finetune_epochs", "1"}, {"train_samples", "320"}, {"structure", "channels"}};
    if (technique == "distillation") {
      params = {{"epochs", "1"},
                {"train_samples", "320"},
                {"student", resourcesDirectory() + "/digits_student.pt"}};
    }
    if (technique == "mixed") {
      params = {{"bits_weights", "4"}};
      if (digits) params["layer_bits"] = "conv1=float,conv2=2,conv3=3,fc1=w5a6";
      if (model == "blocks_cnn.pt") params["layer_bits"] = "layer1.0.conv2=2,layer1.1.conv1=float,fc=w8a6";
    }
    const QString tag = QTest::currentDataTag();
    if (tag.contains("equalize")) params["equalize"] = "true";
    if (tag.contains("empirical")) params["bias_correction"] = "empirical";
    if (tag.contains("analytical")) params["bias_correction"] = "analytical";
    if (tag.contains("adaround")) params = {{"adaround", "true"}, {"adaround_iters", "100"}};
    if (model.startsWith("text"))
      params["embeddings"] = QString(QTest::currentDataTag()).contains("4bit") ? "4bit" : "int8";
    const QuantizationOutcome outcome =
        prepare_model_for_quantization(original, technique.toStdString(), params, &calibration);
    const QString dir = quantscope::test::tempPath("roundtrip");
    QDir().mkpath(dir);
    const QString saved = dir + "/q_" + technique + "_" + model;
    outcome.model.save(saved.toStdString());

    // Inputs: the data file when the test names one, else random samples of the model's input shape
    // written by Python itself, so both sides read the same tensor file.
    QString dataFile = QString::fromStdString(fixture(data.toStdString()));
    if (data.isEmpty()) {
      dataFile = dir + "/inputs_" + model;
      const QString shape =
          QString::fromStdString(original.inputSpec()->withBatch(6).shapeString()).replace('x', ',');
      QProcess make;
      make.start(
          qEnvironmentVariable("QUANTSCOPE_PYTHON"),
          {"-c",
           "import torch,sys; torch.manual_seed(1); torch.save(torch.randn(" + shape + "), sys.argv[1])",
           dataFile});
      QVERIFY(make.waitForFinished(120000) && make.exitCode() == 0);
    }
    const QString outputs = dir + "/out_" + model + ".txt";
    QProcess python;
    python.start(qEnvironmentVariable("QUANTSCOPE_PYTHON"),
                 {qEnvironmentVariable("QUANTSCOPE_TESTS_SOURCE") + "/fixtures/run_in_pytorch.py", saved,
                  dataFile, outputs, QString::fromStdString(bestQuantizedEngine())});
    QVERIFY(python.waitForFinished(120000));
    QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());

    // One batch, as Python runs it: dynamic quantization picks activation scales per batch.
    const Dataset inputs = Dataset::load(DataSource{dataFile.toStdString()});
    const Matrix ours = runModel(outcome.model, inputs, inputs.info().size);
    QFile file(outputs);
    QVERIFY(file.open(QIODevice::ReadOnly | QIODevice::Text));
    std::vector<float> theirs;
    while (!file.atEnd()) {
      for (const QByteArray& v : file.readLine().trimmed().split(' ')) theirs.push_back(v.toFloat());
    }
    QCOMPARE(theirs.size(), ours.values.size());
    double maxDiff = 0, range = 0;
    size_t exact = 0;
    for (size_t i = 0; i < theirs.size(); ++i) {
      const double diff = std::abs(theirs[i] - ours.values[i]);
      maxDiff = std::max(maxDiff, diff);
      range = std::max(range, double(std::abs(ours.values[i])));
      exact += diff <= 1e-5 ? 1 : 0;
    }
    const QString detail = QString("max |PyTorch - QuantScope| = %1, %2 of %3 within 1e-5")
                               .arg(maxDiff)
                               .arg(exact)
                               .arg(theirs.size());
    if (technique == "dynamic") {
      // Same kernels, but dynamic quantization picks activation scales at run time: a one-ulp difference in
      // the float ops before it (thread scheduling, BLAS path) can move a value across a rounding step.
      QVERIFY2(exact >= theirs.size() * 9 / 10 && maxDiff <= 0.02 * range, qPrintable(detail));
    } else {
      QVERIFY2(maxDiff <= 1e-5, qPrintable(detail));
    }
    // And the file really is quantized when read back: its graph is exactly the one QuantScope measured,
    // with its int8 kernels.
    const auto ops = Model::load(saved.toStdString()).graphOperators();
    QVERIFY(ops == outcome.model.graphOperators());
    const auto count = [&](const std::string& op) { return ops.count(op) ? ops.at(op) : 0; };
    QCOMPARE(count(technique == "dynamic" ? "quantized::linear_dynamic" : "quantized::linear"),
             int8LinearKernels);
    // One recurrent call each (the GRU's two layers are one aten::gru call), one embedding lookup.
    if (model == "lstm.pt") QCOMPARE(count("aten::quantized_lstm"), 1);
    if (model == "gru.pt") QCOMPARE(count("aten::quantized_gru"), 1);
    if (tag.contains("bias correction")) QVERIFY(!outcome.accuracySteps.empty());
    if (model.startsWith("text")) {
      QCOMPARE(
          count(params["embeddings"] == "int8" ? "quantized::embedding_byte" : "quantized::embedding_4bit"),
          1);
      QCOMPARE(count("aten::embedding"), 0);
    }
  }
};

QTEST_GUILESS_MAIN(TestPythonRoundTrip)
#include "test_python_roundtrip.moc"
