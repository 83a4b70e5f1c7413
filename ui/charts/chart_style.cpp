#include "ui/charts/chart_style.h"

#include <qcustomplot.h>

namespace quantscope::ui::chart_style {

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

QColor paletteColor(size_t i) {
  static const QColor colors[] = {QColor(33, 113, 181),  QColor(214, 96, 39), QColor(49, 163, 84),
                                  QColor(117, 107, 177), QColor(140, 86, 75), QColor(227, 119, 194)};
  return colors[i % (sizeof(colors) / sizeof(colors[0]))];
}

QCPMarginGroup* marginGroup(QCustomPlot* plot, const QString& name) {
  // Owned by the plot and kept across redraws: reset() deletes the axis rects, which leave their groups.
  if (auto* group = plot->findChild<QCPMarginGroup*>(name, Qt::FindDirectChildrenOnly)) return group;
  auto* group = new QCPMarginGroup(plot);
  group->setObjectName(name);
  return group;
}

void fitY(QCustomPlot* plot, double low, double high) {
  const double pad = (high - low) * 0.1 + 1e-9;
  plot->yAxis->setRange(low, high + pad);
}

}  // namespace quantscope::ui::chart_style
