// Cancel soak in the real main window, offscreen: runs of several techniques cancelled at seeded-random
// moments (a timer after a random delay, or after a random number of progress signals), and a model load
// cancelled as it starts. Each time the window is usable again (Run enabled, Cancel disabled, no error), the
// earlier runs in the table and the charts' data are unchanged, the loaded model is the same bytes, and the
// next uncancelled run of the technique gives the first uncancelled run's accuracy and agreement.
#include <qcustomplot.h>

#include <QApplication>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QTimer>
#include <QtTest>
#include <random>

#include "core/model/model.h"
#include "tests/test_support.h"
#include "tests/window_test_support.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"
#include "ui/panels/technique_form.h"
#include "ui/run_controller.h"

using namespace quantscope;
using namespace quantscope::ui;
using quantscope::test::setSpin;
using quantscope::test::waitIdle;

namespace {

struct TechniqueSetup {
  QString name;
  ParamValues params;
};

// Small settings keep each run to a few seconds; the training techniques train one short epoch.
const std::vector<TechniqueSetup> kTechniques = {
    {"dynamic", {}},
    {"static", {{"calib_samples", "128"}}},
    {"fx", {{"calib_samples", "128"}}},
    {"qat", {{"epochs", "1"}, {"train_samples", "320"}, {"freeze_bn_epoch", "0"}}},
    {"pruning", {{"finetune_epochs", "1"}, {"train_samples", "320"}}},
    {"mixed",
     {{"search", "accuracy"},
      {"candidate_bits", "4,8"},
      {"sensitivity_samples", "64"},
      {"max_evaluations", "6"}}},
};

// What the table shows, every cell of every run.
QStringList tableCells(const RunsModel& runs) {
  QStringList cells;
  for (int r = 0; r < runs.rowCount(); ++r) {
    for (int c = 0; c < RunsModel::ColumnCount; ++c) cells << runs.cellText(r, c);
  }
  return cells;
}

// The data behind the comparison charts: every bar and point of every plottable.
QStringList chartData(ChartPanel& charts) {
  QStringList data;
  for (auto chart : {ChartPanel::Size, ChartPanel::Accuracy, ChartPanel::Latency, ChartPanel::AccuracyVsSize,
                     ChartPanel::AccuracyVsLatency, ChartPanel::LayerSqnr}) {
    QCustomPlot* plot = charts.plot(chart);
    for (int i = 0; i < plot->plottableCount(); ++i) {
      QString line = QString("%1/%2:").arg(int(chart)).arg(i);
      if (auto* bars = qobject_cast<QCPBars*>(plot->plottable(i))) {
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
          line += QString(" %1=%2").arg(it->key, 0, 'g', 17).arg(it->value, 0, 'g', 17);
      } else if (auto* graph = qobject_cast<QCPGraph*>(plot->plottable(i))) {
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
          line += QString(" %1=%2").arg(it->key, 0, 'g', 17).arg(it->value, 0, 'g', 17);
      }
      data << line;
    }
  }
  return data;
}

}  // namespace

class TestWindowCancelSoak : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> window_;
  std::string modelBytes_;
  // The first uncancelled run of each technique: top-1 and agreement, exactly.
  std::map<QString, std::pair<double, double>> reference_;
  std::map<QString, int> progressSignals_;  // how many progress signals that run sent
  std::map<QString, qint64> durationMs_;

  MainWindow& window() { return *window_; }

  void configure(const TechniqueSetup& t) {
    window().selectTechnique(t.name);
    window().techniqueForm().setValues(t.params);
  }

  // Runs the selected technique uncancelled; returns its accuracy and agreement, and counts its signals.
  std::pair<double, double> runToEnd(int* signalCount = nullptr, qint64* ms = nullptr) {
    const int rowsBefore = window().runs().rowCount();
    int count = 0;
    auto connection = connect(&window().controller(), &RunController::progressChanged, this,
                              [&count](const QString&, double, qint64) { ++count; });
    QElapsedTimer clock;
    clock.start();
    window().runSelectedTechnique();
    const bool idle = waitIdle(window(), 300000);
    disconnect(connection);
    if (signalCount) *signalCount = count;
    if (ms) *ms = clock.elapsed();
    if (!idle || !window().errorText().isEmpty() || window().runs().rowCount() != rowsBefore + 1) {
      qWarning("run did not finish: %s", qPrintable(window().errorText()));
      return {-1, -1};
    }
    const RunResult& r = window().runs().runs().back().result;
    return {r.quantizedAccuracy.top1, r.fidelity.top1Agreement};
  }

 private slots:
  void initTestCase() {
    window_ = test::openDemoWindow("QuantScopeCancelSoakTests");
    QVERIFY(waitIdle(window()));
    QVERIFY(window().model().has_value());
    modelBytes_ = window().model()->serialize();
    setSpin(window(), "benchRuns", 10);
    setSpin(window(), "warmup", 2);
    for (const auto& t : kTechniques) {
      configure(t);
      int sent = 0;
      qint64 ms = 0;
      reference_[t.name] = runToEnd(&sent, &ms);
      QVERIFY2(reference_[t.name].first > 0.5, qPrintable(t.name));
      progressSignals_[t.name] = sent;
      durationMs_[t.name] = ms;
      qInfo("reference %s: top-1 %.4f, agreement %.4f, %d progress signals, %lld ms", qPrintable(t.name),
            reference_[t.name].first, reference_[t.name].second, sent, ms);
    }
  }

  void runsCancelledAtRandomMomentsLeaveTheWindowAsItWas() {
    std::mt19937 random(1129);
    auto* runButton = window().findChild<QPushButton*>("runButton");
    auto* cancelButton = window().findChild<QPushButton*>("cancelButton");
    auto* stage = window().findChild<QLabel*>("stage");
    int cancelled = 0, finishedFirst = 0, stoppedEarly = 0;
    constexpr int kCancels = 12;
    for (int i = 0; i < kCancels; ++i) {
      const TechniqueSetup& t = kTechniques[size_t(i) % kTechniques.size()];
      configure(t);
      const QStringList cellsBefore = tableCells(window().runs());
      const QStringList chartsBefore = chartData(window().charts());
      const int rowsBefore = window().runs().rowCount();

      // Half of the cancels come after a random number of progress signals, half after a random delay.
      QString how, where;
      int sent = 0;
      bool pressed = false;
      auto press = [&](const QString& stageText) {
        if (pressed || !window().controller().busy()) return;
        pressed = true;
        where = stageText;
        QTest::mouseClick(cancelButton, Qt::LeftButton);  // as the user does; Esc does the same
      };
      QMetaObject::Connection connection;
      QTimer timer;  // ends with this iteration, so a late one never fires into the next
      timer.setSingleShot(true);
      if (i % 2 == 0) {
        // Within the first 80 % of the reference run, so that most presses land before it ends.
        const int target = 1 + int(random() % uint32_t(std::max(1, progressSignals_[t.name] * 4 / 5)));
        how = QString("after %1 of %2 progress signals").arg(target).arg(progressSignals_[t.name]);
        connection = connect(&window().controller(), &RunController::progressChanged, this,
                             [&, target](const QString& s, double f) {
                               if (++sent == target) press(QString("%1 %2").arg(s).arg(f, 0, 'f', 3));
                             });
      } else {
        const int delay = int(random() % uint32_t(std::max<qint64>(1, durationMs_[t.name] * 4 / 5)));
        how = QString("after %1 of %2 ms").arg(delay).arg(durationMs_[t.name]);
        connect(&timer, &QTimer::timeout, this, [&] { press(stage->text()); });
        timer.start(delay);
      }
      window().runSelectedTechnique();
      QVERIFY(window().controller().busy());
      QVERIFY(waitIdle(window(), 300000));
      disconnect(connection);
      timer.stop();

      QString outcome;
      if (window().runs().rowCount() == rowsBefore) {
        ++cancelled;
        outcome = "cancelled";
        QVERIFY2(stage->text().contains("Cancelled"), qPrintable(stage->text()));
        QCOMPARE(tableCells(window().runs()), cellsBefore);
        QCOMPARE(chartData(window().charts()), chartsBefore);
      } else {
        // The run ended before the cancel was seen, or a search kept its best configuration: a real run,
        // added after the earlier ones, which stay as they were.
        QCOMPARE(window().runs().rowCount(), rowsBefore + 1);
        QCOMPARE(tableCells(window().runs()).mid(0, cellsBefore.size()), cellsBefore);
        const RunResult& r = window().runs().runs().back().result;
        if (!r.mixedPrecision.stoppedEarly.empty()) {
          ++stoppedEarly;
          outcome = "stopped early: " + QString::fromStdString(r.mixedPrecision.stoppedEarly);
        } else {
          ++finishedFirst;
          outcome = pressed ? "finished before the cancel was seen" : "finished before the cancel moment";
        }
      }
      qInfo("cancel %2d/%d: %-8s %s, at '%s' -> %s", i + 1, kCancels, qPrintable(t.name), qPrintable(how),
            qPrintable(where), qPrintable(outcome));
      // Usable: Run enabled, Cancel disabled, no error shown; the model is the same bytes.
      QVERIFY(runButton->isEnabled());
      QVERIFY(!cancelButton->isEnabled());
      QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
      QVERIFY(!QApplication::activeModalWidget());  // the cancel is told in the stage line, not a dialog
      QVERIFY(window().model()->serialize() == modelBytes_);

      // The next uncancelled run gives the first run's figures.
      const auto again = runToEnd();
      QCOMPARE(again.first, reference_[t.name].first);
      QCOMPARE(again.second, reference_[t.name].second);
    }
    qInfo("%d cancelled, %d stopped early with a kept result, %d finished first", cancelled, stoppedEarly,
          finishedFirst);
    QVERIFY(cancelled >= kCancels / 2);
  }

  void aLoadCancelledAsItStartsKeepsTheModelAndRuns() {
    // Model::load reports no progress, so a load is cancelled only before it begins; either way the window's
    // model and runs stay (a finished load of the same file keeps the runs, as File > Open does).
    const QStringList cellsBefore = tableCells(window().runs());
    window().openDemo();
    window().cancelRun();
    QVERIFY(waitIdle(window()));
    qInfo("load: %s", qPrintable(window().findChild<QLabel*>("stage")->text()));
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    QVERIFY(window().model().has_value());
    QVERIFY(window().model()->serialize() == modelBytes_);
    QCOMPARE(tableCells(window().runs()), cellsBefore);
    QVERIFY(window().findChild<QPushButton*>("runButton")->isEnabled());
    configure(kTechniques.front());
    const auto again = runToEnd();
    QCOMPARE(again.first, reference_["dynamic"].first);
  }
};

QTEST_MAIN(TestWindowCancelSoak)
#include "test_window_cancel_soak.moc"
