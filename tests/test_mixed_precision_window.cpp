// Mixed precision in the real window, offscreen: a synthetic run's sensitivity heat map and search scatter
// (Pareto front, pick, float metric, budget), the Layers table's Bits column, export and projects.
#include <qcustomplot.h>

#include <QImage>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "tests/window_test_support.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"

using namespace quantscope;
using namespace quantscope::ui;
using quantscope::test::head;
using quantscope::test::waitIdle;

namespace {

const char* kLayers[] = {"conv1", "conv2", "conv3", "fc1", "fc2"};

// The demo model's five quantizable layers at 4 and 8 bits, six configurations of an accuracy search.
RunEntry mixedRun(int id) {
  RunEntry entry;
  entry.id = id;
  entry.result.technique = "mixed";
  MixedPrecisionReport& m = entry.result.mixedPrecision;
  m.metricName = "top-1 accuracy";
  m.floatMetric = 98.5;
  m.samples = 720;
  m.search = "accuracy";
  m.budget = "max_acc_drop=1 pt";
  for (int i = 0; i < 5; ++i) {
    for (const char* bits : {"8", "4"}) {  // 8 first: the chart orders the bits itself
      SensitivityRow row;
      row.layer = kLayers[i];
      row.bits = bits;
      row.drop = bits[0] == '4' ? 0.25 * (i + 1) + (i == 1 ? 2.0 : 0.0) : 0.02 * i;
      row.metric = m.floatMetric - row.drop;
      row.sqnrDb = (bits[0] == '4' ? 14.0 : 33.0) + i;
      m.sensitivity.push_back(row);
    }
  }
  auto candidate = [](const char* assignment, int64_t kib, double metric, bool pareto) {
    SearchCandidate c;
    c.assignment = assignment;
    c.fileBytes = kib * 1024;
    c.packedWeightBytes = kib * 1024 / 3;
    c.metric = metric;
    c.drop = 98.5 - metric;
    c.sqnrDb = 20 + (metric - 95);
    c.withinBudget = c.drop <= 1.0;
    c.pareto = pareto;
    return c;
  };
  m.candidates = {candidate("conv1=8,conv2=8,conv3=8,fc1=8,fc2=8", 64, 98.4, true),
                  candidate("conv1=8,conv2=8,conv3=4,fc1=8,fc2=8", 60, 98.1, true),
                  candidate("conv1=8,conv2=4,conv3=4,fc1=float,fc2=8", 70, 97.9, false),
                  candidate("conv1=8,conv2=8,conv3=4,fc1=4,fc2=8", 48, 97.7, true),
                  candidate("conv1=4,conv2=4,conv3=4,fc1=4,fc2=8", 40, 95.0, true),
                  candidate("conv1=4,conv2=4,conv3=4,fc1=4,fc2=4", 42, 94.0, false)};
  m.candidates[3].picked = true;
  m.sensitivitySeconds = 3.5;
  m.searchSeconds = 9.25;
  const int weightBits[] = {8, 8, 4, -1, 4}, activationBits[] = {8, 8, 8, 0, 8};
  for (int i = 0; i < 5; ++i) {
    LayerQuantization layer;
    layer.layer = kLayers[i];
    layer.opKind = i < 3 ? "Conv2d" : "Linear";
    layer.quantized = weightBits[i] > 0;
    layer.weightBits = weightBits[i];
    layer.activationBits = activationBits[i];
    entry.result.layers.push_back(layer);
  }
  return entry;
}

template <typename T>
T* plottable(QCustomPlot* plot, const QString& name) {
  for (int i = 0; i < plot->plottableCount(); ++i) {
    if (plot->plottable(i)->name() == name) return qobject_cast<T*>(plot->plottable(i));
  }
  return nullptr;
}

QStringList itemTexts(QCustomPlot* plot) {
  QStringList texts;
  for (int i = 0; i < plot->itemCount(); ++i) {
    if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) texts << text->text();
  }
  return texts;
}

QStringList elementTexts(QCustomPlot* plot) {
  QStringList texts;
  for (QCPLayoutElement* e : plot->plotLayout()->elements(true)) {
    if (auto* text = qobject_cast<QCPTextElement*>(e)) texts << text->text();
  }
  return texts;
}

// The Bits column of the Layers table at the row of `layer`.
QString bitsOf(QTableView* view, const QString& layer) {
  const QAbstractItemModel* table = view->model();
  for (int r = 0; r < table->rowCount(); ++r) {
    if (table->index(r, 0).data().toString() == layer) return table->index(r, 6).data().toString();
  }
  return "<no row>";
}

}  // namespace

class TestMixedPrecisionWindow : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;

  MainWindow& window() { return *window_; }
  void select(int row) {
    auto* table = window().findChild<QTableView*>("runsTable");
    table->clearSelection();
    table->selectRow(row);
  }

 private slots:
  void initTestCase() {
    window_ = test::openDemoWindow(
        "QuantScopeMixedPrecisionWindowTests");  // the Layers table lists the demo's layers
    QVERIFY(waitIdle(window()));
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    RunEntry plain;
    plain.id = 1;
    plain.result.technique = "dynamic";
    LayerQuantization fc1;
    fc1.layer = "fc1";
    fc1.quantized = true;
    plain.result.layers = {fc1};
    window().runs().add(plain);
    window().runs().add(mixedRun(2));
    select(1);
  }
  void heatMapShowsEverySensitivityCell() {
    QCustomPlot* plot = window().charts().plot(ChartPanel::MixedPrecision);
    auto* map = plottable<QCPColorMap>(plot, "sensitivity");
    QVERIFY(map);
    QCOMPARE(map->data()->keySize(), 2);    // 4 and 8 bits
    QCOMPARE(map->data()->valueSize(), 5);  // the five layers
    const MixedPrecisionReport& m = window().runs().runs()[1].result.mixedPrecision;
    for (const auto& row : m.sensitivity) {
      const int k = row.bits == "4" ? 0 : 1;  // bits in increasing order along the bottom
      const int v = int(std::find(std::begin(kLayers), std::end(kLayers), row.layer) - std::begin(kLayers));
      QCOMPARE(map->data()->cell(k, v), row.drop);
    }
    // Layers down the side (first on top), bits along the bottom, named.
    auto labels = [](QCPAxis* axis) {
      return qSharedPointerCast<QCPAxisTickerText>(axis->ticker())->ticks().values();
    };
    QCOMPARE(labels(map->valueAxis()), QStringList({"conv1", "conv2", "conv3", "fc1", "fc2"}));
    QVERIFY(map->valueAxis()->rangeReversed());
    QCOMPARE(labels(map->keyAxis()), QStringList({"4-bit weights", "8-bit weights"}));
    // The colour scale covers the drops; each cell's numbers are written in it.
    QVERIFY(map->colorScale());
    QCOMPARE(map->colorScale()->dataRange().upper, 2.5);
    QVERIFY(map->colorScale()->axis()->label().contains("drop"));
    const QStringList texts = itemTexts(plot);
    QVERIFY2(texts.contains("2.50 pt\n15.0 dB"), qPrintable(texts.join(" | ")));  // conv2 at 4 bits
    QVERIFY(texts.contains("0.08 pt\n37.0 dB"));                                  // fc2 at 8 bits
    QCOMPARE(texts.filter(" pt\n").size(), 10);
  }
  void scatterShowsEveryConfigurationFrontAndPick() {
    QCustomPlot* plot = window().charts().plot(ChartPanel::MixedPrecision);
    const MixedPrecisionReport& m = window().runs().runs()[1].result.mixedPrecision;
    auto* all = plottable<QCPGraph>(plot, "configurations");
    QVERIFY(all);
    QCOMPARE(all->dataCount(), int(m.candidates.size()));
    QList<QPointF> points;
    for (int i = 0; i < all->dataCount(); ++i)
      points << QPointF(all->data()->at(i)->key, all->data()->at(i)->value);
    for (const auto& c : m.candidates) QVERIFY(points.contains(QPointF(c.fileBytes / 1024.0, c.metric)));
    QCOMPARE(all->keyAxis()->label(), QString("file size (KiB)"));
    QCOMPARE(all->valueAxis()->label(), QString("top-1 accuracy (%)"));
    auto* front = plottable<QCPGraph>(plot, "Pareto front");
    QVERIFY(front);
    QCOMPARE(front->dataCount(), 4);
    QCOMPARE(front->lineStyle(), QCPGraph::lsStepLeft);
    QCOMPARE(front->data()->at(0)->key, 40.0);
    QCOMPARE(front->data()->at(3)->value, 98.4);
    auto* picked = plottable<QCPGraph>(plot, "picked");
    QVERIFY(picked);
    QCOMPARE(picked->dataCount(), 1);
    QCOMPARE(picked->data()->at(0)->key, 48.0);
    QCOMPARE(picked->data()->at(0)->value, 97.7);
    QVERIFY(picked->scatterStyle().size() > all->scatterStyle().size());
    QVERIFY(picked->scatterStyle().pen().color() != all->scatterStyle().pen().color());
    QVERIFY(itemTexts(plot).contains("picked"));
    QCOMPARE(plot->legend->itemCount(), 3);  // configurations, front, pick; the heat map has its colour scale
    QVERIFY2(elementTexts(plot).filter("picked: conv1=8, conv2=8, conv3=4, fc1=4, fc2=8").size() == 1,
             qPrintable(elementTexts(plot).join(" | ")));
    // The float metric as a solid line, the accuracy budget as a dashed one at float - max drop.
    QList<double> solid, dashed;
    for (int i = 0; i < plot->itemCount(); ++i) {
      auto* line = qobject_cast<QCPItemStraightLine*>(plot->item(i));
      if (!line) continue;
      QCOMPARE(line->point1->coords().y(), line->point2->coords().y());  // horizontal
      (line->pen().style() == Qt::DashLine ? dashed : solid) << line->point1->coords().y();
    }
    QCOMPARE(solid, QList<double>{98.5});
    QCOMPARE(dashed, QList<double>{97.5});
    QVERIFY(itemTexts(plot).contains("budget: drop at most 1 pt"));
    QVERIFY(all->valueAxis()->range().contains(98.5) && all->valueAxis()->range().contains(94.0));
  }
  void sizeBudgetIsAVerticalLine() {
    RunEntry entry = mixedRun(3);
    entry.result.mixedPrecision.search = "size";
    entry.result.mixedPrecision.budget = "max_size_kb=50";
    ChartPanel panel;
    panel.showRuns({entry}, 0, {});
    QCustomPlot* plot = panel.plot(ChartPanel::MixedPrecision);
    int dashed = 0;
    for (int i = 0; i < plot->itemCount(); ++i) {
      auto* line = qobject_cast<QCPItemStraightLine*>(plot->item(i));
      if (!line || line->pen().style() != Qt::DashLine) continue;
      ++dashed;
      QCOMPARE(line->point1->coords().x(), 50.0);
      QCOMPARE(line->point2->coords().x(), 50.0);
    }
    QCOMPARE(dashed, 1);
    QVERIFY(itemTexts(plot).contains("budget: at most 50 KiB"));
    // No search (sensitivity only): the heat map alone; no budget (search only): no dashed line.
    entry.result.mixedPrecision.candidates.clear();
    panel.showRuns({entry}, 0, {});
    QVERIFY(plottable<QCPColorMap>(plot, "sensitivity"));
    QVERIFY(!plottable<QCPGraph>(plot, "configurations"));
    entry = mixedRun(4);
    entry.result.mixedPrecision.sensitivity.clear();
    entry.result.mixedPrecision.budget.clear();
    entry.result.mixedPrecision.stoppedEarly = "cancelled during the search; 6 configurations kept";
    panel.showRuns({entry}, 0, {});
    QVERIFY(!plottable<QCPColorMap>(plot, "sensitivity"));
    QCOMPARE(plottable<QCPGraph>(plot, "configurations")->dataCount(), 6);
    for (int i = 0; i < plot->itemCount(); ++i) {
      if (auto* line = qobject_cast<QCPItemStraightLine*>(plot->item(i)))
        QVERIFY(line->pen().style() != Qt::DashLine);
    }
    QVERIFY(elementTexts(plot).join(" ").contains("Stopped early: cancelled during the search"));
  }
  void manyLayersScrollAndOneBitWidthFills() {
    // Thirty layers at three bit-widths: each row keeps a readable height and the tab scrolls.
    RunEntry entry = mixedRun(5);
    MixedPrecisionReport& m = entry.result.mixedPrecision;
    m.sensitivity.clear();
    for (int i = 0; i < 30; ++i) {
      for (const char* bits : {"2", "4", "8"}) {
        SensitivityRow row;
        row.layer = "features." + std::to_string(i) + ".conv";
        row.bits = bits;
        row.drop = (bits[0] == '2' ? 3.0 : bits[0] == '4' ? 0.6 : 0.05) * (1 + i % 4);
        row.sqnrDb = bits[0] == '2' ? 6.5 : bits[0] == '4' ? 15.5 : 31.0;
        m.sensitivity.push_back(row);
      }
    }
    m.stoppedEarly = "cancelled during the search; the 6 configurations evaluated are kept";
    ChartPanel panel;
    panel.resize(1100, 450);
    panel.setCurrentIndex(ChartPanel::MixedPrecision);
    panel.show();
    panel.showRuns({entry}, 0, {});
    QCustomPlot* plot = panel.plot(ChartPanel::MixedPrecision);
    auto* map = plottable<QCPColorMap>(plot, "sensitivity");
    QCOMPARE(map->data()->keySize() * map->data()->valueSize(), 90);
    QCOMPARE(itemTexts(plot).filter(" pt\n").size(), 90);
    QVERIFY(plot->minimumHeight() >= 30 * 30);
    auto* scroll = qobject_cast<QScrollArea*>(panel.currentWidget());
    QVERIFY(scroll);
    QTRY_VERIFY(scroll->verticalScrollBar()->maximum() > 0);
    QVERIFY(plot->grab().save(dir_.filePath("mixed_precision_many_layers.png")));
    // One candidate bit-width: its column still has a width (QCPColorMap draws cells between centres).
    m.sensitivity.resize(0);
    for (const char* layer : {"conv1", "fc1"}) {
      SensitivityRow row;
      row.layer = layer;
      row.bits = "4";
      row.drop = 1.5;
      m.sensitivity.push_back(row);
    }
    panel.showRuns({entry}, 0, {});
    map = plottable<QCPColorMap>(plot, "sensitivity");
    QCOMPARE(map->data()->keyRange().size(), 0.5);
    QCOMPARE(map->data()->cell(0, 1), 1.5);
    QCOMPARE(map->data()->cell(1, 1), 1.5);
    QCOMPARE(itemTexts(plot).filter(" pt\n").size(), 2);
    QVERIFY(plot->grab().save(dir_.filePath("mixed_precision_one_bit_width.png")));
  }
  void layersTableShowsTheSelectedRunsBits() {
    auto* layers = window().findChild<QTableView*>("layersTable");
    QCOMPARE(layers->model()->columnCount(), 7);
    QCOMPARE(layers->model()->headerData(6, Qt::Horizontal).toString(), QString("Bits (selected run)"));
    QCOMPARE(bitsOf(layers, "conv1"), QString("w8 a8"));
    QCOMPARE(bitsOf(layers, "conv3"), QString("w4 a8"));
    QCOMPARE(bitsOf(layers, "fc1"), QString("float"));
    QCOMPARE(bitsOf(layers, "bn1"), QString());  // not a layer the technique reports
    select(0);                                   // a run without bits: the column stays empty
    QCOMPARE(bitsOf(layers, "fc1"), QString());
    select(1);
    QCOMPARE(bitsOf(layers, "fc2"), QString("w4 a8"));
  }
  void exportsScreenshotsAndProjects() {
    select(1);
    window().charts().setCurrentIndex(ChartPanel::MixedPrecision);
    QTest::qWait(100);
    // Grabbing the chart and the whole window works offscreen (into this test's temporary folder).
    QVERIFY(window().charts().currentWidget()->grab().save(dir_.filePath("mixed_precision_chart.png")));
    QVERIFY(window().grab().save(dir_.filePath("mixed_precision_window.png")));
    const QString png = dir_.filePath("mixed.png"), pdf = dir_.filePath("mixed.pdf");
    window().exportChartTo(ChartPanel::MixedPrecision, png, 1600, 900);
    window().exportChartTo(ChartPanel::MixedPrecision, pdf, 1200, 700);
    QVERIFY2(window().errorText().isEmpty(), qPrintable(window().errorText()));
    QCOMPARE(QImage(png).size(), QSize(1600, 900));
    QCOMPARE(head(pdf, 5), QByteArray("%PDF-"));
    // A project keeps the report: the reopened window draws the same chart.
    const QString project = dir_.filePath("mixed.qsproj");
    window().saveProjectTo(project);
    MainWindow reopened;
    reopened.openProject(project);
    QVERIFY(waitIdle(reopened));
    QCustomPlot* again = reopened.charts().plot(ChartPanel::MixedPrecision);
    auto* map = plottable<QCPColorMap>(again, "sensitivity");
    QVERIFY(map);
    QCOMPARE(map->data()->cell(0, 1), 2.5);
    QCOMPARE(plottable<QCPGraph>(again, "configurations")->dataCount(), 6);
    QCOMPARE(plottable<QCPGraph>(again, "picked")->data()->at(0)->key, 48.0);
    QCOMPARE(bitsOf(reopened.findChild<QTableView*>("layersTable"), "conv3"), QString("w4 a8"));
  }
  void runWithoutReportSaysSo() {
    select(0);
    QCustomPlot* plot = window().charts().plot(ChartPanel::MixedPrecision);
    QCOMPARE(plot->plottableCount(), 0);
    QCOMPARE(plot->itemCount(), 1);
    QVERIFY(qobject_cast<QCPItemText*>(plot->item(0))->text().contains("has no mixed-precision report"));
    QCOMPARE(plot->axisRectCount(), 1);
  }
  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestMixedPrecisionWindow)
#include "test_mixed_precision_window.moc"
