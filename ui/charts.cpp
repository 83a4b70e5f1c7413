#include "ui/charts.h"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/comparison.h"
#include "core/report_text.h"

namespace quantscope::ui {
namespace {

const QColor kOriginalColor(120, 120, 120);
const QColor kRunColor(33, 113, 181);
const QColor kFrontColor(214, 96, 39);

QCustomPlot* newPlot() {
  auto* plot = new QCustomPlot;
  plot->setMinimumSize(320, 220);
  plot->setAntialiasedElements(QCP::aeAll);
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  return plot;
}

void reset(QCustomPlot* plot) {
  plot->clearPlottables();
  plot->clearItems();
  plot->clearGraphs();
  // Only the technique-figures chart stacks more axis rects (one per unit); the first one always stays.
  while (plot->axisRectCount() > 1) plot->plotLayout()->remove(plot->axisRect(plot->axisRectCount() - 1));
  plot->plotLayout()->simplify();
  plot->legend->setVisible(false);
  plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  plot->xAxis->setTickLabelRotation(0);
  plot->xAxis->setLabel({});
  plot->yAxis->setLabel({});
  plot->xAxis2->setVisible(false);
  plot->yAxis2->setVisible(false);
  plot->xAxis->setTickLabels(true);
  plot->yAxis->setTickLabels(true);
}

// A line of text in the middle of an empty chart, saying why it is empty.
void placeholder(QCustomPlot* plot, const QString& text) {
  auto* item = new QCPItemText(plot);
  item->position->setType(QCPItemPosition::ptAxisRectRatio);
  item->position->setCoords(0.5, 0.5);
  item->setText(text);
  item->setColor(kOriginalColor);
  // No numbers on the axes of a chart that shows nothing.
  plot->xAxis->setTickLabels(false);
  plot->yAxis->setTickLabels(false);
  plot->xAxis->setRange(0, 1);
  plot->yAxis->setRange(0, 1);
}

// Series colours of the training chart and groups of the figures chart.
QColor paletteColor(size_t i) {
  static const QColor colors[] = {QColor(33, 113, 181),  QColor(214, 96, 39), QColor(49, 163, 84),
                                  QColor(117, 107, 177), QColor(140, 86, 75), QColor(227, 119, 194)};
  return colors[i % (sizeof(colors) / sizeof(colors[0]))];
}

std::vector<std::string> seriesInOrder(const TrainingCurve& curve) {
  std::vector<std::string> names;
  for (const auto& p : curve) {
    if (std::find(names.begin(), names.end(), p.series) == names.end()) names.push_back(p.series);
  }
  return names;
}

QString formatFigure(double value, const std::string& unit) {
  if (unit == "B" && std::isfinite(value)) return QString::fromStdString(formatBytes(int64_t(value)));
  const QString number =
      std::abs(value) >= 1000 ? QString::number(value, 'f', 0) : QString::number(value, 'g', 4);
  return number + (unit.empty() ? "" : " " + QString::fromStdString(unit));
}

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

void fitY(QCustomPlot* plot, double low, double high) {
  const double pad = (high - low) * 0.1 + 1e-9;
  plot->yAxis->setRange(low, high + pad);
}

}  // namespace

QString ChartPanel::title(Chart chart) {
  static const char* titles[] = {
      "Size",           "Accuracy",         "Latency",  "Accuracy vs size", "Accuracy vs latency",
      "Per-layer SQNR", "Weight histogram", "Training", "Technique figures"};
  static_assert(sizeof(titles) / sizeof(titles[0]) == ChartCount, "one title per chart");
  return titles[chart];
}

ChartPanel::ChartPanel(QWidget* parent) : QTabWidget(parent) {
  for (int c = 0; c < ChartCount; ++c) {
    plots_[c] = newPlot();
    plots_[c]->setObjectName("chart_" + title(Chart(c)).toLower().replace(' ', '_'));
    addTab(plots_[c], title(Chart(c)));
  }
  // The training chart's top axis marks epoch ends at the bottom axis's steps.
  QCustomPlot* training = plots_[Training];
  connect(training->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), training->xAxis2,
          qOverload<const QCPRange&>(&QCPAxis::setRange));
  showRuns({}, -1, {});
}

void ChartPanel::beginLiveTraining(const QString& runLabel) {
  live_ = true;
  liveLabel_ = runLabel;
  liveCurve_.clear();
  drawTraining(liveCurve_, liveLabel_, true);
  plots_[Training]->replot();
  setCurrentIndex(Training);
}

void ChartPanel::appendLiveTraining(const std::vector<TrainingPoint>& points) {
  if (!live_) return;
  liveCurve_.insert(liveCurve_.end(), points.begin(), points.end());
  drawTraining(liveCurve_, liveLabel_, true);
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
    drawTraining(liveCurve_, liveLabel_ + " (stopped before the end)", false);
  }
  plots_[Training]->replot();
}

void ChartPanel::showRuns(const std::vector<RunEntry>& runs, int detailRun, const QString& histogramLayer) {
  drawSize(runs);
  drawAccuracy(runs);
  drawLatency(runs);
  drawTradeoff(AccuracyVsSize, runs, true);
  drawTradeoff(AccuracyVsLatency, runs, false);
  const RunEntry* detail = detailRun >= 0 && detailRun < int(runs.size()) ? &runs[size_t(detailRun)] : nullptr;
  drawLayerSqnr(detail);
  drawHistogram(detail, histogramLayer);
  if (live_)
    drawTraining(liveCurve_, liveLabel_, true);
  else
    drawTraining(detail ? detail->result.trainingCurve : TrainingCurve{},
                 detail ? detail->label() : QString(), false);
  drawFigures(detail);
  for (QCustomPlot* plot : plots_) plot->replot();
}

void ChartPanel::drawSize(const std::vector<RunEntry>& runs) {
  QCustomPlot* plot = plots_[Size];
  reset(plot);
  if (runs.empty()) return;
  const double original = runs.front().result.sizes.original.serializedBytes / 1024.0;
  double top = original;
  categoryBars(plot, runs, original, [&](const RunEntry& r) {
    top = std::max(top, r.result.sizes.quantized.serializedBytes / 1024.0);
    return r.result.sizes.quantized.serializedBytes / 1024.0;
  }, "archive size (KiB)");
  fitY(plot, 0, top);
}

void ChartPanel::drawAccuracy(const std::vector<RunEntry>& runs) {
  QCustomPlot* plot = plots_[Accuracy];
  reset(plot);
  if (runs.empty() || !runs.front().result.originalAccuracy.available) return;
  const double original = runs.front().result.originalAccuracy.top1 * 100;
  double low = original, high = original;
  categoryBars(plot, runs, original, [&](const RunEntry& r) {
    const double v = r.result.quantizedAccuracy.top1 * 100;
    low = std::min(low, v);
    high = std::max(high, v);
    return v;
  }, "top-1 accuracy (%)");
  auto* line = new QCPItemStraightLine(plot);
  line->point1->setCoords(0, original);
  line->point2->setCoords(1, original);
  line->setPen(QPen(kOriginalColor, 1.5, Qt::DashLine));
  // Differences of tenths of a point matter: zoom the axis to the values rather than starting at 0.
  fitY(plot, std::max(0.0, low - std::max(2.0, (high - low))), std::min(100.0, high));
}

void ChartPanel::drawLatency(const std::vector<RunEntry>& runs) {
  QCustomPlot* plot = plots_[Latency];
  reset(plot);
  if (runs.empty()) return;
  const LatencyStats& original = runs.front().result.originalLatency;
  double top = original.p90Ms;
  const CategoryBars bars = categoryBars(plot, runs, original.medianMs, [&](const RunEntry& r) {
    top = std::max(top, r.result.quantizedLatency.p90Ms);
    return r.result.quantizedLatency.medianMs;
  }, "median latency (ms), whiskers p10-p90");
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

void ChartPanel::drawTradeoff(Chart chart, const std::vector<RunEntry>& runs, bool bySize) {
  QCustomPlot* plot = plots_[chart];
  reset(plot);
  if (runs.empty()) return;
  const bool useAccuracy = runs.front().result.originalAccuracy.available;
  auto quality = [&](const AccuracyMetrics& a, double agreement) { return (useAccuracy ? a.top1 : agreement) * 100; };
  std::vector<TradeoffPoint> points;
  QVector<double> xs, ys;
  QStringList labels;
  const RunResult& first = runs.front().result;
  points.push_back({bySize ? first.sizes.original.serializedBytes / 1024.0 : first.originalLatency.medianMs,
                    quality(first.originalAccuracy, 1.0)});
  labels << "fp32";
  for (const auto& r : runs) {
    points.push_back({bySize ? r.result.sizes.quantized.serializedBytes / 1024.0 : r.result.quantizedLatency.medianMs,
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

void ChartPanel::drawLayerSqnr(const RunEntry* run) {
  QCustomPlot* plot = plots_[LayerSqnr];
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

void ChartPanel::drawHistogram(const RunEntry* run, const QString& layerName) {
  QCustomPlot* plot = plots_[WeightHistogram];
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
  plot->xAxis->setLabel(QString("weight value, layer %1 (%2)").arg(QString::fromStdString(layer->layer), run->label()));
  plot->yAxis->setLabel("count");
  plot->rescaleAxes();
  plot->yAxis->setRangeLower(0);
}

void ChartPanel::drawTraining(const TrainingCurve& curve, const QString& label, bool live) {
  QCustomPlot* plot = plots_[Training];
  reset(plot);
  if (curve.empty()) {
    if (live)
      placeholder(plot, label + ": waiting for the first training step...");
    else if (!label.isEmpty())
      placeholder(plot, label + " has no training curve (only qat, pruning and distillation train).");
    return;
  }
  double lossLow = 0, lossHigh = 0, accuracyLow = 100, accuracyHigh = 0, lastStep = 0;
  bool anyAccuracy = false;
  QVector<double> epochTicks;
  QVector<QString> epochLabels;
  const std::vector<std::string> series = seriesInOrder(curve);
  for (size_t i = 0; i < series.size(); ++i) {
    const QColor color = paletteColor(i);
    QVector<double> stepX, stepLoss, epochX, epochLoss, trainX, train, validX, valid, agreeX, agree;
    for (const auto& p : curve) {
      if (p.series != series[i]) continue;
      const double x = double(p.step);
      lastStep = std::max(lastStep, x);
      if (std::isfinite(p.loss)) {
        lossLow = std::min(lossLow, p.loss);
        lossHigh = std::max(lossHigh, p.loss);
      }
      if (!p.endOfEpoch) {
        stepX << x;
        stepLoss << p.loss;
        continue;
      }
      epochX << x;
      epochLoss << p.loss;
      if (i == 0) {
        epochTicks << x;
        epochLabels << QString("epoch %1").arg(p.epoch + 1);
      }
      for (auto [value, xs, ys] :
           {std::tuple{p.trainAccuracy, &trainX, &train}, std::tuple{p.validationAccuracy, &validX, &valid},
            std::tuple{p.validationAgreement, &agreeX, &agree}}) {
        if (value < 0) continue;
        *xs << x;
        *ys << value;
        anyAccuracy = true;
        accuracyLow = std::min(accuracyLow, value);
        accuracyHigh = std::max(accuracyHigh, value);
      }
    }
    const QString name = QString::fromStdString(series[i]);
    auto line = [&](QCPAxis* valueAxis, const QVector<double>& xs, const QVector<double>& ys,
                    const QString& what, const QPen& pen, QCPScatterStyle::ScatterShape shape) {
      if (xs.isEmpty()) return static_cast<QCPGraph*>(nullptr);
      auto* graph = plot->addGraph(plot->xAxis, valueAxis);
      graph->setName(name + ": " + what);
      graph->setPen(pen);
      graph->setScatterStyle(
          QCPScatterStyle(shape, pen.color(), pen.color(), shape == QCPScatterStyle::ssNone ? 0 : 7));
      graph->setData(xs, ys, /*alreadySorted=*/true);
      return graph;
    };
    QColor faint = color;
    faint.setAlpha(70);
    if (QCPGraph* steps =
            line(plot->yAxis, stepX, stepLoss, "step loss", QPen(faint, 1), QCPScatterStyle::ssNone)) {
      steps->removeFromLegend();  // the faint line behind the epoch means, named on the axis
    }
    line(plot->yAxis, epochX, epochLoss, "epoch loss", QPen(color, 2), QCPScatterStyle::ssDisc);
    line(plot->yAxis2, trainX, train, "train accuracy", QPen(color, 1.5, Qt::DashLine),
         QCPScatterStyle::ssTriangle);
    line(plot->yAxis2, validX, valid, "validation accuracy", QPen(color, 2, Qt::DotLine),
         QCPScatterStyle::ssDiamond);
    line(plot->yAxis2, agreeX, agree, "validation agreement", QPen(color, 1.5, Qt::DashDotLine),
         QCPScatterStyle::ssSquare);
  }
  plot->xAxis->setLabel(QString("optimizer step%1, %2").arg(live ? " (training now)" : "", label));
  plot->xAxis->setRange(0, std::max(1.0, lastStep * 1.02));
  plot->yAxis->setLabel("training loss (faint: each step; dots: epoch mean)");
  fitY(plot, std::min(0.0, lossLow), std::max(lossHigh, 1e-6));
  if (anyAccuracy) {
    plot->yAxis2->setVisible(true);
    plot->yAxis2->setLabel("accuracy (%)");
    const double span = accuracyHigh - accuracyLow;
    plot->yAxis2->setRange(std::max(0.0, accuracyLow - std::max(2.0, span * 0.2)),
                           std::min(100.0, accuracyHigh) + std::max(0.5, span * 0.1));
  }
  if (!epochTicks.isEmpty()) {
    // Label at most ~12 epoch ends so that long trainings stay readable.
    const int every = int(epochTicks.size() + 11) / 12;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < epochTicks.size(); ++i) {
      if ((i + 1) % every == 0 || i + 1 == epochTicks.size()) ticker->addTick(epochTicks[i], epochLabels[i]);
    }
    plot->xAxis2->setTicker(ticker);
    plot->xAxis2->setVisible(true);
    plot->xAxis2->setRange(plot->xAxis->range());
  }
  plot->legend->setVisible(true);
  plot->legend->setBrush(QColor(255, 255, 255, 210));  // the curves stay visible behind it
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
}

void ChartPanel::drawFigures(const RunEntry* run) {
  QCustomPlot* plot = plots_[TechniqueFigures];
  reset(plot);
  if (!run) return;
  const RunResult& result = run->result;
  // One panel per unit (bars of different units never share an axis), then per-layer sparsity.
  std::vector<std::string> units, groups;
  for (const auto& f : result.figures) {
    if (std::find(units.begin(), units.end(), f.unit) == units.end()) units.push_back(f.unit);
    if (std::find(groups.begin(), groups.end(), f.group) == groups.end()) groups.push_back(f.group);
  }
  std::vector<const LayerQuantization*> sparse;
  for (const auto& layer : result.layers) {
    if (layer.sparsity >= 0 || layer.int8Sparsity >= 0) sparse.push_back(&layer);
  }
  if (units.empty() && sparse.empty()) {
    placeholder(plot, run->label() + " has no technique figures (qat, pruning and distillation add them).");
    return;
  }
  int panels = 0;
  // The first panel uses the plot's own axis rect and legend; later ones get their own.
  auto panel = [&](QCPLegend*& legend) {
    QCPAxisRect* rect = plot->axisRect();
    legend = plot->legend;
    if (panels > 0) {
      rect = new QCPAxisRect(plot);
      plot->plotLayout()->addElement(panels, 0, rect);
      legend = new QCPLegend;
      rect->insetLayout()->addElement(legend, Qt::AlignTop | Qt::AlignRight);
      legend->setLayer("legend");
    }
    legend->setVisible(true);
    // Stacked panels share their left and right margins, so that their axes line up.
    if (!figureMargins_) figureMargins_ = new QCPMarginGroup(plot);
    rect->setMarginGroup(QCP::msLeft | QCP::msRight, figureMargins_);
    ++panels;
    return rect;
  };
  auto barsIn = [&](QCPAxisRect* rect, QCPLegend* legend, const QString& name, const QColor& color) {
    auto* bars = new QCPBars(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    bars->setName(name);
    bars->setBrush(color);
    bars->setPen(Qt::NoPen);
    if (legend != plot->legend) {
      bars->removeFromLegend();
      bars->addToLegend(legend);
    }
    return bars;
  };
  auto valueLabel = [&](QCPAxisRect* rect, double x, double y, const QString& text) {
    auto* item = new QCPItemText(plot);
    item->position->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    item->position->setCoords(x, y);
    item->setPositionAlignment(Qt::AlignHCenter | (y >= 0 ? Qt::AlignBottom : Qt::AlignTop));
    item->setClipAxisRect(rect);
    item->setText(text);
    item->setFont(QFont(plot->font().family(), 8));
  };
  for (const auto& unit : units) {
    QCPLegend* legend = nullptr;
    QCPAxisRect* rect = panel(legend);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    double x = 0, low = 0, high = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      QVector<double> ticks, values;
      for (const auto& f : result.figures) {
        if (f.unit != unit || f.group != groups[g]) continue;
        x += 1;
        ticks << x;
        values << f.value;
        ticker->addTick(x, QString::fromStdString(f.name));
        if (std::isfinite(f.value)) {
          low = std::min(low, f.value);
          high = std::max(high, f.value);
        }
        valueLabel(rect, x, std::isfinite(f.value) ? f.value : 0, formatFigure(f.value, f.unit));
      }
      if (ticks.isEmpty()) continue;
      QCPBars* bars = barsIn(rect, legend, QString::fromStdString(groups[g]), paletteColor(g));
      bars->setWidth(0.7);
      bars->setData(ticks, values, /*alreadySorted=*/true);
      x += 0.5;  // a gap between groups
    }
    QCPAxis* xAxis = rect->axis(QCPAxis::atBottom);
    QCPAxis* yAxis = rect->axis(QCPAxis::atLeft);
    xAxis->setTicker(ticker);
    xAxis->setTickLabelRotation(ticker->ticks().size() > 4 ? 25 : 0);
    xAxis->setRange(0.3, x + 0.2);
    yAxis->setLabel(unit.empty() ? QString("value")
                                 : QString("value (%1)").arg(QString::fromStdString(unit)));
    const double pad = (high - low) * 0.15 + 1e-9;
    yAxis->setRange(low < 0 ? low - pad : 0, high + pad);
  }
  if (!sparse.empty()) {
    QCPLegend* legend = nullptr;
    QCPAxisRect* rect = panel(legend);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    QVector<double> floatTicks, floatValues, int8Ticks, int8Values;
    for (size_t i = 0; i < sparse.size(); ++i) {
      const LayerQuantization& layer = *sparse[i];
      const double x = double(i + 1);
      ticker->addTick(
          x, QString::fromStdString(layer.layer) +
                 (layer.channelsRemoved > 0 ? QString("\n%1 ch. removed").arg(layer.channelsRemoved) : ""));
      if (layer.sparsity >= 0) {
        floatTicks << x;
        floatValues << layer.sparsity * 100;
      }
      if (layer.int8Sparsity >= 0) {
        int8Ticks << x;
        int8Values << layer.int8Sparsity * 100;
      }
    }
    auto* group = new QCPBarsGroup(plot);
    const bool both = !floatTicks.isEmpty() && !int8Ticks.isEmpty();
    for (auto [name, color, ticks, values] :
         {std::tuple{QString("fp32 weights = 0"), kOriginalColor, &floatTicks, &floatValues},
          std::tuple{QString("int8 weights = zero point"), kRunColor, &int8Ticks, &int8Values}}) {
      if (ticks->isEmpty()) continue;
      QCPBars* bars = barsIn(rect, legend, name, color);
      bars->setWidth(both ? 0.38 : 0.7);
      bars->setBarsGroup(group);
      bars->setData(*ticks, *values, /*alreadySorted=*/true);
    }
    QCPAxis* xAxis = rect->axis(QCPAxis::atBottom);
    xAxis->setTicker(ticker);
    xAxis->setTickLabelRotation(sparse.size() > 5 ? 40 : 0);
    xAxis->setRange(0.3, double(sparse.size()) + 0.7);
    rect->axis(QCPAxis::atLeft)->setLabel(QString("zero weights (%), %1").arg(run->label()));
    rect->axis(QCPAxis::atLeft)->setRange(0, 105);
  }
}

}  // namespace quantscope::ui
