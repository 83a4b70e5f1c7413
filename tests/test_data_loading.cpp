// Data sources: the built-in digits with its fixed split, image folders, tensor files and CSV files.
#include <QtTest>

#include "core/data/dataset.h"
#include "core/model/model.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;

class TestDataLoading : public QObject {
  Q_OBJECT
 private slots:
  void builtinDigitsSplit() {
    const Dataset test = Dataset::load(DataSource{"digits"});
    QCOMPARE(test.info().size, 360);  // every 5th of 1797 samples
    QCOMPARE(test.info().sampleShape, (std::vector<int64_t>{1, 8, 8}));
    QCOMPARE(test.info().numClasses, 10);
    QCOMPARE(Dataset::load(DataSource{"digits:train"}).info().size, 1437);
    QCOMPARE(Dataset::load(DataSource{"digits:all"}).info().size, 1797);
    // The first sample of the file (index 0, a test sample) is a 0.
    QCOMPARE(test.labels().front(), 0);
    test.checkFits(Model::load(builtinDigitsModelPath()));
  }
  void tensorFile() {
    const Dataset data = Dataset::load(DataSource{fixture("mlp_data.pt")});
    QCOMPARE(data.info().size, 100);
    QCOMPARE(data.info().sampleShape, (std::vector<int64_t>{64}));
    QVERIFY(data.info().labelled);
    data.checkFits(Model::load(fixture("mlp.pt")));
    QVERIFY(!Dataset::load(DataSource{fixture("mlp_unlabelled.pt")}).info().labelled);
    QVERIFY(!Dataset::load(DataSource{fixture("mlp_y_none.pt")}).info().labelled);
    QCOMPARE(Dataset::load(DataSource{fixture("mlp_y_none.pt")}).info().size, 100);
    DataSource unlabelled{fixture("mlp_data.pt")};
    unlabelled.unlabelled = true;
    unlabelled.maxSamples = 7;
    const Dataset head = Dataset::load(unlabelled);
    QVERIFY(!head.info().labelled);
    QCOMPARE(head.info().size, 7);
  }
  void csvWithHeaderAndLabelColumn() {
    const Dataset data = Dataset::load(DataSource{fixture("features.csv")});
    QCOMPARE(data.info().size, 30);
    QCOMPARE(data.info().sampleShape, (std::vector<int64_t>{64}));
    QVERIFY(data.info().labelled);
    // Same rows as the tensor file, so the same labels.
    const auto fromTensorFile = Dataset::load(DataSource{fixture("mlp_data.pt")}).head(30).labels();
    QCOMPARE(data.labels(), fromTensorFile);
    DataSource byIndex{fixture("features.csv")};
    byIndex.labelColumn = "64";
    QCOMPARE(Dataset::load(byIndex).labels(), fromTensorFile);
    const Dataset noHeader = Dataset::load(DataSource{fixture("features_no_header.csv")});
    QVERIFY(!noHeader.info().labelled);
    QCOMPARE(noHeader.info().sampleShape, (std::vector<int64_t>{64}));
  }
  void flatRowsTakeTheModelsSampleShape() {
    // 64 CSV columns for a model taking 1x8x8: reshaped row-major, and said so.
    const Model digits = Model::load(builtinDigitsModelPath());
    const Dataset data = Dataset::load(DataSource{fixture("features.csv")}, digits.inputSpec());
    QCOMPARE(data.info().sampleShape, (std::vector<int64_t>{1, 8, 8}));
    QCOMPARE(data.info().notes.size(), size_t(1));
    QVERIFY2(
        QString::fromStdString(data.info().notes.front()).contains("64 values reshaped row-major to 1x8x8"),
        data.info().notes.front().c_str());
    data.checkFits(digits);
    QCOMPARE(data.head(3).info().notes, data.info().notes);  // subsets keep what loading said
    // A real mismatch is not reshaped: 64 values cannot be 1x4x4, and the error names both shapes.
    const Dataset mismatch = Dataset::load(DataSource{fixture("features.csv")}, InputSpec::parse("1x1x4x4"));
    QCOMPARE(mismatch.info().sampleShape, (std::vector<int64_t>{64}));
    QVERIFY(mismatch.info().notes.empty());
    // Samples with a shape of their own keep it (same count, possibly another layout).
    const Dataset images = Dataset::load(DataSource{"digits"}, InputSpec::parse("1x64"));
    QCOMPARE(images.info().sampleShape, (std::vector<int64_t>{1, 8, 8}));
  }
  void modelWithoutSpecAdoptsTheDatas() {
    Model model = Model::load(fixture("mlp_no_spec.pt"));
    const Dataset data = Dataset::load(DataSource{fixture("mlp_data.pt")}, model.inputSpec());
    QCOMPARE(data.sampleInputSpec(), InputSpec::parse("1x64"));
    const std::string note = adoptInputSpecFromData(model, data);
    QVERIFY2(note.find("no input spec: using 1x64 float32") != std::string::npos, note.c_str());
    QCOMPARE(*model.inputSpec(), InputSpec::parse("1x64"));
    data.checkFits(model);
    QVERIFY(adoptInputSpecFromData(model, data).empty());  // a model with a spec keeps it
  }
  void imageFolder() {
    DataSource source{fixture("images")};
    const Dataset gray = Dataset::load(source, InputSpec::parse("1x1x8x8"));
    QCOMPARE(gray.info().size, 12);
    QCOMPARE(gray.info().sampleShape, (std::vector<int64_t>{1, 8, 8}));
    QCOMPARE(gray.info().numClasses, 3);  // circle, square, stripe in alphabetical order
    QCOMPARE(gray.labels().front(), 0);
    QCOMPARE(gray.labels().back(), 2);
    source.channels = 3;
    source.imageHeight = 16;
    source.imageWidth = 16;
    source.mean = {0.5, 0.5, 0.5};
    source.std = {0.25};
    const Dataset rgb = Dataset::load(source);
    QCOMPARE(rgb.info().sampleShape, (std::vector<int64_t>{3, 16, 16}));
    rgb.checkFits(Model::load(fixture("cnn_scripted.pt")));
  }
};

QTEST_GUILESS_MAIN(TestDataLoading)
#include "test_data_loading.moc"
