// The real main window, offscreen: open the demo, run, check the table and every chart's data, export,
// cancel mid-run, bad models, projects, Save As. The training techniques' charts: test_training_window.
#include <qcustomplot.h>

#include <QCheckBox>
#include <QFile>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "core/data/dataset.h"
#include "core/model/model.h"
#include "tests/test_support.h"
#include "tests/window_test_support.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"
#include "ui/panels/data_source_widget.h"
#include "ui/panels/technique_form.h"
#include "ui/run_controller.h"

using namespace quantscope;
using namespace quantscope::ui;
using quantscope::test::head;
using quantscope::test::setSpin;
using quantscope::test::waitIdle;

class TestMainWindow : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;

  MainWindow& window() { return *window_; }
  void runDemoOnce() {
    window().selectTechnique("dynamic");
    setSpin(window(), "benchRuns", 10);
    setSpin(window(), "warmup", 2);
    QTest::mouseClick(window().findChild<QPushButton*>("runButton"), Qt::LeftButton);
    QVERIFY(window().controller().busy());
    QVERIFY(waitIdle(window()));
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
  }

 private slots:
  void initTestCase() {
    window_ = test::openDemoWindow("QuantScopeTests");
    QVERIFY(waitIdle(window()));
    QVERIFY(window().model().has_value());
  }
  void demoLoadsWithLayerTable() {
    const QAbstractItemModel* layers = window().findChild<QTableView*>("layersTable")->model();
    QCOMPARE(layers->rowCount(), 8);  // conv1, bn1, conv2, bn2, conv3, bn3, fc1, fc2
    QCOMPARE(layers->index(6, 0).data().toString(), QString("fc1"));
    QVERIFY(layers->index(6, 5).data().toString().contains("dynamic"));
    QVERIFY(window().findChild<QLabel*>("runtimeStatus")->text().contains("engine onednn"));
  }
  void runFillsTableAndCharts() {
    runDemoOnce();
    RunsModel& runs = window().runs();
    QCOMPARE(runs.rowCount(), 1);
    const RunResult& r = runs.runs().front().result;
    QVERIFY(r.quantizedAccuracy.top1 >= 0.97);
    QCOMPARE(runs.cellText(0, RunsModel::Top1), QString("99.17 %"));
    QCOMPARE(runs.cellText(0, RunsModel::RecipeEngine), QString("fbgemm on onednn"));
    ChartPanel& charts = window().charts();
    // Size, accuracy, latency: an fp32 bar and one bar per run, holding the run's own numbers.
    for (auto chart : {ChartPanel::Size, ChartPanel::Accuracy, ChartPanel::Latency}) {
      QCustomPlot* plot = charts.plot(chart);
      auto* runBars = qobject_cast<QCPBars*>(plot->plottable(1));
      QVERIFY(runBars);
      QCOMPARE(runBars->dataCount(), 1);
    }
    auto bar = [&](ChartPanel::Chart c) {
      return qobject_cast<QCPBars*>(charts.plot(c)->plottable(1))->data()->at(0)->value;
    };
    QCOMPARE(bar(ChartPanel::Size), r.sizes.quantized.serializedBytes / 1024.0);
    QCOMPARE(bar(ChartPanel::Accuracy), r.quantizedAccuracy.top1 * 100);
    QCOMPARE(bar(ChartPanel::Latency), r.quantizedLatency.medianMs);
    QVERIFY(qobject_cast<QCPErrorBars*>(charts.plot(ChartPanel::Latency)->plottable(2)));  // p10-p90 whiskers
    for (auto chart : {ChartPanel::AccuracyVsSize, ChartPanel::AccuracyVsLatency}) {
      QCOMPARE(charts.plot(chart)->graph(0)->dataCount(), 2);   // fp32 and the run
      QVERIFY(charts.plot(chart)->graph(1)->dataCount() >= 1);  // the Pareto front
    }
    QCOMPARE(qobject_cast<QCPBars*>(charts.plot(ChartPanel::LayerSqnr)->plottable(0))->dataCount(),
             2);  // fc1, fc2
    QCOMPARE(charts.plot(ChartPanel::WeightHistogram)->graph(0)->dataCount(), 60);
    // The Ops tab: dynamic quantization runs the Linear layers int8 and the convolutions in float.
    const QAbstractItemModel* ops = window().findChild<QTableView*>("opsTable")->model();
    QVERIFY(ops->rowCount() >= 3);
    QStringList rows;
    for (int i = 0; i < ops->rowCount(); ++i)
      rows << ops->index(i, 0).data().toString() + "=" + ops->index(i, 1).data().toString();
    QVERIFY2(rows.contains("quantized::linear_dynamic=int8"), qPrintable(rows.join(", ")));
    QVERIFY2(rows.contains("aten::conv2d=float"), qPrintable(rows.join(", ")));
  }
  void secondRunAndComparison() {
    runDemoOnce();
    QCOMPARE(window().runs().rowCount(), 2);
    window().findChild<QTableView*>("runsTable")->selectAll();
    QVERIFY(window().comparisonText().contains("#2 dynamic:"));
    QVERIFY(window().comparisonText().contains("smaller"));
    QCOMPARE(qobject_cast<QCPBars*>(window().charts().plot(ChartPanel::Size)->plottable(1))->dataCount(), 2);
  }
  void exportsAreValidFiles() {
    const QString png = dir_.filePath("size.png"), jpg = dir_.filePath("size.jpg"),
                  pdf = dir_.filePath("size.pdf");
    window().exportChartTo(ChartPanel::Size, png, 1200, 800);
    window().exportChartTo(ChartPanel::Latency, jpg, 800, 600);
    window().exportChartTo(ChartPanel::AccuracyVsSize, pdf, 1200, 800);
    QCOMPARE(QImage(png).size(), QSize(1200, 800));
    QCOMPARE(QImage(jpg).size(), QSize(800, 600));
    QCOMPARE(head(pdf, 5), QByteArray("%PDF-"));
    const QString report = dir_.filePath("report.png"), reportPdf = dir_.filePath("report.pdf");
    window().exportReportPng(report);
    window().exportReportPdf(reportPdf);
    QCOMPARE(QImage(report).width(), 1800);
    QVERIFY(QImage(report).height() > 1000);
    QCOMPARE(head(reportPdf, 5), QByteArray("%PDF-"));
    QVERIFY(QFileInfo(reportPdf).size() > 20000);
    window().exportChartTo(ChartPanel::Size, dir_.filePath("chart.gif"), 100, 100);
    QVERIFY(window().errorText().contains(".png, .jpg or .pdf"));
  }
  void listAndLayerMapParametersHaveTheirOwnEditors() {
    window().selectTechnique("mixed");
    TechniqueForm& form = window().techniqueForm();
    // candidate_bits is a list of whole numbers 2..8: one check box per allowed bit-width.
    QWidget* bits = form.editor("candidate_bits");
    QVERIFY(bits);
    QCOMPARE(bits->findChildren<QCheckBox*>().size(), 7);
    QCOMPARE(form.values().at("candidate_bits"), std::string("4,8"));  // the default, checked
    bits->findChild<QCheckBox*>("item_3")->click();                    // as a user ticking it
    QCOMPARE(form.values().at("candidate_bits"), std::string("3,4,8"));
    form.setValues({{"candidate_bits", "2, 8"}});
    QCOMPARE(form.values().at("candidate_bits"), std::string("2,8"));
    QVERIFY(bits->toolTip().contains("Allowed: [2..8],..."));
    // layer_bits is a per-layer map: a line whose placeholder shows the form, checked by the registry.
    auto* layers = qobject_cast<QLineEdit*>(form.editor("layer_bits"));
    QVERIFY(layers);
    QVERIFY(layers->placeholderText().contains("layer=value"));
    layers->setText("conv1");
    QVERIFY(form.validate().contains("is not of the form layer=value"));
    layers->setText("conv1=float");
    QVERIFY2(form.validate().isEmpty(), qPrintable(form.validate()));
    form.setValues({{"candidate_bits", "4,8"}, {"layer_bits", ""}});
  }
  void mixedPrecisionNamesTheValidLayersForAnUnknownOne() {
    window().selectTechnique("mixed");
    window().techniqueForm().setValues({{"layer_bits", "nope=4"}});
    QTest::mouseClick(window().findChild<QPushButton*>("runButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(window().errorText().contains("no quantizable layer 'nope'"), 60000);
    QVERIFY(window().errorText().contains("conv1, conv2, conv3, fc1, fc2"));
    QTRY_VERIFY(!window().controller().busy());
    window().selectTechnique("dynamic");
  }
  void cancelMidRunStopsQuicklyAndKeepsRuns() {
    const int before = window().runs().rowCount();
    setSpin(window(), "benchRuns", 100000);
    window().runSelectedTechnique();
    QElapsedTimer clock;
    clock.start();
    auto* stage = window().findChild<QLabel*>("stage");
    while (!stage->text().contains("Benchmarking") && clock.elapsed() < 60000) QTest::qWait(20);
    QVERIFY(stage->text().contains("Benchmarking"));
    clock.restart();
    QTest::mouseClick(window().findChild<QPushButton*>("cancelButton"), Qt::LeftButton);
    QVERIFY(waitIdle(window(), 10000));
    // How fast is measured by bench_gui_stall (a busy machine would fail a timed test); here: it stops.
    qInfo("cancel took %lld ms", clock.elapsed());
    QCOMPARE(window().runs().rowCount(), before);
    QVERIFY(stage->text().contains("Cancelled"));
    setSpin(window(), "benchRuns", 10);
  }
  void corruptModelShowsAMessage() {
    const std::string before = window().model()->sourcePath();
    window().openModel(QString::fromStdString(test::fixture("truncated.pt")));
    QVERIFY(waitIdle(window()));
    QVERIFY(window().errorText().contains("damaged or truncated"));
    QCOMPARE(window().model()->sourcePath(), before);  // the loaded model is kept
    window().openModel(QString::fromStdString(test::fixture("state_dict.pt")));
    QVERIFY(waitIdle(window()));
    QVERIFY(window().errorText().contains("torch.jit.save"));
  }
  void saveAsWritesTheModelButNeverOverTheOriginal() {
    const QString out = dir_.filePath("digits_int8.pt");
    window().saveQuantizedModelTo(0, out);
    QVERIFY(window().errorText().isEmpty());
    QVERIFY(Model::load(out.toStdString()).inspect().quantized);
    window().saveQuantizedModelTo(0, QString::fromStdString(builtinDigitsModelPath()));
    QVERIFY(window().errorText().contains("Refusing to overwrite"));
  }
  void projectSavesAndReopens() {
    const QString path = dir_.filePath("session.qsproj");
    window().saveProjectTo(path);
    MainWindow reopened;
    reopened.openProject(path);
    QVERIFY(waitIdle(reopened));
    QVERIFY2(reopened.errorText().isEmpty(), qPrintable(reopened.errorText()));
    QCOMPARE(reopened.runs().rowCount(), window().runs().rowCount());
    for (int c = 0; c < RunsModel::ColumnCount; ++c)
      QCOMPARE(reopened.runs().cellText(1, c), window().runs().cellText(1, c));
    QCOMPARE(reopened.charts().plot(ChartPanel::LayerSqnr)->plottableCount(), 1);
    QVERIFY(reopened.model().has_value());
    reopened.openProject(QString::fromStdString(test::fixture("features.csv")));
    QVERIFY(reopened.errorText().contains("not a QuantScope project"));
  }
  void aFailedProjectLoadDoesNotShapeTheNextModel() {
    // A project whose model is broken: its input shape must not be applied to the model opened next.
    const QString path = dir_.filePath("broken_model.qsproj");
    window().saveProjectTo(path);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
    file.close();
    root["model_path"] = QString::fromStdString(test::fixture("truncated.pt"));
    root["input_shape"] = "7x7x7";
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(QJsonDocument(root).toJson());
    file.close();
    MainWindow other;
    other.openProject(path);
    QVERIFY(waitIdle(other));
    QVERIFY(other.errorText().contains("truncated"));
    other.openModel(QString::fromStdString(test::fixture("cnn_scripted.pt")));
    QVERIFY(waitIdle(other));
    QVERIFY2(other.errorText().isEmpty(), qPrintable(other.errorText()));
    auto* shape = other.findChild<QLineEdit*>("inputShape");
    QVERIFY(shape);
    QVERIFY2(shape->text() != "7x7x7", qPrintable(shape->text()));
  }
  void ownModelWithoutInputSpecAndOwnData() {
    MainWindow own;
    own.resize(1366, 768);
    own.show();
    own.openModel(QString::fromStdString(test::fixture("mlp_no_spec.pt")));
    QVERIFY(waitIdle(own));
    QVERIFY(own.errorText().contains("does not store its input shape"));
    own.selectTechnique("fx");
    own.findChild<DataSourceWidget*>("testData")
        ->setSource(QString::fromStdString(test::fixture("mlp_data.pt")));
    own.findChild<DataSourceWidget*>("calibrationData")
        ->setSource(QString::fromStdString(test::fixture("mlp_unlabelled.pt")));
    setSpin(own, "benchRuns", 5);
    // The Input field left empty: the run takes the test data's sample shape and says so.
    own.runSelectedTechnique();
    QVERIFY(waitIdle(own));
    QVERIFY2(own.errorText().isEmpty(), qPrintable(own.errorText()));
    QCOMPARE(own.findChild<QLineEdit*>("inputShape")->text(), QString("1x64"));
    QCOMPARE(own.runs().rowCount(), 1);
    const RunResult& r = own.runs().runs().front().result;
    QVERIFY(!r.notes.empty());
    QVERIFY2(QString::fromStdString(r.notes.front()).contains("no input spec: using 1x64 float32 from data"),
             r.notes.front().c_str());
    QCOMPARE(r.technique, std::string("fx"));
    QCOMPARE(r.datasetSize, 100);
    QVERIFY(r.fidelity.sqnrDb > 20.0);
    QCOMPARE(qobject_cast<QCPBars*>(own.charts().plot(ChartPanel::LayerSqnr)->plottable(0))->dataCount(), 3);
  }
  void fileParameterHasABrowseButtonAndPassesThePathThrough() {
    window().selectTechnique("distillation");
    TechniqueForm& form = window().techniqueForm();
    auto* student = window().findChild<QLineEdit*>("param_student");
    QVERIFY(student);
    QCOMPARE(form.editor("student"), static_cast<QWidget*>(student));
    auto* browse = window().findChild<QPushButton*>("browse_student");
    QVERIFY(browse);
    QCOMPARE(browse->text(), QString("Browse…"));
    QCOMPARE(form.values().at("student"), std::string());  // the default: a copy of the teacher
    QVERIFY2(form.validate().isEmpty(), qPrintable(form.validate()));
    const std::string path = test::fixture("mlp.pt");
    form.setValues({{"student", path}});
    QCOMPARE(student->text(), QString::fromStdString(path));
    QCOMPARE(form.values().at("student"), path);  // what RunRequest::params gets, unchanged
    QVERIFY2(form.validate().isEmpty(), qPrintable(form.validate()));
    student->setText(dir_.filePath("no_such_student.pt"));
    QVERIFY(form.validate().contains("does not exist"));
    window().selectTechnique("dynamic");
    QVERIFY(!window().findChild<QLineEdit*>("param_student"));
  }
  void invalidMeanIsRefusedWithAMessage() {
    const QString images = QString::fromStdString(test::fixture("images"));
    DataSourceWidget widget(false);
    widget.setSource(images);
    QCOMPARE(widget.kind(), DataSourceWidget::Kind::ImageFolder);
    auto* mean = widget.findChild<QLineEdit*>("mean");
    mean->setText("0.5, 0.25,0.125");
    QCOMPARE(widget.source().mean, (std::vector<double>{0.5, 0.25, 0.125}));
    mean->setText("0.5,abc");
    test::expectError([&] { widget.source(); },
                      {"Mean takes numbers separated by commas", "'abc' is not a number"});
    // In the window: nothing starts, the banner says which data and what is wrong.
    auto* testData = window().findChild<DataSourceWidget*>("testData");
    testData->setSource(images);
    testData->findChild<QLineEdit*>("std")->setText("abc");
    const int before = window().runs().rowCount();
    window().runSelectedTechnique();
    QVERIFY(!window().controller().busy());
    QVERIFY2(window().errorText().startsWith("Test data: Std takes numbers separated by commas, got 'abc'"),
             qPrintable(window().errorText()));
    QCOMPARE(window().runs().rowCount(), before);
    testData->findChild<QLineEdit*>("std")->clear();
    testData->setSource("digits:test");
  }
  // Last: its static run would change what the earlier cases see as the latest run.
  void accuracyStepsShowPerLayerInTheDetailsTab() {
    window().selectTechnique("static");
    window().techniqueForm().setValues({{"equalize", "true"}, {"bias_correction", "empirical"}});
    QTest::mouseClick(window().findChild<QPushButton*>("runButton"), Qt::LeftButton);
    QVERIFY(waitIdle(window()));
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    const QString details = window().runDetailsText();
    QVERIFY2(details.contains("Accuracy steps (output SQNR of the layer before -> after the step"),
             qPrintable(details));
    QVERIFY(details.contains("Bias correction (empirical):"));
    QVERIFY(details.contains("Cross-layer equalization:"));
    QVERIFY(details.contains(QRegularExpression("bias correction +conv1 +[0-9.]+ dB -> [0-9.]+ dB")));
    window().techniqueForm().setValues({{"equalize", "false"}, {"bias_correction", "off"}});
    window().selectTechnique("dynamic");
  }
  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
