#include "ui/charts.h"

#include <qcustomplot.h>

#include <QScrollArea>

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
  // Only the technique-figures chart stacks more axis rects (one per unit) and legend columns; the first axis
  // rect always stays.
  QCPAxisRect* main = plot->axisRect();
  QCPLayoutGrid* layout = plot->plotLayout();
  for (int i = layout->elementCount() - 1; i >= 0; --i) {
    if (layout->elementAt(i) && layout->elementAt(i) != main) layout->removeAt(i);
  }
  layout->simplify();
  layout->setRowStretchFactor(0, 1);
  layout->setColumnStretchFactor(0, 1);
  layout->setRowSpacing(5);
  main->setMinimumSize(50, 50);
  main->setMinimumMargins(QMargins(15, 15, 15, 15));
  plot->legend->setVisible(false);
  for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    axis->setTickLabelRotation(0);
    axis->setLabel({});
    axis->setTickLabels(true);
    axis->setRangeReversed(false);
    axis->setTickLength(5, 0);
    axis->setSubTicks(true);
    axis->grid()->setVisible(true);
    axis->setTickLabelFont(plot->font());
    axis->setLabelFont(plot->font());
    axis->setTickLabelPadding(3);
    axis->setLabelPadding(3);
    axis->setPadding(0);
  }
  plot->xAxis2->setVisible(false);
  plot->yAxis2->setVisible(false);
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

// A figure's value with its unit: "98.6 %", "54.7 KiB", "0.13 s".
QString formatFigure(double value, const std::string& unit) {
  if (!std::isfinite(value)) return "n/a";
  if (unit == "B") return QString::fromStdString(formatBytes(int64_t(value)));
  const double magnitude = std::abs(value);
  QString number;
  if (unit == "%" || unit == "pt") {
    number = QString::number(value, 'f', magnitude < 1 && magnitude > 0 ? 2 : 1);
  } else if (unit == "s" || unit == "ms") {
    // Two significant digits at least, no more decimals than that.
    const int decimals = magnitude > 0 ? std::clamp(1 - int(std::floor(std::log10(magnitude))), 0, 4) : 0;
    number = QString::number(value, 'f', decimals);
  } else {
    number = magnitude >= 1000 ? QString::number(value, 'f', 0) : QString::number(value, 'g', 4);
  }
  return number + (unit.empty() ? "" : " " + QString::fromStdString(unit));
}

// The figure panels' order: percentages, sizes, times, points, then anything else.
int unitOrder(const std::string& unit) {
  static const char* order[] = {"%", "B", "s", "ms", "pt"};
  for (int i = 0; i < 5; ++i) {
    if (unit == order[i]) return i;
  }
  return 5;
}

QString unitAxisLabel(const std::string& unit) {
  if (unit == "%") return "percent (%)";
  if (unit == "s") return "time (s)";
  if (unit == "ms") return "time (ms)";
  if (unit == "pt") return "percentage points (pt)";
  return unit.empty() ? QString("value") : QString("value (%1)").arg(QString::fromStdString(unit));
}

// Ticks of a byte axis at round numbers of KiB or MiB; the bars keep their values in bytes.
class ScaledTicker : public QCPAxisTicker {
 public:
  explicit ScaledTicker(double scale) : scale_(scale) {}

 protected:
  double getTickStep(const QCPRange& range) override {
    return QCPAxisTicker::getTickStep(QCPRange(range.lower / scale_, range.upper / scale_)) * scale_;
  }
  int getSubTickCount(double tickStep) override { return QCPAxisTicker::getSubTickCount(tickStep / scale_); }
  QString getTickLabel(double tick, const QLocale& locale, QChar formatChar, int precision) override {
    return QCPAxisTicker::getTickLabel(tick / scale_, locale, formatChar, precision);
  }

 private:
  double scale_;
};

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
    if (c != TechniqueFigures) {
      addTab(plots_[c], title(Chart(c)));
      continue;
    }
    // The figures stack a panel per unit, each row at a readable height: when a run has more rows than the
    // tab has room for, the chart grows and scrolls (with the wheel too: it neither drags nor zooms).
    plots_[c]->setInteractions({});
    auto* scroll = new QScrollArea;
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setWidget(plots_[c]);
    addTab(scroll, title(Chart(c)));
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
  const RunEntry* detail =
      detailRun >= 0 && detailRun < int(runs.size()) ? &runs[size_t(detailRun)] : nullptr;
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
  categoryBars(
      plot, runs, original,
      [&](const RunEntry& r) {
        top = std::max(top, r.result.sizes.quantized.serializedBytes / 1024.0);
        return r.result.sizes.quantized.serializedBytes / 1024.0;
      },
      "archive size (KiB)");
  fitY(plot, 0, top);
}

void ChartPanel::drawAccuracy(const std::vector<RunEntry>& runs) {
  QCustomPlot* plot = plots_[Accuracy];
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

void ChartPanel::drawLatency(const std::vector<RunEntry>& runs) {
  QCustomPlot* plot = plots_[Latency];
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

void ChartPanel::drawTradeoff(Chart chart, const std::vector<RunEntry>& runs, bool bySize) {
  QCustomPlot* plot = plots_[chart];
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
  plot->xAxis->setLabel(
      QString("weight value, layer %1 (%2)").arg(QString::fromStdString(layer->layer), run->label()));
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
  // Right, half-way up: by the end of a training the losses have come down and the accuracies gone up.
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignVCenter | Qt::AlignRight);
}

void ChartPanel::drawFigures(const RunEntry* run) {
  QCustomPlot* plot = plots_[TechniqueFigures];
  reset(plot);
  plot->setMinimumHeight(220);
  if (!run) return;
  const RunResult& result = run->result;
  // Horizontal bars, one row per figure (its name on the left, its value at the end of the bar), in one panel
  // per unit (bars of different units never share an axis), then a panel of per-layer sparsity.
  std::vector<std::string> units, groups;
  for (const auto& f : result.figures) {
    if (std::find(units.begin(), units.end(), f.unit) == units.end()) units.push_back(f.unit);
    if (std::find(groups.begin(), groups.end(), f.group) == groups.end()) groups.push_back(f.group);
  }
  std::stable_sort(units.begin(), units.end(),
                   [](const std::string& a, const std::string& b) { return unitOrder(a) < unitOrder(b); });
  std::vector<const LayerQuantization*> sparse;
  for (const auto& layer : result.layers) {
    if (layer.sparsity >= 0 || layer.int8Sparsity >= 0) sparse.push_back(&layer);
  }
  if (units.empty() && sparse.empty()) {
    placeholder(plot, run->label() + " has no technique figures (qat, pruning and distillation add them).");
    return;
  }

  struct Bar {
    double key, value;
    QString text;
  };
  struct Series {
    QString name;
    QColor color;
    double width;
    std::vector<Bar> bars;
  };
  struct Panel {
    std::string unit;
    QVector<double> rowKeys;
    QVector<QString> rowLabels;
    std::vector<Series> series;
    double rowsHigh = 0;  // in bar heights: the panel's share of the chart's height
  };
  std::vector<Panel> panels;
  const double groupGap = 0.4;
  for (const auto& unit : units) {
    Panel p;
    p.unit = unit;
    double key = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      Series s{QString::fromStdString(groups[g]), paletteColor(g), 0.7, {}};
      for (const auto& f : result.figures) {
        if (f.unit != unit || f.group != groups[g]) continue;
        key += 1;
        p.rowKeys << key;
        p.rowLabels << QString::fromStdString(f.name);
        s.bars.push_back({key, f.value, formatFigure(f.value, f.unit)});
      }
      if (s.bars.empty()) continue;
      p.series.push_back(std::move(s));
      key += groupGap;  // a gap between groups
    }
    p.rowsHigh = double(p.rowKeys.size());
    panels.push_back(std::move(p));
  }
  if (!sparse.empty()) {
    // Two bars per layer: fp32 zero weights above, int8 weights at the zero point below.
    Panel p;
    p.unit = "%";
    Series floats{"fp32 weights = 0", kOriginalColor, 0.4, {}},
        int8s{"int8 weights = zero point", kRunColor, 0.4, {}};
    for (size_t i = 0; i < sparse.size(); ++i) {
      const LayerQuantization& layer = *sparse[i];
      const double key = double(i + 1);
      p.rowKeys << key;
      p.rowLabels << QString::fromStdString(layer.layer) +
                         (layer.channelsRemoved > 0 ? QString(" (%1 ch. removed)").arg(layer.channelsRemoved)
                                                    : "");
      if (layer.sparsity >= 0) {
        floats.bars.push_back({key - 0.21, layer.sparsity * 100, formatFigure(layer.sparsity * 100, "%")});
      }
      if (layer.int8Sparsity >= 0) {
        int8s.bars.push_back(
            {key + 0.21, layer.int8Sparsity * 100, formatFigure(layer.int8Sparsity * 100, "%")});
      }
    }
    if (floats.bars.empty() || int8s.bars.empty()) {
      for (Series* s : {&floats, &int8s}) {
        s->width = 0.7;
        for (Bar& b : s->bars) b.key = std::round(b.key);
      }
    }
    for (Series* s : {&floats, &int8s}) {
      if (!s->bars.empty()) p.series.push_back(std::move(*s));
    }
    p.rowsHigh = double(p.rowKeys.size()) * (p.series.size() > 1 ? 1.8 : 1.0);
    panels.push_back(std::move(p));
  }

  const QFont valueFont(plot->font().family(), 8);
  const double kMinRowHeight = 12;  // pixels per bar
  QCPLayoutGrid* layout = plot->plotLayout();
  layout->setRowSpacing(2);
  if (!figureMargins_) figureMargins_ = new QCPMarginGroup(plot);
  for (size_t i = 0; i < panels.size(); ++i) {
    const Panel& p = panels[i];
    const bool isSparsity = !sparse.empty() && i + 1 == panels.size();
    // The first panel uses the plot's own axis rect; the others are stacked below it.
    QCPAxisRect* rect = plot->axisRect();
    if (i > 0) {
      rect = new QCPAxisRect(plot);
      layout->addElement(int(i), 0, rect);
    }
    rect->setMarginGroup(QCP::msLeft | QCP::msRight, figureMargins_);  // stacked axes line up
    rect->setMinimumMargins(QMargins(10, i == 0 ? 8 : 2, 15, 2));
    rect->setMinimumSize(0, int(p.rowsHigh * kMinRowHeight) + 4);
    // Each panel's height follows its number of rows (plus room for its value axis).
    layout->setRowStretchFactor(int(i), p.rowsHigh + 1.5);

    // The legend (and, on top, the run) in a column on the right, outside the bars.
    auto* side = new QCPLayoutGrid;
    layout->addElement(int(i), 1, side);
    int sideRow = 0;
    if (i == 0) {
      auto* title = new QCPTextElement(plot, run->label(), QFont(plot->font().family(), 9, QFont::Bold));
      title->setMargins(QMargins(2, 6, 2, 2));
      side->addElement(sideRow++, 0, title);
    }
    auto* legend = new QCPLegend;
    side->addElement(sideRow, 0, legend);
    legend->setLayer("legend");
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
    legend->setIconSize(14, 10);
    legend->setRowSpacing(0);
    side->addElement(sideRow + 1, 0, new QCPLayoutElement(plot));  // takes the rest of the height
    for (int r = 0; r <= sideRow; ++r) side->setRowStretchFactor(r, 0.001);
    side->setRowStretchFactor(sideRow + 1, 1);

    QCPAxis* keyAxis = rect->axis(QCPAxis::atLeft);
    QCPAxis* valueAxis = rect->axis(QCPAxis::atBottom);
    // Compact value axes: the stacked panels share a small window.
    valueAxis->setTickLabelFont(valueFont);
    valueAxis->setLabelFont(valueFont);
    valueAxis->setTickLabelPadding(2);
    valueAxis->setLabelPadding(1);
    QSharedPointer<QCPAxisTickerText> rows(new QCPAxisTickerText);
    rows->addTicks(p.rowKeys, p.rowLabels);
    keyAxis->setTicker(rows);
    keyAxis->setRangeReversed(true);  // the first row on top
    keyAxis->setRange(0.4, p.rowKeys.isEmpty() ? 1.6 : p.rowKeys.back() + 0.6);
    keyAxis->setPadding(6);  // the longest row label does not touch the edge
    keyAxis->setTickLength(0, 0);
    keyAxis->setSubTicks(false);
    keyAxis->grid()->setVisible(false);

    double low = 0, high = 0;
    bool any = false;
    for (const Series& s : p.series) {
      for (const Bar& b : s.bars) {
        if (!std::isfinite(b.value)) continue;
        low = any ? std::min(low, b.value) : b.value;
        high = any ? std::max(high, b.value) : b.value;
        any = true;
      }
    }
    QString axisLabel = unitAxisLabel(p.unit);
    double lower = std::min(0.0, low), upper = std::max(0.0, high);
    if (isSparsity) {
      axisLabel = "zero weights (%)";
      lower = 0;
      upper = std::max(100.0, high);
    } else if (p.unit == "%" && any && high <= 100) {
      lower = 0;
      upper = 100;
      // Values all close to 100 %: zoom so that 98.6 and 99.3 differ visibly, and say so.
      for (double from : {95.0, 90.0, 80.0}) {
        if (low >= 80 && from <= low - std::max(1.0, 0.3 * (high - low))) {
          lower = from;
          axisLabel += QString(", axis from %1").arg(from);
          break;
        }
      }
    } else {
      const double pad = 0.04 * (upper - lower);
      if (high > 0) upper += pad;
      if (low < 0) lower -= pad;
      if (upper - lower < 1e-12) upper = lower + 1;
    }
    valueAxis->setLabel(axisLabel);
    valueAxis->setRange(lower, upper);
    if (p.unit == "B") {
      const double scale = high >= 1024.0 * 1024.0 ? 1024.0 * 1024.0 : high >= 1024.0 ? 1024.0 : 1.0;
      valueAxis->setTicker(QSharedPointer<QCPAxisTicker>(new ScaledTicker(scale)));
      valueAxis->setLabel(QString("size (%1)").arg(scale > 1024 ? "MiB" : scale > 1 ? "KiB" : "B"));
    }

    for (const Series& s : p.series) {
      auto* bars = new QCPBars(keyAxis, valueAxis);
      bars->setName(s.name);
      bars->setBrush(s.color);
      bars->setPen(Qt::NoPen);
      bars->setWidth(s.width);
      QVector<double> keys, values;
      for (const Bar& b : s.bars) {
        keys << b.key;
        values << b.value;
      }
      bars->setData(keys, values, /*alreadySorted=*/true);
      bars->removeFromLegend();
      bars->addToLegend(legend);
      // Room for the text's descenders: the small icon no longer sets the item's height.
      legend->item(legend->itemCount() - 1)->setMargins(QMargins(0, 2, 0, 2));
      // The value at the end of each bar: inside a long bar (in white), after a short one.
      for (const Bar& b : s.bars) {
        const double v = std::isfinite(b.value) ? std::clamp(b.value, lower, upper) : lower;
        const double reach =
            std::abs(v - (v >= 0 ? std::max(lower, 0.0) : std::min(upper, 0.0))) / (upper - lower);
        const bool inside = reach > 0.6;
        auto* text = new QCPItemText(plot);
        text->setClipAxisRect(rect);
        text->position->setAxes(valueAxis, keyAxis);
        text->position->setCoords(v, b.key);
        const bool towardsRight = (v >= 0) != inside;
        text->setPositionAlignment((towardsRight ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
        text->setPadding(QMargins(4, 0, 4, 0));
        text->setFont(valueFont);
        text->setColor(inside ? Qt::white : Qt::black);
        text->setText(b.text);
      }
    }
  }
  layout->setColumnStretchFactor(0, 1);
  layout->setColumnStretchFactor(1, 0.001);
  // Below this height the rows would get thinner than kMinRowHeight: the tab scrolls instead.
  double rows = 0;
  for (const Panel& p : panels) rows += p.rowsHigh;
  plot->setMinimumHeight(std::max(220, int(rows * kMinRowHeight) + int(panels.size()) * 44));
}

}  // namespace quantscope::ui
