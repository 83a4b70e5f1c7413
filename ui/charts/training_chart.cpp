// The Training chart: loss per step and per epoch, train/validation accuracy, per series; live while a run
// trains, the selected run's curve afterwards.
#include <qcustomplot.h>

#include <algorithm>

#include "ui/charts/chart_style.h"
#include "ui/charts/result_charts.h"

namespace quantscope::ui {
namespace {

using namespace chart_style;

std::vector<std::string> seriesInOrder(const TrainingCurve& curve) {
  std::vector<std::string> names;
  for (const auto& p : curve) {
    if (std::find(names.begin(), names.end(), p.series) == names.end()) names.push_back(p.series);
  }
  return names;
}

}  // namespace

void drawTrainingChart(QCustomPlot* plot, const TrainingCurve& curve, const QString& label, bool live) {
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

}  // namespace quantscope::ui
