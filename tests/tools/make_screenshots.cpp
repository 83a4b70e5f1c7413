// Drives the real main window through the demo (open, run dynamic twice, compare) and saves screenshots.
// Usage: make_screenshots OUT_DIR  (run under xvfb-run, or with QT_QPA_PLATFORM=offscreen)
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QSettings>
#include <QTabWidget>
#include <QTableView>
#include <QTest>

#include "core/data/dataset.h"
#include "core/runtime/runtime_info.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"
#include "ui/panels/technique_form.h"
#include "ui/run_controller.h"

#include <QComboBox>

using namespace quantscope::ui;

static bool waitIdle(MainWindow& window, int timeoutMs) {
  QElapsedTimer clock;
  clock.start();
  while (window.controller().busy() && clock.elapsed() < timeoutMs) QTest::qWait(50);
  QTest::qWait(200);
  return !window.controller().busy();
}

namespace {

// Brings the result tab holding `page` to the front.
void showResultTab(QWidget* page) {
  QWidget* tabs = page;
  while (tabs && !qobject_cast<QTabWidget*>(tabs)) tabs = tabs->parentWidget();
  if (auto* tabWidget = qobject_cast<QTabWidget*>(tabs)) {
    for (int i = 0; i < tabWidget->count(); ++i)
      if (tabWidget->widget(i)->isAncestorOf(page) || tabWidget->widget(i) == page)
        tabWidget->setCurrentIndex(i);
  }
}

}  // namespace

int main(int argc, char** argv) {
  quantscope::reexecWithTunedEnvironment(argc, argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("QuantScopeScreenshots");
  QSettings().clear();  // start from defaults, not from the last session's parameters
  const QString out = argc > 1 ? argv[1] : ".";
  QDir().mkpath(out);
  MainWindow window;
  window.resize(1366, 768);
  window.show();
  window.openDemo();
  if (!waitIdle(window, 60000)) return 1;
  // `make_screenshots OUT_DIR import FOLDER`: only the window with a sweep's results folder imported.
  if (argc > 3 && QString(argv[2]) == "import") {
    window.importResults(argv[3]);
    window.findChild<QTableView*>("runsTable")->selectAll();
    window.charts().setCurrentIndex(ChartPanel::AccuracyVsLatency);
    QTest::qWait(300);
    window.grab().save(out + "/imported-sweep.png");
    return window.runs().rowCount() > 0 ? 0 : 1;
  }
  // `make_screenshots OUT_DIR details`: only the Details tab of a static run with equalization and bias
  // correction (the accuracy steps' per-layer account).
  if (argc > 2 && QString(argv[2]) == "details") {
    window.selectTechnique("static");
    window.techniqueForm().setValues({{"equalize", "true"}, {"bias_correction", "empirical"}});
    window.runSelectedTechnique();
    if (!waitIdle(window, 300000)) return 1;
    showResultTab(window.findChild<QWidget*>("runDetails"));
    window.charts().setCurrentIndex(ChartPanel::LayerSqnr);
    QTest::qWait(300);
    window.grab().save(out + "/details-tab.png");
    return window.runDetailsText().contains("Accuracy steps") ? 0 : 1;
  }
  // `make_screenshots OUT_DIR mixed` makes only the mixed-precision shots.
  const bool onlyMixed = argc > 2 && QString(argv[2]) == "mixed";
  auto* table = window.findChild<QTableView*>("runsTable");
  if (!onlyMixed) {
    window.selectTechnique("dynamic");
    window.runSelectedTechnique();
    if (!waitIdle(window, 300000)) return 1;
    // A second run with per-channel weights and the qnnpack recipe, to compare.
    auto* granularity = qobject_cast<QComboBox*>(window.techniqueForm().editor("weight_granularity"));
    auto* qconfig = qobject_cast<QComboBox*>(window.techniqueForm().editor("qconfig"));
    granularity->setCurrentText("per_channel");
    qconfig->setCurrentText("qnnpack");
    window.runSelectedTechnique();
    if (!waitIdle(window, 300000)) return 1;
    // Static and graph-mode (fx) quantization, calibrated on the training split.
    window.selectTechnique("static");
    window.runSelectedTechnique();
    if (!waitIdle(window, 300000)) return 1;
    window.selectTechnique("fx");
    window.runSelectedTechnique();
    if (!waitIdle(window, 300000)) return 1;
    table->selectAll();
    QTest::qWait(300);
    window.grab().save(out + "/main-window.png");
    window.charts().setCurrentIndex(ChartPanel::AccuracyVsLatency);
    QTest::qWait(200);
    window.grab().save(out + "/tradeoff-chart.png");
    window.exportReportPng(out + "/report.png");
    showResultTab(window.findChild<QTableView*>("opsTable")->parentWidget());
    table->selectRow(3);
    window.charts().setCurrentIndex(ChartPanel::LayerSqnr);
    QTest::qWait(300);
    window.grab().save(out + "/ops-tab.png");
    // Distillation into the shipped untrained student: the Training chart (with and without distillation)
    // and the technique's figures.
    window.selectTechnique("distillation");
    window.techniqueForm().setValues({{"student", quantscope::resourcesDirectory() + "/digits_student.pt"}});
    window.runSelectedTechnique();
    if (!waitIdle(window, 600000)) return 1;
    table->selectRow(window.runs().rowCount() - 1);
    window.charts().setCurrentIndex(ChartPanel::Training);
    QTest::qWait(300);
    window.grab().save(out + "/training-chart.png");
    window.charts().setCurrentIndex(ChartPanel::TechniqueFigures);
    QTest::qWait(300);
    window.grab().save(out + "/technique-figures.png");
    // Channel pruning: per-layer sparsity and channels removed.
    window.selectTechnique("pruning");
    window.techniqueForm().setValues({{"structure", "channels"}});
    window.runSelectedTechnique();
    if (!waitIdle(window, 600000)) return 1;
    table->selectRow(window.runs().rowCount() - 1);
    window.charts().setCurrentIndex(ChartPanel::TechniqueFigures);
    QTest::qWait(300);
    window.grab().save(out + "/pruning-figures.png");
    // The same chart exported at the default export size.
    window.exportChartTo(ChartPanel::TechniqueFigures, out + "/pruning-figures-export.png", 1600, 1000);
  }
  // Mixed precision with sensitivity and the accuracy search: the heat map, the searched configurations
  // with the Pareto front and the pick, and the per-layer bits in the Layers table.
  window.selectTechnique("mixed");
  window.techniqueForm().setValues({{"search", "accuracy"}, {"candidate_bits", "2,4,8"}});
  window.runSelectedTechnique();
  if (!waitIdle(window, 600000)) return 1;
  table->selectRow(window.runs().rowCount() - 1);
  window.charts().setCurrentIndex(ChartPanel::MixedPrecision);
  QTest::qWait(300);
  window.grab().save(out + "/mixed-precision.png");
  window.exportChartTo(ChartPanel::MixedPrecision, out + "/mixed-precision-export.png", 1600, 900);
  return window.errorText().isEmpty() ? 0 : 1;
}
