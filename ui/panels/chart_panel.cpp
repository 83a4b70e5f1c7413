#include "ui/panels/chart_panel.h"

#include <qcustomplot.h>

#include <QScrollArea>

#include "ui/charts/chart_style.h"

namespace quantscope::ui {

using namespace chart_style;

ChartPanel::ChartPanel(QWidget* parent) : QTabWidget(parent) {
  for (int c = 0; c < ChartCount; ++c) {
    plots_[c] = newChartPlot(ResultChart(c));
    if (c != TechniqueFigures && c != MixedPrecision) {
      addTab(plots_[c], title(Chart(c)));
      continue;
    }
    // The figures stack a panel per unit, each row at a readable height (as does the mixed-precision heat
    // map, a row per layer): when a run has more rows than the tab has room for, the chart grows and
    // scrolls (with the wheel too: it neither drags nor zooms).
    auto* scroll = new QScrollArea;
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setWidget(plots_[c]);
    addTab(scroll, title(Chart(c)));
  }
  showRuns({}, -1, {});
}

void ChartPanel::beginLiveTraining(const QString& runLabel) {
  live_ = true;
  liveLabel_ = runLabel;
  liveCurve_.clear();
  drawTrainingChart(plots_[Training], liveCurve_, liveLabel_, true);
  plots_[Training]->replot();
  setCurrentIndex(Training);
}

void ChartPanel::appendLiveTraining(const std::vector<TrainingPoint>& points) {
  if (!live_) return;
  liveCurve_.insert(liveCurve_.end(), points.begin(), points.end());
  drawTrainingChart(plots_[Training], liveCurve_, liveLabel_, true);
  // Coalesced with any other pending replot; the GUI thread stays responsive.
  plots_[Training]->replot(QCustomPlot::rpQueuedReplot);
}

void ChartPanel::endLiveTraining(bool finished) {
  if (!live_) return;
  live_ = false;
  if (finished) return;
  if (liveCurve_.empty()) {
    reset(plots_[Training]);
    placeholder(plots_[Training], liveLabel_ + " stopped before its first training step.");
  } else {
    drawTrainingChart(plots_[Training], liveCurve_, liveLabel_ + " (stopped before the end)", false);
  }
  plots_[Training]->replot();
}

void ChartPanel::showRuns(const std::vector<RunEntry>& runs, int detailRun, const QString& histogramLayer) {
  const RunEntry* detail =
      detailRun >= 0 && detailRun < int(runs.size()) ? &runs[size_t(detailRun)] : nullptr;
  const ChartData data{runs, detail, histogramLayer};
  for (int c = 0; c < ChartCount; ++c) {
    if (c == Training && live_)
      drawTrainingChart(plots_[c], liveCurve_, liveLabel_, true);
    else
      drawChart(plots_[c], ResultChart(c), data);
  }
  for (QCustomPlot* plot : plots_) plot->replot();
}

}  // namespace quantscope::ui
