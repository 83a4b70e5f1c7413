#include "ui/charts/result_charts.h"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/results/comparison.h"
#include "core/results/report_text.h"
#include "ui/charts/chart_style.h"

namespace quantscope::ui {
namespace {

using namespace chart_style;

struct CategoryBars {
  QCPBars* original;
  QCPBars* runs;
};

// Bars for "fp32" followed by one bar per run; returns both so callers can add whiskers.
CategoryBars categoryBars(QCustomPlot* plot, const std::vector<RunEntry>& runs, double original,
                          const std::function<double(const RunEntry&)>& value, const QString& yLabel) {
  QVector<double> ticks{1};
  QVector<QString> labels{"fp32"};
  QVector<double> values{original};
  for (size_t i = 0; i < runs.size(); ++i) {
    ticks << double(i + 2);
    labels << runs[i].label();
    values << value(runs[i]);
  }
  auto* originalBar = new QCPBars(plot->xAxis, plot->yAxis);
  originalBar->setName("original (fp32)");
  originalBar->setBrush(kOriginalColor);
  originalBar->setPen(Qt::NoPen);
  originalBar->setData(QVector<double>{1}, QVector<double>{original});
  auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
  bars->setName("quantized runs");
  bars->setBrush(kRunColor);
  bars->setPen(Qt::NoPen);
  bars->setData(ticks.mid(1), values.mid(1));
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  ticker->addTicks(ticks, labels);
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setTickLabelRotation(runs.size() > 4 ? 30 : 0);
  plot->xAxis->setRange(0.3, double(runs.size()) + 1.7);
  plot->yAxis->setLabel(yLabel);
  return {originalBar, bars};
}

void drawSize(QCustomPlot* plot, const std::vector<RunEntry>& runs) {
  reset(plot);
  if (runs.empty()) return;
  const double original = runs.front().result.sizes.original.serializedBytes / 1024.0;
  double top = original;
  categoryBars(
      plot, runs, original,
      [&](const RunEntry& r) {
        top = std::max(top, r.result.sizes.quantized.serializedBytes / 1024.0);
        return r.result.sizes.quantized.serializedBytes / 1024.0;
      },
      "archive size (KiB)");
  fitY(plot, 0, top);
}

void drawAccuracy(QCustomPlot* plot, const std::vector<RunEntry>& runs) {
  reset(plot);
  if (runs.empty() || !runs.front().result.originalAccuracy.available) return;
  const double original = runs.front().result.originalAccuracy.top1 * 100;
  double low = original, high = original;
  categoryBars(
      plot, runs, original,
      [&](const RunEntry& r) {
        const double v = r.result.quantizedAccuracy.top1 * 100;
        low = std::min(low, v);
        high = std::max(high, v);
        return v;
      },
      "top-1 accuracy (%)");
  auto* line = new QCPItemStraightLine(plot);
  line->point1->setCoords(0, original);
  line->point2->setCoords(1, original);
  line->setPen(QPen(kOriginalColor, 1.5, Qt::DashLine));
  // Differences of tenths of a point matter: zoom the axis to the values rather than starting at 0.
  fitY(plot, std::max(0.0, low - std::max(2.0, (high - low))), std::min(100.0, high));
}

void drawLatency(QCustomPlot* plot, const std::vector<RunEntry>& runs) {
  reset(plot);
  if (runs.empty()) return;
  const LatencyStats& original = runs.front().result.originalLatency;
  double top = original.p90Ms;
  const CategoryBars bars = categoryBars(
      plot, runs, original.medianMs,
      [&](const RunEntry& r) {
        top = std::max(top, r.result.quantizedLatency.p90Ms);
        return r.result.quantizedLatency.medianMs;
      },
      "median latency (ms), whiskers p10-p90");
  auto whiskers = [&](QCPBars* target, const std::vector<const LatencyStats*>& stats) {
    auto* errors = new QCPErrorBars(plot->xAxis, plot->yAxis);
    errors->removeFromLegend();
    errors->setDataPlottable(target);
    QVector<double> minus, plus;
    for (const LatencyStats* s : stats) {
      minus << s->medianMs - s->p10Ms;
      plus << s->p90Ms - s->medianMs;
    }
    errors->setData(minus, plus);
  };
  std::vector<const LatencyStats*> stats;
  for (const auto& r : runs) stats.push_back(&r.result.quantizedLatency);
  whiskers(bars.runs, stats);
  whiskers(bars.original, {&original});
  fitY(plot, 0, top);
}

void drawTradeoff(QCustomPlot* plot, const std::vector<RunEntry>& runs, bool bySize) {
  reset(plot);
  if (runs.empty()) return;
  const bool useAccuracy = runs.front().result.originalAccuracy.available;
  auto quality = [&](const AccuracyMetrics& a, double agreement) {
    return (useAccuracy ? a.top1 : agreement) * 100;
  };
  std::vector<TradeoffPoint> points;
  QVector<double> xs, ys;
  QStringList labels;
  const RunResult& first = runs.front().result;
  points.push_back({bySize ? first.sizes.original.serializedBytes / 1024.0 : first.originalLatency.medianMs,
                    quality(first.originalAccuracy, 1.0)});
  labels << "fp32";
  for (const auto& r : runs) {
    points.push_back(
        {bySize ? r.result.sizes.quantized.serializedBytes / 1024.0 : r.result.quantizedLatency.medianMs,
         quality(r.result.quantizedAccuracy, r.result.fidelity.top1Agreement)});
    labels << r.label();
  }
  for (const auto& p : points) {
    xs << p.cost;
    ys << p.quality;
  }
  auto* all = plot->addGraph();
  all->setName("runs");
  all->setLineStyle(QCPGraph::lsNone);
  all->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, kRunColor, kRunColor, 8));
  all->setData(xs, ys, /*alreadySorted=*/false);
  QVector<double> fx, fy;
  for (size_t i : paretoFront(points)) {
    fx << points[i].cost;
    fy << points[i].quality;
  }
  auto* front = plot->addGraph();
  front->setName("Pareto front");
  front->setPen(QPen(kFrontColor, 2));
  front->setLineStyle(QCPGraph::lsStepLeft);
  front->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, kFrontColor, kFrontColor, 11));
  front->setData(fx, fy, /*alreadySorted=*/true);
  for (int i = 0; i < xs.size(); ++i) {
    auto* text = new QCPItemText(plot);
    text->position->setCoords(xs[i], ys[i]);
    text->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    text->setText(" " + labels[i]);
    text->setFont(QFont(plot->font().family(), 8));
  }
  plot->xAxis->setLabel(bySize ? "archive size (KiB)" : "median latency (ms)");
  plot->yAxis->setLabel(useAccuracy ? "top-1 accuracy (%)" : "top-1 agreement with fp32 (%)");
  plot->legend->setVisible(true);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
  // Room on the right for the point labels, a little on the left.
  const double minX = *std::min_element(xs.begin(), xs.end()), maxX = *std::max_element(xs.begin(), xs.end());
  const double span = std::max(maxX - minX, std::max(1e-6, maxX * 0.2));
  plot->xAxis->setRange(std::max(0.0, minX - 0.1 * span), maxX + 0.35 * span);
  const double low = *std::min_element(ys.begin(), ys.end()), high = *std::max_element(ys.begin(), ys.end());
  fitY(plot, low - std::max(1.0, (high - low) * 0.5), high);
}

void drawLayerSqnr(QCustomPlot* plot, const RunEntry* run) {
  reset(plot);
  if (!run) return;
  QVector<double> ticks, weights, outputs, outputTicks;
  QVector<QString> labels;
  double top = 0;
  auto finite = [](double db) { return std::isfinite(db) ? db : 100.0; };
  for (const auto& layer : run->result.layers) {
    if (!layer.hasWeightSqnr) continue;
    ticks << double(ticks.size() + 1);
    labels << QString::fromStdString(layer.layer) + (layer.quantized ? "" : " (float)");
    weights << finite(layer.weightSqnrDb);
    top = std::max(top, finite(layer.weightSqnrDb));
    if (layer.hasOutputSqnr) {
      outputTicks << ticks.back();
      outputs << finite(layer.outputSqnrDb);
    }
  }
  auto* group = new QCPBarsGroup(plot);
  auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
  bars->setName("weight SQNR");
  bars->setBrush(kRunColor);
  bars->setPen(Qt::NoPen);
  bars->setData(ticks, weights);
  bars->setWidth(outputs.isEmpty() ? 0.75 : 0.38);
  bars->setBarsGroup(group);
  if (!outputs.isEmpty()) {
    auto* outputBars = new QCPBars(plot->xAxis, plot->yAxis);
    outputBars->setName("output SQNR vs float layer");
    outputBars->setBrush(kFrontColor);
    outputBars->setPen(Qt::NoPen);
    outputBars->setData(outputTicks, outputs);
    outputBars->setWidth(0.38);
    outputBars->setBarsGroup(group);
    plot->legend->setVisible(true);
  }
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  ticker->addTicks(ticks, labels);
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setTickLabelRotation(ticks.size() > 5 ? 40 : 0);
  plot->xAxis->setRange(0.3, ticks.size() + 0.7);
  plot->yAxis->setLabel(QString("SQNR (dB), %1").arg(run->label()));
  fitY(plot, 0, top);
}

void drawHistogram(QCustomPlot* plot, const RunEntry* run, const QString& layerName) {
  reset(plot);
  if (!run) return;
  const LayerQuantization* layer = nullptr;
  for (const auto& l : run->result.layers) {
    if (l.floatHistogram.empty()) continue;
    if (!layer || QString::fromStdString(l.layer) == layerName) layer = &l;
  }
  if (!layer) return;
  const size_t bins = layer->floatHistogram.size();
  const double width = (layer->histogramMax - layer->histogramMin) / double(bins);
  QVector<double> centers, floats, quantized;
  for (size_t i = 0; i < bins; ++i) {
    centers << layer->histogramMin + (double(i) + 0.5) * width;
    floats << double(layer->floatHistogram[i]);
    quantized << double(layer->quantizedHistogram[i]);
  }
  auto* f = plot->addGraph();
  f->setName("float weights");
  f->setLineStyle(QCPGraph::lsStepCenter);
  f->setPen(QPen(kOriginalColor, 2));
  f->setBrush(QColor(120, 120, 120, 60));
  f->setData(centers, floats, true);
  auto* q = plot->addGraph();
  q->setName("dequantized int8 weights");
  q->setLineStyle(QCPGraph::lsImpulse);
  q->setPen(QPen(kRunColor, 2));
  q->setData(centers, quantized, true);
  plot->legend->setVisible(true);
  plot->xAxis->setLabel(
      QString("weight value, layer %1 (%2)").arg(QString::fromStdString(layer->layer), run->label()));
  plot->yAxis->setLabel("count");
  plot->rescaleAxes();
  plot->yAxis->setRangeLower(0);
}

}  // namespace

QString chartTitle(ResultChart chart) {
  static const char* titles[] = {
      "Size",           "Accuracy",         "Latency",  "Accuracy vs size",  "Accuracy vs latency",
      "Per-layer SQNR", "Weight histogram", "Training", "Technique figures", "Mixed precision"};
  static_assert(sizeof(titles) / sizeof(titles[0]) == kResultChartCount, "one title per chart");
  return titles[int(chart)];
}

QCustomPlot* newChartPlot(ResultChart chart, QWidget* parent) {
  QCustomPlot* plot = newPlot();
  if (parent) plot->setParent(parent);
  plot->setObjectName("chart_" + chartTitle(chart).toLower().replace(' ', '_'));
  // The figures and the mixed-precision heat map grow a row per figure or layer and scroll in the window;
  // they neither drag nor zoom.
  if (chart == ResultChart::TechniqueFigures || chart == ResultChart::MixedPrecision)
    plot->setInteractions({});
  // The training chart's top axis marks epoch ends at the bottom axis's steps.
  if (chart == ResultChart::Training) {
    QObject::connect(plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), plot->xAxis2,
                     qOverload<const QCPRange&>(&QCPAxis::setRange));
  }
  return plot;
}

void drawChart(QCustomPlot* plot, ResultChart chart, const ChartData& data) {
  switch (chart) {
    case ResultChart::Size:
      return drawSize(plot, data.runs);
    case ResultChart::Accuracy:
      return drawAccuracy(plot, data.runs);
    case ResultChart::Latency:
      return drawLatency(plot, data.runs);
    case ResultChart::AccuracyVsSize:
      return drawTradeoff(plot, data.runs, /*bySize=*/true);
    case ResultChart::AccuracyVsLatency:
      return drawTradeoff(plot, data.runs, /*bySize=*/false);
    case ResultChart::LayerSqnr:
      return drawLayerSqnr(plot, data.detail);
    case ResultChart::WeightHistogram:
      return drawHistogram(plot, data.detail, data.histogramLayer);
    case ResultChart::Training:
      return drawTrainingChart(plot, data.detail ? data.detail->result.trainingCurve : TrainingCurve{},
                               data.detail ? data.detail->label() : QString(), /*live=*/false);
    case ResultChart::TechniqueFigures:
      return drawFiguresChart(plot, data.detail);
    case ResultChart::MixedPrecision:
      return drawMixedPrecisionChart(plot, data.detail);
  }
}

}  // namespace quantscope::ui
