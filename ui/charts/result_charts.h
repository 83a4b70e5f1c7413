#pragma once
// The result charts, built from the runs' data into a QCustomPlot they are given: size, accuracy and latency
// bars, accuracy-vs-size and accuracy-vs-latency scatter with the Pareto front, per-layer SQNR, a weight
// histogram, the training curve, the technique's own figures (with per-layer sparsity for pruning) and mixed
// precision's sensitivity heat map and search scatter. The window's chart panel and the headless report
// (ui/report/) draw with these same builders; none needs a shown widget.
#include <QString>
#include <vector>

#include "ui/models/run_entry.h"

class QCustomPlot;
class QWidget;

namespace quantscope::ui {

enum class ResultChart {
  Size,
  Accuracy,
  Latency,
  AccuracyVsSize,
  AccuracyVsLatency,
  LayerSqnr,
  WeightHistogram,
  Training,
  TechniqueFigures,
  MixedPrecision
};
constexpr int kResultChartCount = int(ResultChart::MixedPrecision) + 1;

QString chartTitle(ResultChart chart);

// A plot set up for `chart` (style, object name "chart_<title>", the training chart's epoch axis on top).
QCustomPlot* newChartPlot(ResultChart chart, QWidget* parent = nullptr);

// What a chart is drawn from: every run (the comparison charts), the run whose details the per-run charts
// show (null: none) and the layer of the weight histogram (empty or unknown: the first with a histogram).
struct ChartData {
  const std::vector<RunEntry>& runs;
  const RunEntry* detail = nullptr;
  QString histogramLayer;
};

// Clears `plot` and draws `chart` into it; does not replot (the caller does, or renders it to a file).
// The Training chart shows the detail run's curve; use drawTrainingChart for a curve that is still growing.
void drawChart(QCustomPlot* plot, ResultChart chart, const ChartData& data);
// The training curve `curve` of the run `label`: `live` while the run still trains (says it waits for the
// first step while the curve is empty).
void drawTrainingChart(QCustomPlot* plot, const TrainingCurve& curve, const QString& label, bool live);
// The technique's own figures of `run` (and per-layer sparsity); mixed precision's report of `run`. Both set
// the plot's minimum height to what their rows need.
void drawFiguresChart(QCustomPlot* plot, const RunEntry* run);
void drawMixedPrecisionChart(QCustomPlot* plot, const RunEntry* run);

}  // namespace quantscope::ui
