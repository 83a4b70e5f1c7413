// File > Import results, offscreen: a real sweep (quantscope-cli sweep, one child process per job) writes
// a results folder; the window imports it into the runs table and every chart, lists the files that are
// not results, and adds nothing twice when the folder is imported again.
#include <qcustomplot.h>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QSettings>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "core/data/dataset.h"
#include "core/results/project_file.h"
#include "core/results/results_folder.h"
#include "core/results/run_result_json.h"
#include "tests/test_support.h"
#include "tests/window_test_support.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"

using namespace quantscope;
using namespace quantscope::ui;

class TestImportResults : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  QString results_;
  std::unique_ptr<MainWindow> window_;

  static double barValue(MainWindow& window, ChartPanel::Chart chart, int index) {
    return qobject_cast<QCPBars*>(window.charts().plot(chart)->plottable(1))->data()->at(index)->value;
  }

 private slots:
  void initTestCase() {
    QCoreApplication::setOrganizationName("QuantScopeTests");
    QSettings().clear();
    QVERIFY(dir_.isValid());
    // The sweep: dynamic and static on the digits demo, measured on the test split.
    QFile jobs(dir_.filePath("jobs.json"));
    QVERIFY(jobs.open(QIODevice::WriteOnly));
    jobs.write(QString(R"({"grid": {"model": "%1", "technique": ["dynamic", "static"],
                        "data": "digits", "calib_data": "digits:train"}})")
                   .arg(QString::fromStdString(builtinDigitsModelPath()))
                   .toUtf8());
    jobs.close();
    results_ = dir_.filePath("results");
    QProcess sweep;
    sweep.setProcessChannelMode(QProcess::MergedChannels);
    sweep.start(qEnvironmentVariable("QUANTSCOPE_CLI"), {"sweep", jobs.fileName(), "-o", results_});
    QVERIFY(sweep.waitForFinished(300000));
    const QByteArray output = sweep.readAll();
    QVERIFY2(sweep.exitCode() == 0, output.constData());
    QVERIFY2(output.contains("2 jobs: 2 ran, 0 skipped (result exists), 0 failed."), output.constData());
    QCOMPARE(QDir(results_).entryList(QDir::Files).size(), 2);
    // Beside the results: files that are not results, which the import must list and skip.
    QFile notes(results_ + "/notes.txt");
    QVERIFY(notes.open(QIODevice::WriteOnly));
    notes.write("sweep of 2024-01-01\n");
    notes.close();
    QFile broken(results_ + "/broken.json");
    QVERIFY(broken.open(QIODevice::WriteOnly));
    broken.write("{\"technique\": ");
    broken.close();

    window_ = std::make_unique<MainWindow>();
    window_->resize(1366, 768);
    window_->show();
  }

  void importFillsTableAndCharts() {
    MainWindow& window = *window_;
    window.importResults(results_);
    RunsModel& runs = window.runs();
    QCOMPARE(runs.rowCount(), 2);
    // Files in name order: dynamic-... before static-...
    QCOMPARE(runs.cellText(0, RunsModel::Technique), QString("dynamic"));
    QCOMPARE(runs.cellText(1, RunsModel::Technique), QString("static"));
    QCOMPARE(runs.runs()[0].id, 1);
    QCOMPARE(runs.runs()[1].id, 2);
    const ResultsFolder folder = loadResultsFolder(results_);
    QCOMPARE(int(folder.runs.size()), 2);
    for (int row = 0; row < 2; ++row) {
      const RunResult& shown = runs.runs()[size_t(row)].result;
      const RunResult& file = folder.runs[size_t(row)].result;
      QVERIFY(shown.quantizedAccuracy.available);
      QCOMPARE(shown.quantizedAccuracy.samples, int64_t(360));
      QVERIFY(shown.quantizedAccuracy.top1 > 0.95);
      QCOMPARE(shown.quantizedAccuracy.top1, file.quantizedAccuracy.top1);
      QVERIFY(!runs.cellText(row, RunsModel::Top1).isEmpty());
      QVERIFY(shown.quantizedLatency.medianMs > 0);
      // Every chart shows the imported numbers: a bar per run beside fp32's.
      for (auto chart : {ChartPanel::Size, ChartPanel::Accuracy, ChartPanel::Latency})
        QCOMPARE(qobject_cast<QCPBars*>(window.charts().plot(chart)->plottable(1))->dataCount(), 2);
      QCOMPARE(barValue(window, ChartPanel::Size, row), file.sizes.quantized.serializedBytes / 1024.0);
      QCOMPARE(barValue(window, ChartPanel::Accuracy, row), file.quantizedAccuracy.top1 * 100);
      QCOMPARE(barValue(window, ChartPanel::Latency, row), file.quantizedLatency.medianMs);
    }
    for (auto chart : {ChartPanel::AccuracyVsSize, ChartPanel::AccuracyVsLatency})
      QCOMPARE(window.charts().plot(chart)->graph(0)->dataCount(), 3);  // fp32 and the two runs
    // The selected (last) run's per-layer charts: static quantizes all five conv/linear layers.
    QCOMPARE(qobject_cast<QCPBars*>(window.charts().plot(ChartPanel::LayerSqnr)->plottable(0))->dataCount(),
             5);
    // The two files that are not results are named, with the reason, and nothing else is an error.
    const QString message = window.errorText();
    QVERIFY2(message.contains("Imported 2 runs from results"), qPrintable(message));
    QVERIFY2(message.contains("Skipped 2 files"), qPrintable(message));
    QVERIFY2(message.contains("notes.txt: It is not a QuantScope results file"), qPrintable(message));
    QVERIFY2(message.contains("broken.json: It is not a QuantScope results file"), qPrintable(message));
    // Imported runs compare like local ones.
    window.findChild<QTableView*>("runsTable")->selectAll();
    QVERIFY(window.comparisonText().contains("#2 static:"));
  }

  void importingAgainAddsNothing() {
    MainWindow& window = *window_;
    window.importResults(results_);
    QCOMPARE(window.runs().rowCount(), 2);
    QVERIFY2(
        window.errorText().contains("Imported 0 runs from results; 2 already in the table, not added again"),
        qPrintable(window.errorText()));
    QCOMPARE(qobject_cast<QCPBars*>(window.charts().plot(ChartPanel::Size)->plottable(1))->dataCount(), 2);
  }

  void aNewResultIsAddedAlone() {
    // The same runs exported as one runs JSON into another folder, plus a new measurement of a job: only
    // the new one is added.
    MainWindow& window = *window_;
    QDir().mkpath(dir_.filePath("more"));
    const std::vector<ProjectRun> runs =
        loadRuns(results_ + "/" + QDir(results_).entryList({"static-*"}).front());
    RunResult again = runs.front().result;
    again.finishedAt = "2030-01-01T00:00:00Z";  // a later run of the same job
    again.quantizedLatency.medianMs *= 1.5;
    QJsonArray array{toJson(runs.front().result), toJson(again)};
    writeJsonFile(QJsonDocument(array), dir_.filePath("more/runs.json"), "runs");
    window.importResults(dir_.filePath("more"));
    QCOMPARE(window.runs().rowCount(), 3);
    QCOMPARE(window.runs().runs()[2].id, 3);
    QCOMPARE(window.runs().runs()[2].result.finishedAt, std::string("2030-01-01T00:00:00Z"));
    QVERIFY(window.errorText().isEmpty());  // nothing skipped
  }

  void badFoldersGiveClearMessages() {
    MainWindow& window = *window_;
    window.importResults(dir_.filePath("no-such-folder"));
    QVERIFY2(window.errorText().contains("is not a folder"), qPrintable(window.errorText()));
    QDir().mkpath(dir_.filePath("empty"));
    window.importResults(dir_.filePath("empty"));
    QVERIFY2(window.errorText().contains("holds no result files"), qPrintable(window.errorText()));
    QCOMPARE(window.runs().rowCount(), 3);
  }
};

QTEST_MAIN(TestImportResults)
#include "test_import_results.moc"
