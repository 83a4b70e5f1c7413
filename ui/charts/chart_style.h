#pragma once
// What every result chart shares: colours, a fresh plot, clearing one, the "why is it empty"
// text, and the y range with headroom. Internal to ui/charts/.
#include <QColor>
#include <QString>
#include <cstddef>

class QCustomPlot;
class QCPMarginGroup;

namespace quantscope::ui::chart_style {

extern const QColor kOriginalColor;  // fp32 / the original model
extern const QColor kRunColor;       // quantized runs
extern const QColor kFrontColor;     // highlights: the Pareto front

QCustomPlot* newPlot();
// Removes plottables, items and extra axis rects and legends, leaving one empty axis rect.
void reset(QCustomPlot* plot);
// A line of text in the middle of an empty chart, saying why it is empty.
void placeholder(QCustomPlot* plot, const QString& text);
// Series colours of the training chart and groups of the figures chart.
QColor paletteColor(size_t i);
// The plot's margin group called `name`, made on first use; panels in it line up.
QCPMarginGroup* marginGroup(QCustomPlot* plot, const QString& name);
void fitY(QCustomPlot* plot, double low, double high);

}  // namespace quantscope::ui::chart_style
