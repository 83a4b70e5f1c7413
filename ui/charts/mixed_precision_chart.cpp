// The Mixed precision chart: for the selected run, each layer's sensitivity to each candidate bit-width as a
// heat map (colour: the metric's drop in points, each cell also written out with its output SQNR) and the
// configurations the automatic search evaluated as file size vs metric, with the Pareto front, the pick,
// the float model's metric and the budget.
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "core/results/report_text.h"
#include "ui/charts/chart_style.h"
#include "ui/charts/result_charts.h"

namespace quantscope::ui {
namespace {

using namespace chart_style;

const QColor kPickColor(49, 163, 84);
const QColor kBudgetColor(200, 30, 30);

// "max_acc_drop=1 pt" -> 1 for key "max_acc_drop"; nothing when the budget is about something else.
std::optional<double> budgetValue(const std::string& budget, const std::string& key) {
  if (budget.rfind(key + "=", 0) != 0) return std::nullopt;
  const char* start = budget.c_str() + key.size() + 1;
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start || !std::isfinite(value)) return std::nullopt;
  return value;
}

QString sqnrText(double db) {
  if (std::isinf(db)) return db > 0 ? "inf dB" : "-inf dB";
  if (std::isnan(db)) return "n/a";
  return QString::number(db, 'f', 1) + " dB";
}

// Text over lines of at most ~`width` characters, split at `separator` and joined with `glue`: an
// assignment "conv1=8,conv2=4,fc1=float" at commas, a sentence at spaces.
QString wrap(const std::string& text, QChar separator, const QString& glue, int width) {
  const QStringList parts = QString::fromStdString(text).split(separator);
  QStringList lines{QString()};
  for (const QString& part : parts) {
    if (!lines.back().isEmpty() && lines.back().size() + part.size() + glue.size() > width)
      lines << QString();
    lines.back() += (lines.back().isEmpty() ? "" : glue) + part;
  }
  return lines.join('\n');
}

QCPTextElement* panelTitle(QCustomPlot* plot, const QString& text) {
  auto* element = new QCPTextElement(plot, text, QFont(plot->font().family(), 9, QFont::Bold));
  element->setMargins(QMargins(4, 4, 4, 0));
  return element;
}

QCPTextElement* note(QCustomPlot* plot, const QString& text, const QColor& color) {
  auto* element = new QCPTextElement(plot, text, QFont(plot->font().family(), 8));
  element->setTextColor(color);
  element->setMargins(QMargins(4, 2, 4, 4));
  return element;
}

void categoryAxis(QCPAxis* axis, const QVector<double>& ticks, const QVector<QString>& labels) {
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  ticker->addTicks(ticks, labels);
  axis->setTicker(ticker);
  axis->setTickLength(0, 0);
  axis->setSubTicks(false);
  axis->grid()->setVisible(false);
  axis->setRange(-0.5, double(ticks.size()) - 0.5);
}

// The heat map: bits along the bottom, layers down the side (the first on top), the drop as colour.
void drawSensitivity(QCustomPlot* plot, QCPAxisRect* rect, QCPColorScale* scale,
                     const MixedPrecisionReport& m) {
  const SensitivityGrid grid = sensitivityGrid(m);
  const auto& layers = grid.layers;
  const auto& bits = grid.bits;
  const int nb = int(bits.size()), nl = int(layers.size());
  QCPAxis* bitAxis = rect->axis(QCPAxis::atBottom);
  QCPAxis* layerAxis = rect->axis(QCPAxis::atLeft);
  QVector<double> bitTicks, layerTicks;
  QVector<QString> bitLabels, layerLabels;
  for (int i = 0; i < nb; ++i) {
    bitTicks << i;
    bitLabels << QString::fromStdString(bits[size_t(i)]) + "-bit weights";
  }
  for (int i = 0; i < nl; ++i) {
    layerTicks << i;
    layerLabels << QString::fromStdString(layers[size_t(i)]);
  }
  categoryAxis(bitAxis, bitTicks, bitLabels);
  categoryAxis(layerAxis, layerTicks, layerLabels);
  layerAxis->setRangeReversed(true);
  bitAxis->setLabel("one layer's weights at");
  layerAxis->setPadding(4);

  auto* map = new QCPColorMap(bitAxis, layerAxis);
  map->setName("sensitivity");
  map->removeFromLegend();  // the colour scale explains it
  map->setInterpolate(false);
  // QCPColorMap spreads cells between the first and last cell's centres, so a dimension of one cell would
  // have no width: such a dimension gets two equal cells covering the same unit.
  const int keyCells = nb == 1 ? 2 : nb, valueCells = nl == 1 ? 2 : nl;
  map->data()->setSize(keyCells, valueCells);
  map->data()->setRange(nb == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, nb - 1),
                        nl == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, nl - 1));
  for (int k = 0; k < keyCells; ++k) {
    for (int v = 0; v < valueCells; ++v) map->data()->setCell(k, v, NAN);  // not measured
  }
  double low = 0, high = 1.0;  // drops under a point stay pale
  for (const auto& row : m.sensitivity) {
    if (!std::isfinite(row.drop)) continue;
    low = std::min(low, row.drop);
    high = std::max(high, row.drop);
  }
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorStopAt(0.0, QColor(255, 255, 229));
  gradient.setColorStopAt(0.3, QColor(254, 217, 118));
  gradient.setColorStopAt(0.6, QColor(253, 141, 60));
  gradient.setColorStopAt(1.0, QColor(165, 15, 21));
  gradient.setNanHandling(QCPColorGradient::nhNanColor);
  gradient.setNanColor(QColor(225, 225, 225));
  map->setColorScale(scale);
  scale->setGradient(gradient);
  scale->setDataRange(QCPRange(low, high));
  scale->axis()->setLabel("metric drop (pt)");
  scale->setBarWidth(10);

  const QFont cellFont(plot->font().family(), 8);
  for (const auto& row : m.sensitivity) {
    const int k = int(std::find(bits.begin(), bits.end(), row.bits) - bits.begin());
    const int v = int(std::find(layers.begin(), layers.end(), row.layer) - layers.begin());
    for (int kk = k; kk < (nb == 1 ? 2 : k + 1); ++kk) {
      for (int vv = v; vv < (nl == 1 ? 2 : v + 1); ++vv) map->data()->setCell(kk, vv, row.drop);
    }
    auto* text = new QCPItemText(plot);
    text->setClipAxisRect(rect);
    text->position->setAxes(bitAxis, layerAxis);
    text->position->setCoords(k, v);
    text->setPositionAlignment(Qt::AlignCenter);
    text->setTextAlignment(Qt::AlignCenter);
    text->setFont(cellFont);
    const bool dark = std::isfinite(row.drop) && (row.drop - low) / (high - low) > 0.55;
    text->setColor(dark ? Qt::white : Qt::black);
    text->setText((std::isfinite(row.drop) ? QString::number(row.drop, 'f', 2) + " pt" : QString("n/a")) +
                  "\n" + sqnrText(row.sqnrDb));
  }
}

// The search: one point per configuration, the front as a step line, the pick ringed, float and budget.
void drawSearch(QCustomPlot* plot, QCPAxisRect* rect, const MixedPrecisionReport& m) {
  QCPAxis* x = rect->axis(QCPAxis::atBottom);
  QCPAxis* y = rect->axis(QCPAxis::atLeft);
  QVector<double> xs, ys, fx, fy, px, py;
  std::vector<const SearchCandidate*> front;
  for (const auto& c : m.candidates) {
    xs << double(c.fileBytes) / 1024.0;
    ys << c.metric;
    if (c.pareto) front.push_back(&c);
    if (c.picked) {
      px << xs.back();
      py << ys.back();
    }
  }
  std::stable_sort(front.begin(), front.end(), [](const SearchCandidate* a, const SearchCandidate* b) {
    return a->fileBytes < b->fileBytes;
  });
  for (const SearchCandidate* c : front) {
    fx << double(c->fileBytes) / 1024.0;
    fy << c->metric;
  }
  auto* all = plot->addGraph(x, y);
  all->setName("configurations");
  all->setLineStyle(QCPGraph::lsNone);
  all->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, kRunColor, QColor(33, 113, 181, 90), 7));
  all->setData(xs, ys, /*alreadySorted=*/false);
  auto* pareto = plot->addGraph(x, y);
  pareto->setName("Pareto front");
  pareto->setPen(QPen(kFrontColor, 1.5));
  pareto->setLineStyle(QCPGraph::lsStepLeft);
  pareto->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, kFrontColor, kFrontColor, 8));
  pareto->setData(fx, fy, /*alreadySorted=*/true);
  auto* picked = plot->addGraph(x, y);
  picked->setName("picked");
  picked->setLineStyle(QCPGraph::lsNone);
  picked->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kPickColor, 2.5), Qt::NoBrush, 17));
  picked->setData(px, py, /*alreadySorted=*/true);

  const QFont labelFont(plot->font().family(), 8);
  auto lineLabel = [&](double kx, double ky, Qt::Alignment alignment, const QString& text,
                       const QColor& color) {
    auto* label = new QCPItemText(plot);
    label->setClipAxisRect(rect);
    label->position->setAxes(x, y);
    label->position->setCoords(kx, ky);
    label->setPositionAlignment(alignment);
    label->setPadding(QMargins(3, 1, 3, 1));
    label->setFont(labelFont);
    label->setColor(color);
    label->setText(text);
    return label;
  };
  auto straightLine = [&](double x1, double y1, double x2, double y2, const QPen& pen) {
    auto* line = new QCPItemStraightLine(plot);
    line->setClipAxisRect(rect);
    line->point1->setAxes(x, y);
    line->point2->setAxes(x, y);
    line->point1->setCoords(x1, y1);
    line->point2->setCoords(x2, y2);
    line->setPen(pen);
    return line;
  };

  double xLow = *std::min_element(xs.begin(), xs.end()), xHigh = *std::max_element(xs.begin(), xs.end());
  double yLow = *std::min_element(ys.begin(), ys.end()), yHigh = *std::max_element(ys.begin(), ys.end());
  const bool hasFloat = std::isfinite(m.floatMetric);
  if (hasFloat) {
    yLow = std::min(yLow, m.floatMetric);
    yHigh = std::max(yHigh, m.floatMetric);
  }
  const std::optional<double> maxDrop = budgetValue(m.budget, "max_acc_drop");
  const std::optional<double> maxKb = budgetValue(m.budget, "max_size_kb");
  if (maxDrop && hasFloat) {
    yLow = std::min(yLow, m.floatMetric - *maxDrop);
    yHigh = std::max(yHigh, m.floatMetric - *maxDrop);
  }
  if (maxKb) {
    xLow = std::min(xLow, *maxKb);
    xHigh = std::max(xHigh, *maxKb);
  }
  const double xPad = std::max((xHigh - xLow) * 0.08, std::max(0.5, xHigh * 0.02));
  const double yPad = std::max((yHigh - yLow) * 0.12, 0.25);
  x->setRange(std::max(0.0, xLow - xPad), xHigh + xPad);
  y->setRange(yLow - yPad, std::min(yHigh + yPad * 1.5, std::max(100.0, yHigh)));

  if (hasFloat) {
    straightLine(0, m.floatMetric, 1, m.floatMetric, QPen(kOriginalColor, 1.5));
    lineLabel(x->range().upper, m.floatMetric, Qt::AlignRight | Qt::AlignBottom,
              QString("float %1 %").arg(m.floatMetric, 0, 'f', 2), kOriginalColor);
  }
  if (maxDrop && hasFloat) {
    const double level = m.floatMetric - *maxDrop;
    straightLine(0, level, 1, level, QPen(kBudgetColor, 1.5, Qt::DashLine));
    lineLabel(x->range().upper, level, Qt::AlignRight | Qt::AlignTop,
              QString("budget: drop at most %1 pt").arg(*maxDrop), kBudgetColor);
  }
  if (maxKb) {
    straightLine(*maxKb, 0, *maxKb, 1, QPen(kBudgetColor, 1.5, Qt::DashLine));
    lineLabel(*maxKb, y->range().lower, Qt::AlignLeft | Qt::AlignBottom,
              QString("budget: at most %1 KiB").arg(*maxKb), kBudgetColor);
  }
  if (!px.isEmpty()) {
    // Above and left of the ring, clear of it.
    lineLabel(px[0], py[0], Qt::AlignRight | Qt::AlignBottom, "picked", kPickColor)
        ->setPadding(QMargins(3, 1, 10, 7));
  }

  x->setLabel("file size (KiB)");
  y->setLabel(QString::fromStdString(m.metricName.empty() ? std::string("metric") : m.metricName) + " (%)");
}

}  // namespace

void drawMixedPrecisionChart(QCustomPlot* plot, const RunEntry* run) {
  reset(plot);
  plot->setMinimumHeight(220);
  if (!run) return;
  const MixedPrecisionReport& m = run->result.mixedPrecision;
  if (m.empty()) {
    placeholder(plot,
                run->label() + " has no mixed-precision report (the mixed-precision technique adds it).");
    return;
  }
  // One grid: titles on top; the search's scatter, the heat map and its colour scale side by side; notes
  // below. The plot's own axis rect holds the scatter (or the heat map when there was no search) and stays
  // the grid's first axis rect, the one chart_style::reset() keeps.
  const bool heat = !m.sensitivity.empty(), search = !m.candidates.empty();
  QCPLayoutGrid* layout = plot->plotLayout();
  QCPAxisRect* main = plot->axisRect();
  layout->take(main);
  layout->simplify();
  QCPMarginGroup* mixedMargins = marginGroup(plot, "mixedMargins");
  if (search) {
    QString text = QString("Search: %1 configurations").arg(m.candidates.size());
    if (!m.search.empty() && m.search != "none")
      text += QString(" (%1)").arg(QString::fromStdString(m.search));
    layout->addElement(0, 0, panelTitle(plot, text));
    layout->addElement(1, 0, main);
    main->setMarginGroup(QCP::msTop | QCP::msBottom, mixedMargins);
    drawSearch(plot, main, m);
    plot->legend->setVisible(true);
    plot->legend->setFont(QFont(plot->font().family(), 8));
    plot->legend->setIconSize(28, 20);  // room for the pick's ring
    main->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    for (const auto& c : m.candidates) {
      if (c.picked)
        layout->addElement(
            2, 0, note(plot, "picked: " + wrap(c.assignment, ',', ", ", 70), kPickColor.darker(130)));
    }
  }
  const int heatColumn = search ? 1 : 0;
  if (heat) {
    QCPAxisRect* rect = search ? new QCPAxisRect(plot) : main;
    auto* scale = new QCPColorScale(plot);
    layout->addElement(
        0, heatColumn,
        panelTitle(plot, "Sensitivity: one layer's weights quantized, the other weights float"));
    layout->addElement(1, heatColumn, rect);
    layout->addElement(1, heatColumn + 1, scale);
    rect->setMarginGroup(QCP::msTop | QCP::msBottom, mixedMargins);
    scale->setMarginGroup(QCP::msTop | QCP::msBottom, mixedMargins);
    drawSensitivity(plot, rect, scale, m);
  }
  if (!m.stoppedEarly.empty()) {
    const int row = layout->rowCount() > 2 && layout->element(2, 0) ? 3 : 2;
    layout->addElement(row, 0,
                       note(plot, wrap("Stopped early: " + m.stoppedEarly, ' ', " ", 60), kFrontColor));
  }
  for (int r = 0; r < layout->rowCount(); ++r) layout->setRowStretchFactor(r, r == 1 ? 1 : 0.001);
  for (int c = 0; c < layout->columnCount(); ++c) {
    const bool isScale = heat && c == heatColumn + 1;
    layout->setColumnStretchFactor(c, isScale ? 0.001 : c == 0 && search ? 1.3 : 1.0);
  }
  // A readable height per layer row: with many layers the tab scrolls.
  const size_t layers = sensitivityGrid(m).layers.size();
  plot->setMinimumHeight(std::max(220, int(layers) * 30 + 110));
}

}  // namespace quantscope::ui
