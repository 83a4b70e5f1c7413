// The Technique figures chart: a run's own measured figures as horizontal bars, one panel per unit, and
// per-layer sparsity for pruning runs.
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

#include "core/results/report_text.h"
#include "ui/charts/chart_style.h"
#include "ui/charts/result_charts.h"

namespace quantscope::ui {
namespace {

using namespace chart_style;

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

}  // namespace

void drawFiguresChart(QCustomPlot* plot, const RunEntry* run) {
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
  QCPMarginGroup* figureMargins = marginGroup(plot, "figureMargins");
  for (size_t i = 0; i < panels.size(); ++i) {
    const Panel& p = panels[i];
    const bool isSparsity = !sparse.empty() && i + 1 == panels.size();
    // The first panel uses the plot's own axis rect; the others are stacked below it.
    QCPAxisRect* rect = plot->axisRect();
    if (i > 0) {
      rect = new QCPAxisRect(plot);
      layout->addElement(int(i), 0, rect);
    }
    rect->setMarginGroup(QCP::msLeft | QCP::msRight, figureMargins);  // stacked axes line up
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
