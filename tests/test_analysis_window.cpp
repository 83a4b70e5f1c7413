// The Analyze action and tab on the real window, offscreen: Analyze on the built-in demo fills the four-way
// table, the sweep chart, the simulated-vs-real table, the ranges chart and the recommendation; Apply runs
// the recommendation as a normal run (or says which parameter this build lacks).
#include <qcustomplot.h>

#include <QAction>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QtTest>

#include "tests/window_test_support.h"
#include "ui/analysis/analysis_tab.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"

using namespace quantscope;
using namespace quantscope::ui;
using quantscope::test::waitIdle;

class TestAnalysisWindow : public QObject {
  Q_OBJECT
 private slots:
  void analyzeFillsTheTabAndApplyRuns() {
    MainWindow window;
    window.show();
    window.openDemo();
    QVERIFY(waitIdle(window));
    QVERIFY(window.model().has_value());
    window.selectTechnique("fx");
    QAction* action = window.findChild<QAction*>("analyzeAction");
    QVERIFY(action);
    action->trigger();
    QVERIFY(window.controller().busy());
    QVERIFY(waitIdle(window, 300000));
    QVERIFY2(window.errorText().isEmpty(), qPrintable(window.errorText()));
    const AnalysisTab& tab = window.analysisTab();
    QVERIFY(tab.analysis().has_value());
    const QuantAnalysis& a = *tab.analysis();
    QCOMPARE(a.enableOne.size(), size_t(5));
    QCOMPARE(a.stability.runs.size(), size_t(5));

    auto* fourWay = tab.findChild<QTableWidget*>("analysisFourWay");
    QCOMPARE(fourWay->rowCount(), 5);  // four rows and the stability line
    QCOMPARE(fourWay->item(3, 0)->text(), QString("full int8"));
    auto* simVsReal = tab.findChild<QTableWidget*>("analysisSimVsReal");
    QCOMPARE(simVsReal->rowCount(), 5);
    QVERIFY(simVsReal->item(0, 1)->text().endsWith("dB"));
    QCOMPARE(tab.findChild<QCustomPlot*>("analysisSweepChart")->graphCount(), 3);
    QVERIFY(tab.findChild<QCustomPlot*>("analysisRangeChart")->plottableCount() >= 2);
    QVERIFY(tab.findChild<QLabel*>("analysisRecommendation")->text().contains("Recommendation"));
    auto* apply = tab.findChild<QPushButton*>("analysisApply");
    QVERIFY(apply->isEnabled());

    // Apply: a normal run of the recommended technique, or a clear message when a parameter it names is
    // not in this build.
    const int runsBefore = window.runs().rowCount();
    QTest::mouseClick(apply, Qt::LeftButton);
    QVERIFY(waitIdle(window, 300000));
    bool allKnown = true;
    const auto& descriptor = TechniqueRegistry::instance().find(a.recommendation.technique);
    for (const auto& [name, value] : a.recommendation.params) {
      allKnown = allKnown && std::any_of(descriptor.params.begin(), descriptor.params.end(),
                                         [&](const ParamSpec& p) { return p.name == name; });
    }
    if (allKnown) {
      QCOMPARE(window.runs().rowCount(), runsBefore + 1);
    } else {
      QCOMPARE(window.runs().rowCount(), runsBefore);
      QVERIFY(window.errorText().contains("does not have in this build"));
    }
  }
};

QTEST_MAIN(TestAnalysisWindow)
#include "test_analysis_window.moc"
