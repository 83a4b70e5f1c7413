#pragma once
// The result charts (QCustomPlot): size, accuracy and latency bars, accuracy-vs-size and
// accuracy-vs-latency scatter with the Pareto front, per-layer SQNR and a weight histogram.
#include <QTabWidget>
#include <vector>

#include "ui/run_entry.h"

class QCustomPlot;

namespace quantscope::ui {

class ChartPanel : public QTabWidget {
  Q_OBJECT
 public:
  enum Chart { Size, Accuracy, Latency, AccuracyVsSize, AccuracyVsLatency, LayerSqnr, WeightHistogram, ChartCount };
  explicit ChartPanel(QWidget* parent = nullptr);

  // Redraws every chart from the runs; `detailRun` picks the run whose layers the per-layer charts show.
  void showRuns(const std::vector<RunEntry>& runs, int detailRun, const QString& histogramLayer);
  QCustomPlot* plot(Chart chart) const { return plots_[chart]; }
  static QString title(Chart chart);

 private:
  void drawSize(const std::vector<RunEntry>& runs);
  void drawAccuracy(const std::vector<RunEntry>& runs);
  void drawLatency(const std::vector<RunEntry>& runs);
  void drawTradeoff(Chart chart, const std::vector<RunEntry>& runs, bool bySize);
  void drawLayerSqnr(const RunEntry* run);
  void drawHistogram(const RunEntry* run, const QString& layer);

  QCustomPlot* plots_[ChartCount] = {};
};

}  // namespace quantscope::ui
