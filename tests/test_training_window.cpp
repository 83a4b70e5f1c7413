// The training techniques in the real window, offscreen: training points from a worker reach the live
// Training chart in batches, the Training and Technique figures charts show the selected run, export, CSV,
// projects, and a real QAT run that trains live.
#include <qcustomplot.h>

#include <QFile>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <thread>

#include "core/data/dataset.h"
#include "tests/test_support.h"
#include "tests/window_test_support.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"
#include "ui/panels/technique_form.h"
#include "ui/run_controller.h"
#include "ui/training_relay.h"

using namespace quantscope;
using namespace quantscope::ui;
using quantscope::test::head;
using quantscope::test::setSpin;
using quantscope::test::waitIdle;

class TestTrainingWindow : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;

  MainWindow& window() { return *window_; }

 private slots:
  void initTestCase() {
    window_ = test::openDemoWindow("QuantScopeTrainingWindowTests");
    QVERIFY(waitIdle(window()));
    // One run that does not train, for the charts' "no training curve" case.
    window().selectTechnique("dynamic");
    setSpin(window(), "benchRuns", 10);
    setSpin(window(), "warmup", 2);
    window().runSelectedTechnique();
    QVERIFY(waitIdle(window()));
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
  }
  void trainingPointsReachTheGuiThreadThrottled() {
    // Worker-thread points travel through the relay to a live chart: all of them, in order, in batches at
    // most ~10 times a second, and the GUI thread keeps running meanwhile.
    TrainingPointRelay relay(100);
    ChartPanel panel;
    int deliveries = 0;
    connect(&relay, &TrainingPointRelay::pointsArrived, &panel,
            [&](const std::vector<TrainingPoint>& points) {
              ++deliveries;
              panel.appendLiveTraining(points);
            });
    panel.beginLiveTraining("#7 qat");
    QCOMPARE(panel.currentIndex(), int(ChartPanel::Training));
    constexpr int kSteps = 20000, kPerEpoch = 2000;
    QElapsedTimer clock;
    clock.start();
    std::thread worker([&relay] {
      for (int step = 1; step <= kSteps; ++step) {
        TrainingPoint p;
        p.series = "qat";
        p.epoch = (step - 1) / kPerEpoch;
        p.step = step;
        p.loss = 1.0 / step;
        relay.push(p);
        if (step % kPerEpoch == 0) {
          p.endOfEpoch = true;
          p.trainAccuracy = 90.0 + p.epoch * 0.5;
          relay.push(p);
          std::this_thread::sleep_for(std::chrono::milliseconds(40));  // an epoch's validation
        }
      }
    });
    qint64 longestGap = 0;
    QElapsedTimer gap;
    gap.start();
    while (panel.liveCurve().size() < size_t(kSteps + kSteps / kPerEpoch) && clock.elapsed() < 20000) {
      QTest::qWait(5);
      longestGap = std::max(longestGap, gap.restart());
    }
    worker.join();
    const qint64 elapsed = clock.elapsed();
    qInfo("%d deliveries of %zu points in %lld ms; longest GUI-thread gap %lld ms", deliveries,
          panel.liveCurve().size(), elapsed, longestGap);
    QCOMPARE(panel.liveCurve().size(), size_t(kSteps + kSteps / kPerEpoch));
    for (size_t i = 1; i < panel.liveCurve().size(); ++i)
      QVERIFY(panel.liveCurve()[i].step >= panel.liveCurve()[i - 1].step);
    QVERIFY2(deliveries >= 2, "points arrive while training, not only at the end");
    // Points arrive in batches, not one delivery per point; the GUI stall itself is measured by
    // bench_gui_stall, not asserted here.
    QVERIFY2(deliveries < int(panel.liveCurve().size()) / 10,
             qPrintable(QString("%1 deliveries in %2 ms").arg(deliveries).arg(elapsed)));
    QCustomPlot* plot = panel.plot(ChartPanel::Training);
    QCOMPARE(plot->graph(0)->name(), QString("qat: step loss"));
    QCOMPARE(plot->graph(0)->dataCount(), kSteps);
    QCOMPARE(plot->graph(1)->dataCount(), kSteps / kPerEpoch);  // epoch loss
    QCOMPARE(plot->graph(2)->data()->at(9)->value, 94.5);       // train accuracy, right axis
    QCOMPARE(plot->graph(2)->valueAxis(), plot->yAxis2);
    QVERIFY(plot->xAxis->label().contains("training now"));
    // A run that stops early keeps its partial curve on screen, marked.
    panel.endLiveTraining(/*finished=*/false);
    QVERIFY(!panel.liveTraining());
    QCOMPARE(plot->graph(0)->dataCount(), kSteps);
    QVERIFY(plot->xAxis->label().contains("stopped before the end"));
    // ... and one that stops before its first step says so instead of waiting forever.
    panel.beginLiveTraining("#8 qat");
    QVERIFY(
        qobject_cast<QCPItemText*>(plot->item(0))->text().contains("waiting for the first training step"));
    panel.endLiveTraining(/*finished=*/false);
    QCOMPARE(plot->graphCount(), 0);
    QVERIFY(qobject_cast<QCPItemText*>(plot->item(0))
                ->text()
                .contains("#8 qat stopped before its first training step"));
  }
  void trainingAndFigureChartsShowTheSelectedRun() {
    RunEntry entry;
    entry.id = 90;
    entry.result.technique = "distillation";
    for (const char* series : {"with distillation", "without distillation"}) {
      int64_t step = 0;
      for (int epoch = 0; epoch < 3; ++epoch) {
        for (int i = 0; i < 4; ++i) {
          TrainingPoint p;
          p.series = series;
          p.epoch = epoch;
          p.step = ++step;
          p.loss = 1.0 / double(step);
          entry.result.trainingCurve.push_back(p);
        }
        TrainingPoint end;
        end.series = series;
        end.epoch = epoch;
        end.step = step;
        end.endOfEpoch = true;
        end.loss = 0.5 / (epoch + 1);
        end.trainAccuracy = 90 + epoch;
        end.validationAccuracy = 91 + epoch;
        end.elapsedSeconds = epoch + 1;
        entry.result.trainingCurve.push_back(end);
      }
    }
    entry.result.figures = {{"distillation", "student with distillation", 93.0, "%"},
                            {"distillation", "student without distillation", 92.0, "%"},
                            {"distillation", "teacher", 99.0, "%"},
                            {"student", "parameter bytes", 4096, "B"}};
    LayerQuantization pruned;
    pruned.layer = "fc1";
    pruned.sparsity = 0.5;
    pruned.int8Sparsity = 0.55;
    pruned.channelsRemoved = 4;
    LayerQuantization dense;
    dense.layer = "fc2";
    entry.result.layers = {pruned, dense};
    window().runs().add(entry);
    auto* table = window().findChild<QTableView*>("runsTable");
    table->clearSelection();
    table->selectRow(window().runs().rowCount() - 1);

    QCustomPlot* plot = window().charts().plot(ChartPanel::Training);
    auto graph = [plot](const QString& name) -> QCPGraph* {
      for (int i = 0; i < plot->graphCount(); ++i) {
        if (plot->graph(i)->name() == name) return plot->graph(i);
      }
      return nullptr;
    };
    QCOMPARE(plot->graphCount(), 8);  // per series: step loss, epoch loss, train and validation accuracy
    QCPGraph* steps = graph("with distillation: step loss");
    QVERIFY(steps);
    QCOMPARE(steps->dataCount(), 12);
    QCOMPARE(steps->data()->at(11)->value, 1.0 / 12);
    QCPGraph* loss = graph("without distillation: epoch loss");
    QVERIFY(loss);
    QCOMPARE(loss->dataCount(), 3);
    QCOMPARE(loss->data()->at(2)->key, 12.0);
    QCOMPARE(loss->data()->at(2)->value, 0.5 / 3);
    QCPGraph* validation = graph("with distillation: validation accuracy");
    QVERIFY(validation);
    QCOMPARE(validation->valueAxis(), plot->yAxis2);
    QCOMPARE(validation->data()->at(0)->value, 91.0);
    QVERIFY(plot->yAxis2->visible());
    QVERIFY(!graph("with distillation: validation agreement"));  // not measured: not drawn
    QVERIFY(plot->xAxis2->visible());                            // epoch ends marked on top

    QCustomPlot* figures = window().charts().plot(ChartPanel::TechniqueFigures);
    QCOMPARE(figures->axisRectCount(), 3);  // %, B, and per-layer sparsity
    auto bars = [figures](const QString& name) -> QCPBars* {
      for (int i = 0; i < figures->plottableCount(); ++i) {
        if (figures->plottable(i)->name() == name) return qobject_cast<QCPBars*>(figures->plottable(i));
      }
      return nullptr;
    };
    QCPBars* distillation = bars("distillation");
    QVERIFY(distillation);
    QCOMPARE(distillation->dataCount(), 3);
    QCOMPARE(distillation->data()->at(0)->value, 93.0);
    QCOMPARE(distillation->data()->at(2)->value, 99.0);
    QCOMPARE(bars("student")->data()->at(0)->value, 4096.0);
    QCOMPARE(bars("student")->keyAxis()->axisRect(), figures->axisRect(1));
    QCOMPARE(bars("fp32 weights = 0")->dataCount(), 1);  // fc2 has no measured sparsity
    QCOMPARE(bars("fp32 weights = 0")->data()->at(0)->value, 50.0);
    QCOMPARE(bars("int8 weights = zero point")->data()->at(0)->value, 55.0);
    // Horizontal bars: one row per figure, named on the left, its value with its unit at the bar's end.
    QCOMPARE(distillation->keyAxis()->orientation(), Qt::Vertical);
    auto rowLabels = [](QCPBars* b) {
      return qSharedPointerCast<QCPAxisTickerText>(b->keyAxis()->ticker())->ticks().values();
    };
    QVERIFY(rowLabels(distillation).contains("student without distillation"));
    QCOMPARE(rowLabels(bars("fp32 weights = 0")), QStringList({"fc1 (4 ch. removed)"}));
    QCOMPARE(bars("student")->valueAxis()->label(), QString("size (KiB)"));  // bytes as KiB
    // All three percentages above 80 %: the axis zooms in, and says so.
    QCOMPARE(distillation->valueAxis()->label(), QString("percent (%), axis from 80"));
    QStringList valueLabels;
    for (int i = 0; i < figures->itemCount(); ++i) {
      if (auto* text = qobject_cast<QCPItemText*>(figures->item(i))) valueLabels << text->text();
    }
    for (const char* label : {"93.0 %", "92.0 %", "99.0 %", "4.0 KiB", "50.0 %", "55.0 %"}) {
      QVERIFY2(valueLabels.contains(label), qPrintable(valueLabels.join(", ")));
    }

    // Exported like every other chart.
    const QString png = dir_.filePath("training.png"), pdf = dir_.filePath("figures.pdf");
    window().exportChartTo(ChartPanel::Training, png, 1000, 600);
    window().exportChartTo(ChartPanel::TechniqueFigures, pdf, 1000, 900);
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    QCOMPARE(QImage(png).size(), QSize(1000, 600));
    QCOMPARE(head(pdf, 5), QByteArray("%PDF-"));

    // The curve as CSV: a header and one row per point.
    const QString csv = dir_.filePath("curves.csv");
    window().exportTrainingCurvesTo(csv);
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    QFile file(csv);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(file.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 30);
    QVERIFY(lines[0].startsWith("run,technique,series,epoch,step,end_of_epoch,loss"));
    QVERIFY2(
        lines.contains("#90,\"distillation\",\"without distillation\",3,12,1,0.16666666666666666,0,92,93,,3"),
        qPrintable(lines.join('\n')));

    // A project keeps the curve and figures: the reopened window draws the same chart.
    const QString project = dir_.filePath("training.qsproj");
    window().saveProjectTo(project);
    MainWindow reopened;
    reopened.openProject(project);
    QVERIFY(waitIdle(reopened));
    QCustomPlot* again = reopened.charts().plot(ChartPanel::Training);
    QCOMPARE(again->graphCount(), 8);
    QCOMPARE(again->graph(1)->data()->at(2)->value, plot->graph(1)->data()->at(2)->value);
    QCOMPARE(reopened.charts().plot(ChartPanel::TechniqueFigures)->axisRectCount(), 3);

    // A run that does not train says so instead of drawing an empty chart.
    table->clearSelection();
    table->selectRow(0);
    QCOMPARE(plot->graphCount(), 0);
    QCOMPARE(plot->itemCount(), 1);
    QVERIFY(qobject_cast<QCPItemText*>(plot->item(0))->text().contains("has no training curve"));
    QCOMPARE(figures->axisRectCount(), 1);
  }
  void manyFigureRowsScrollInsteadOfSquashing() {
    RunEntry entry;
    entry.id = 91;
    entry.result.technique = "pruning";
    for (int i = 0; i < 40; ++i) {
      LayerQuantization layer;
      layer.layer = "conv" + std::to_string(i);
      layer.sparsity = 0.5;
      layer.int8Sparsity = 0.5;
      entry.result.layers.push_back(layer);
    }
    ChartPanel panel;
    panel.resize(1000, 400);
    panel.setCurrentIndex(ChartPanel::TechniqueFigures);
    panel.show();
    panel.showRuns({entry}, 0, {});
    QCustomPlot* figures = panel.plot(ChartPanel::TechniqueFigures);
    QCOMPARE(figures->plottableCount(), 2);
    QVERIFY2(figures->minimumHeight() >= 40 * 12, qPrintable(QString::number(figures->minimumHeight())));
    auto* scroll = qobject_cast<QScrollArea*>(panel.currentWidget());
    QVERIFY(scroll);
    QTRY_VERIFY(scroll->verticalScrollBar()->maximum() > 0);
    // A run with fewer rows gives the room back.
    panel.showRuns({}, -1, {});
    QCOMPARE(figures->minimumHeight(), 220);
  }
  void trainingCurveExportNeedsACurve() {
    MainWindow empty;
    empty.exportTrainingCurvesTo(dir_.filePath("none.csv"));
    QVERIFY(empty.errorText().contains("No run has a training curve"));
    QVERIFY(!QFile::exists(dir_.filePath("none.csv")));
  }
  void qatRunTrainsLiveAndKeepsItsCurve() {
    const int before = window().runs().rowCount();
    window().selectTechnique("qat");
    window().techniqueForm().setValues({{"epochs", "2"}, {"train_samples", "320"}, {"freeze_bn_epoch", "1"}});
    setSpin(window(), "benchRuns", 10);
    window().runSelectedTechnique();
    QVERIFY2(window().controller().busy(), qPrintable(window().errorText()));
    // While it trains, the Training chart fills from the worker's points (the GUI thread keeps running).
    QCustomPlot* plot = window().charts().plot(ChartPanel::Training);
    QElapsedTimer clock;
    clock.start();
    bool sawLivePoints = false;
    while (window().controller().busy() && clock.elapsed() < 120000) {
      sawLivePoints |=
          window().charts().liveTraining() && plot->graphCount() > 0 && plot->graph(0)->dataCount() > 0;
      QTest::qWait(10);
    }
    QVERIFY(waitIdle(window()));
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    QVERIFY(sawLivePoints);
    QCOMPARE(window().runs().rowCount(), before + 1);
    const RunResult& r = window().runs().runs().back().result;
    QVERIFY(r.technique == "qat");
    int epochs = 0;
    for (const auto& p : r.trainingCurve) epochs += p.endOfEpoch ? 1 : 0;
    QCOMPARE(epochs, 2);
    QVERIFY(r.quantizedAccuracy.top1 > 0.95);
    window().selectTechnique("dynamic");
  }
  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestTrainingWindow)
#include "test_training_window.moc"
