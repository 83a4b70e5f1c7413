// Every kind of bad input a user can hand over gets a clear message, never a crash or a lost file.
#include <QFile>
#include <QtTest>
#include <atomic>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::expectError;
using quantscope::test::fixture;

class TestBadInputs : public QObject {
  Q_OBJECT
 private slots:
  void wrongModelFiles_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QStringList>("fragments");
    QTest::newRow("missing") << "no_such_model.pt" << QStringList{"does not exist"};
    QTest::newRow("empty") << "empty.pt" << QStringList{"is empty", "torch.jit.save"};
    QTest::newRow("truncated") << "truncated.pt" << QStringList{"damaged or truncated"};
    QTest::newRow("state_dict") << "state_dict.pt"
                                << QStringList{"torch.save", "state_dict", "torch.jit.script"};
    QTest::newRow("eager pickle") << "eager_model.pt" << QStringList{"torch.save", "no TorchScript code"};
    QTest::newRow("legacy pickle") << "legacy_pickle.pt" << QStringList{"legacy format", "torch.jit.save"};
    QTest::newRow("onnx") << "mlp.onnx" << QStringList{"ONNX", "torch.jit.save"};
    QTest::newRow("random bytes") << "random.bin" << QStringList{"not a TorchScript archive"};
    QTest::newRow("a folder") << "images" << QStringList{"not a file"};
  }
  void wrongModelFiles() {
    QFETCH(QString, file);
    QFETCH(QStringList, fragments);
    expectError([&] { Model::load(fixture(file.toStdString())); }, fragments);
  }
  void wrongInputShapeNamesBothShapes() {
    Model model = Model::load(fixture("cnn_scripted.pt"));
    expectError([&] { model.checkInput(InputSpec::parse("1x1x16x16")); },
                {"1x1x16x16", "stored input spec is 1x3x16x16", "takes 3 input channels"});
    Model mlp = Model::load(fixture("mlp.pt"));
    expectError([&] { mlp.checkInput(InputSpec::parse("1x32")); }, {"1x32", "takes 64 features"});
  }
  void absurdInputShapesAreRefusedBeforeAllocating() {
    // 3e10 floats: refused with the figure on any machine with less than 224 GiB of memory.
    expectError([] { InputSpec::parse("1x3x100000x100000"); }, {"needs 112 GiB for the input alone"});
    expectError([] { InputSpec::parse("99999999999x99999999999x99999999999"); },
                {"GiB", "before allocating"});
    // A stored spec and a batch size reach the allocator without parse: checked where the input is made.
    const Model mlp = Model::load(fixture("mlp.pt"));
    expectError([&] { mlp.checkInput(mlp.requireInputSpec().withBatch(int64_t{1} << 40)); },
                {"1099511627776x64 float32", "GiB", "before allocating"});
  }
  void dataThatDoesNotFitTheModel() {
    const Model digits = Model::load(builtinDigitsModelPath());
    const Dataset rgb = Dataset::load(DataSource{fixture("rgb_8x8.pt")});
    expectError([&] { rgb.checkFits(digits); }, {"does not fit", "3x8x8", "1x8x8", "grayscale or RGB"});
    const Dataset manyClasses = Dataset::load(DataSource{fixture("too_many_classes.pt")});
    expectError([&] { manyClasses.checkFits(digits); }, {"labels up to 12", "only 10 classes"});
    const Dataset features = Dataset::load(DataSource{fixture("mlp_data.pt")});
    expectError([&] { features.checkFits(digits); }, {"samples are 64", "takes 1x8x8"});
    expectError([&] { quantize_and_evaluate(digits, rgb, "dynamic"); }, {"does not fit"});
  }
  void badDataFiles() {
    expectError([] { Dataset::load(DataSource{fixture("nothing_here.csv")}); }, {"does not exist"});
    expectError([] { Dataset::load(DataSource{fixture("bad_value.csv")}); },
                {"line 3", "'oops' is not a number"});
    expectError([] { Dataset::load(DataSource{fixture("not_a_dict.pt")}); }, {"no 'x' tensor", "torch.save"});
    expectError([] { Dataset::load(DataSource{fixture("state_dict.pt")}); },
                {"OrderedDict", "torch.save({'x'"});
    expectError([] { Dataset::load(DataSource{fixture("one_entry_dict.pt")}); },
                {"one-entry dict", "torch.save(inputs"});
    expectError([] { Dataset::load(DataSource{fixture("empty_images")}, InputSpec::parse("1x1x8x8")); },
                {"no class sub-folders"});
    expectError([] { Dataset::load(DataSource{fixture("random.bin")}); }, {"does not read"});
    expectError([] { Dataset::load(DataSource{"digits:validation"}); }, {"digits:test"});
  }
  void techniquesWithoutTheirDataSaySo() {
    const Model model = Model::load(fixture("mlp.pt"));
    expectError([&] { AdvancedQuantizationTechniques::mixed_precision_quantization(model); },
                {"needs calibration data"});
    // The training techniques say they need training data.
    expectError([&] { QuantizationTechniques::quantization_aware_training(model); }, {"needs training data"});
    expectError([&] { AdvancedQuantizationTechniques::pruning_aware_quantization(model); },
                {"needs training data"});
  }
  void modelWithNothingToQuantize() {
    const Model convOnly = Model::load(fixture("conv_only.pt"));
    expectError([&] { QuantizationTechniques::dynamic_quantization(convOnly); },
                {"no Linear layer", "nothing was written"});
  }
  void float16NeedsFbgemm() {
    const Model model = Model::load(fixture("mlp.pt"));
    expectError([&] { QuantizationTechniques::dynamic_quantization(model, "float16"); },
                {"float16", "FBGEMM", "qint8"});
  }
  void cancelledRunStopsAndKeepsNothing() {
    const Model model = Model::load(fixture("mlp.pt"));
    const Dataset data = Dataset::load(DataSource{fixture("mlp_data.pt")});
    std::atomic<bool> cancel{true};
    Progress progress;
    progress.cancelFlag = &cancel;
    std::optional<Model> quantized;
    QVERIFY_THROWS_EXCEPTION(CancelledError,
                             quantize_and_evaluate(model, data, "dynamic", {}, {}, progress, &quantized));
    QVERIFY(!quantized.has_value());
  }
  void neverOverwritesTheOriginal() {
    const QString copy = quantscope::test::tempPath("quantscope_original.pt");
    QFile::remove(copy);
    QVERIFY(QFile::copy(QString::fromStdString(fixture("mlp.pt")), copy));
    const QByteArray before = [&] {
      QFile f(copy);
      f.open(QIODevice::ReadOnly);
      return f.readAll();
    }();
    const Model model = Model::load(copy.toStdString());
    const auto outcome = QuantizationTechniques::dynamic_quantization(model);
    expectError([&] { outcome.model.save(copy.toStdString()); }, {"Refusing to overwrite"});
    expectError([&] { model.save(copy.toStdString()); }, {"Refusing to overwrite"});
    QFile f(copy);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), before);
    QFile::remove(copy);
  }
  void unwritableOutputIsAnError() {
    const Model model = Model::load(fixture("mlp.pt"));
    expectError([&] { model.save("/nonexistent-dir/out.pt"); }, {"Cannot write"});
  }
};

QTEST_GUILESS_MAIN(TestBadInputs)
#include "test_bad_inputs.moc"
