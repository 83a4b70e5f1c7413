#pragma once
// The result charts (QCustomPlot): size, accuracy and latency bars, accuracy-vs-size and
// accuracy-vs-latency scatter with the Pareto front, per-layer SQNR, a weight histogram, the training curve
// (live while a run trains), the technique's own figures (with per-layer sparsity for pruning) and mixed
// precision's sensitivity heat map and search scatter.
#include <QTabWidget>
#include <vector>

#include "ui/run_entry.h"

class QCustomPlot;
class QCPMarginGroup;

namespace quantscope::ui {

class ChartPanel : public QTabWidget {
  Q_OBJECT
 public:
  enum Chart {
    Size,
    Accuracy,
    Latency,
    AccuracyVsSize,
    AccuracyVsLatency,
    LayerSqnr,
    WeightHistogram,
    Training,
    TechniqueFigures,
    MixedPrecision,
    ChartCount
  };
  explicit ChartPanel(QWidget* parent = nullptr);

  // Redraws every chart from the runs; `detailRun` picks the run whose layers the per-layer charts show.
  void showRuns(const std::vector<RunEntry>& runs, int detailRun, const QString& histogramLayer);
  QCustomPlot* plot(Chart chart) const { return plots_[chart]; }
  static QString title(Chart chart);

  // While a run trains, the Training chart shows its points as they arrive (and shows this tab); after
  // endLiveTraining() it shows the selected run's curve again at the next showRuns(). A run that did not
  // finish (cancelled, failed) keeps its partial curve on screen, marked as stopped, until then.
  void beginLiveTraining(const QString& runLabel);
  void appendLiveTraining(const std::vector<TrainingPoint>& points);
  void endLiveTraining(bool finished);
  bool liveTraining() const { return live_; }
  const TrainingCurve& liveCurve() const { return liveCurve_; }

 private:
  void drawSize(const std::vector<RunEntry>& runs);
  void drawAccuracy(const std::vector<RunEntry>& runs);
  void drawLatency(const std::vector<RunEntry>& runs);
  void drawTradeoff(Chart chart, const std::vector<RunEntry>& runs, bool bySize);
  void drawLayerSqnr(const RunEntry* run);
  void drawHistogram(const RunEntry* run, const QString& layer);
  void drawTraining(const TrainingCurve& curve, const QString& label, bool live);
  void drawFigures(const RunEntry* run);
  void drawMixedPrecision(const RunEntry* run);

  QCustomPlot* plots_[ChartCount] = {};
  QCPMarginGroup* figureMargins_ = nullptr;  // the technique-figures panels' shared margins
  QCPMarginGroup* mixedMargins_ = nullptr;   // the mixed-precision panels' shared top and bottom
  bool live_ = false;
  QString liveLabel_;
  TrainingCurve liveCurve_;
};

}  // namespace quantscope::ui
