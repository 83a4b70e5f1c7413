#pragma once
// The window's chart tabs: one QCustomPlot per result chart, drawn by the builders of ui/charts/ (the same
// ones the headless report uses), plus the Training chart's live view while a run trains.
#include <QTabWidget>
#include <vector>

#include "ui/charts/result_charts.h"
#include "ui/models/run_entry.h"

class QCustomPlot;

namespace quantscope::ui {

class ChartPanel : public QTabWidget {
  Q_OBJECT
 public:
  // The tabs, in ResultChart's order.
  enum Chart {
    Size = int(ResultChart::Size),
    Accuracy = int(ResultChart::Accuracy),
    Latency = int(ResultChart::Latency),
    AccuracyVsSize = int(ResultChart::AccuracyVsSize),
    AccuracyVsLatency = int(ResultChart::AccuracyVsLatency),
    LayerSqnr = int(ResultChart::LayerSqnr),
    WeightHistogram = int(ResultChart::WeightHistogram),
    Training = int(ResultChart::Training),
    TechniqueFigures = int(ResultChart::TechniqueFigures),
    MixedPrecision = int(ResultChart::MixedPrecision),
    ChartCount = kResultChartCount
  };
  explicit ChartPanel(QWidget* parent = nullptr);

  // Redraws every chart from the runs; `detailRun` picks the run whose layers the per-layer charts show.
  void showRuns(const std::vector<RunEntry>& runs, int detailRun, const QString& histogramLayer);
  QCustomPlot* plot(Chart chart) const { return plots_[chart]; }
  static QString title(Chart chart) { return chartTitle(ResultChart(chart)); }

  // While a run trains, the Training chart shows its points as they arrive (and shows this tab); after
  // endLiveTraining() it shows the selected run's curve again at the next showRuns(). A run that did not
  // finish (cancelled, failed) keeps its partial curve on screen, marked as stopped, until then.
  void beginLiveTraining(const QString& runLabel);
  void appendLiveTraining(const std::vector<TrainingPoint>& points);
  void endLiveTraining(bool finished);
  bool liveTraining() const { return live_; }
  const TrainingCurve& liveCurve() const { return liveCurve_; }

 private:
  QCustomPlot* plots_[ChartCount] = {};
  bool live_ = false;
  QString liveLabel_;
  TrainingCurve liveCurve_;
};

}  // namespace quantscope::ui
