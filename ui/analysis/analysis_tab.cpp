#include "ui/analysis/analysis_tab.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ui/charts/chart_style.h"

namespace quantscope::ui {
namespace {

using namespace chart_style;

QString dbText(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  return QString::number(db, 'f', 1) + " dB";
}

// Infinite SQNRs (identical outputs) are drawn at the top of the chart's scale.
double plottedDb(double db) { return std::isinf(db) ? (db > 0 ? 80.0 : -20.0) : db; }

QTableWidget* newTable(const QStringList& headers, const char* name) {
  auto* table = new QTableWidget(0, int(headers.size()));
  table->setObjectName(name);
  table->setHorizontalHeaderLabels(headers);
  table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table->horizontalHeader()->setStretchLastSection(true);
  table->verticalHeader()->setVisible(false);
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  return table;
}

void setRow(QTableWidget* table, int row, const QStringList& cells, const QColor& background = {}) {
  for (int c = 0; c < cells.size(); ++c) {
    auto* item = new QTableWidgetItem(cells[c]);
    if (background.isValid()) item->setBackground(background);
    table->setItem(row, c, item);
  }
}

void categoryAxis(QCPAxis* axis, const QVector<QString>& labels) {
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (int i = 0; i < labels.size(); ++i) ticker->addTick(i, labels[i]);
  axis->setTicker(ticker);
  axis->setSubTicks(false);
  axis->setTickLabelRotation(labels.size() > 6 ? 60 : 0);
  axis->setRange(-0.5, double(labels.size()) - 0.5);
}

}  // namespace

AnalysisTab::AnalysisTab(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  header_ = new QLabel(
      "Analyze (Run > Analyze) measures where int8 loses accuracy for the loaded model, data "
      "and the recipe of the technique form (qconfig, engine, observer, calib_samples).");
  header_->setObjectName("analysisHeader");
  header_->setWordWrap(true);
  layout->addWidget(header_);

  auto* grid = new QGridLayout;
  fourWay_ = newTable({"", "How", "Metric", "Drop", "SQNR vs fp32"}, "analysisFourWay");
  fourWay_->setToolTip(
      "Weights only and activations only are fake-quantized (simulated) with the ranges the "
      "calibration chose; full int8 runs on the int8 kernels, as fx makes it.");
  grid->addWidget(fourWay_, 0, 0);
  sweepChart_ = newPlot();
  sweepChart_->setObjectName("analysisSweepChart");
  sweepChart_->setToolTip(
      "Model output SQNR with only this layer int8 (the rest float), and with only this "
      "layer float (the rest int8); int8 kernels, one calibration.");
  grid->addWidget(sweepChart_, 0, 1);
  simVsReal_ = newTable({"Layer", "Simulated", "Engine", "Other engine", "Note"}, "analysisSimVsReal");
  simVsReal_->setToolTip(
      "Each layer's output SQNR against the float layer; gaps above 3 dB are flagged (red).");
  grid->addWidget(simVsReal_, 1, 0);
  auto* rangeBox = new QWidget;
  auto* rangeLayout = new QVBoxLayout(rangeBox);
  rangeLayout->setContentsMargins(0, 0, 0, 0);
  rangeLayer_ = new QComboBox;
  rangeLayer_->setObjectName("analysisRangeLayer");
  rangeLayer_->setToolTip("Layer whose per-channel weight ranges are shown; outlier channels in red.");
  rangeChart_ = newPlot();
  rangeChart_->setObjectName("analysisRangeChart");
  rangeLayout->addWidget(rangeLayer_);
  rangeLayout->addWidget(rangeChart_, 1);
  grid->addWidget(rangeBox, 1, 1);
  grid->setColumnStretch(0, 1);
  grid->setColumnStretch(1, 1);
  layout->addLayout(grid, 1);

  auto* bottom = new QHBoxLayout;
  recommendation_ = new QLabel;
  recommendation_->setObjectName("analysisRecommendation");
  recommendation_->setWordWrap(true);
  recommendation_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  apply_ = new QPushButton("Apply");
  apply_->setObjectName("analysisApply");
  apply_->setEnabled(false);
  apply_->setToolTip("Run the recommended technique with these parameters as a normal run.");
  bottom->addWidget(recommendation_, 1);
  bottom->addWidget(apply_);
  layout->addLayout(bottom);

  connect(rangeLayer_, &QComboBox::currentIndexChanged, this, [this] { drawRanges(); });
  connect(apply_, &QPushButton::clicked, this, [this] {
    if (!analysis_) return;
    Q_EMIT applyRequested(QString::fromStdString(analysis_->recommendation.technique),
                          analysis_->recommendation.params);
  });
  placeholder(sweepChart_, "Run Analyze to see the per-layer sweeps.");
  placeholder(rangeChart_, "Run Analyze to see the weight ranges per channel.");
}

void AnalysisTab::showAnalysis(const QuantAnalysis& a) {
  analysis_ = a;
  header_->setText(QString("%1 on %2 (%3 samples), recipe qconfig=%4 on %5; calibrated on %6 samples of %7.")
                       .arg(QString::fromStdString(a.metricName), QString::fromStdString(a.dataName))
                       .arg(a.evalSamples)
                       .arg(QString::fromStdString(a.recipe.at("qconfig")), QString::fromStdString(a.engine))
                       .arg(a.calibrationSamples)
                       .arg(QString::fromStdString(a.calibrationName)));
  fourWay_->setRowCount(int(a.fourWay.size()) + 1);
  for (size_t i = 0; i < a.fourWay.size(); ++i) {
    const FourWayRow& r = a.fourWay[i];
    setRow(
        fourWay_, int(i),
        {QString::fromStdString(r.name), QString::fromStdString(r.how),
         QString::number(r.measured.metric, 'f', 2) + " %", QString::number(r.measured.drop, 'f', 2) + " pt",
         r.name == "fp32" ? "" : dbText(r.measured.sqnrDb)});
  }
  const CalibrationStability& s = a.stability;
  setRow(fourWay_, int(a.fourWay.size()),
         {"stability", QString("%1 calibration subsets of %2").arg(s.runs.size()).arg(s.subsetSize),
          QString("%1 ± %2 %").arg(s.metricMean, 0, 'f', 2).arg(s.metricSpread, 0, 'f', 2), "",
          QString("%1 ± %2 dB").arg(s.sqnrMean, 0, 'f', 1).arg(s.sqnrSpread, 0, 'f', 2)});

  simVsReal_->setHorizontalHeaderLabels(
      {"Layer", "Simulated", QString::fromStdString(a.engine),
       a.otherEngine.empty() ? "Other engine" : QString::fromStdString(a.otherEngine), "Note"});
  simVsReal_->setRowCount(int(a.simulatedVsReal.size()));
  for (size_t i = 0; i < a.simulatedVsReal.size(); ++i) {
    const LayerSimulatedVsReal& r = a.simulatedVsReal[i];
    setRow(simVsReal_, int(i),
           {QString::fromStdString(r.layer), r.hasSimulated ? dbText(r.simulatedDb) : "-",
            r.hasReal ? dbText(r.realDb) : "-", r.hasOtherEngine ? dbText(r.otherEngineDb) : "-",
            QString::fromStdString(r.note)},
           r.flagged ? QColor(255, 205, 205) : QColor());
  }

  const QSignalBlocker block(rangeLayer_);
  rangeLayer_->clear();
  int widest = 0;
  size_t mostOutliers = 0;
  for (size_t i = 0; i < a.ranges.size(); ++i) {
    rangeLayer_->addItem(QString::fromStdString(a.ranges[i].layer));
    if (a.ranges[i].outlierChannels.size() > mostOutliers) {
      mostOutliers = a.ranges[i].outlierChannels.size();
      widest = int(i);
    }
  }
  rangeLayer_->setCurrentIndex(widest);

  QString text = "<b>Recommendation:</b> " + QString::fromStdString(a.recommendation.summary).toHtmlEscaped();
  text += "<br><b>Apply:</b> " + QString::fromStdString(a.recommendation.technique) + " with " +
          QString::fromStdString(a.recommendation.paramText()).toHtmlEscaped();
  if (!a.worstLayers.empty()) {
    text += "<br><b>Worst layers:</b> ";
    for (size_t i = 0; i < a.worstLayers.size() && i < 5; ++i)
      text += (i ? ", " : "") + QString::fromStdString(a.worstLayers[i]);
  }
  recommendation_->setText(text);
  QString findings;
  for (const auto& f : a.recommendation.findings) findings += "• " + QString::fromStdString(f) + "\n";
  recommendation_->setToolTip(findings.trimmed());
  apply_->setEnabled(!a.recommendation.technique.empty());
  drawSweeps();
  drawRanges();
}

void AnalysisTab::drawSweeps() {
  reset(sweepChart_);
  const QuantAnalysis& a = *analysis_;
  if (a.enableOne.empty()) {
    placeholder(sweepChart_, "No layer could be swept.");
    return sweepChart_->replot();
  }
  QVector<QString> labels;
  QVector<double> x, enabled, disabled;
  for (size_t i = 0; i < a.enableOne.size(); ++i) {
    labels << QString::fromStdString(a.enableOne[i].layer);
    x << double(i);
    enabled << plottedDb(a.enableOne[i].measured.sqnrDb);
    double d = qQNaN();
    for (const auto& p : a.disableOne)
      if (p.layer == a.enableOne[i].layer) d = plottedDb(p.measured.sqnrDb);
    disabled << d;
  }
  QCPGraph* on = sweepChart_->addGraph();
  on->setName("only this layer int8 (rest float)");
  on->setData(x, enabled);
  on->setPen(QPen(kRunColor, 2));
  on->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
  QCPGraph* off = sweepChart_->addGraph();
  off->setName("only this layer float (rest int8)");
  off->setData(x, disabled);
  off->setPen(QPen(kFrontColor, 2));
  off->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 6));
  QCPGraph* base = sweepChart_->addGraph();
  base->setName("full int8");
  base->setData({-0.5, double(x.size()) - 0.5},
                {plottedDb(a.sweepBaseline.sqnrDb), plottedDb(a.sweepBaseline.sqnrDb)});
  base->setPen(QPen(kOriginalColor, 1, Qt::DashLine));
  categoryAxis(sweepChart_->xAxis, labels);
  sweepChart_->yAxis->setLabel("model output SQNR vs fp32 (dB)");
  double low = 1e9, high = -1e9;
  for (const QVector<double>* v : {&enabled, &disabled}) {
    for (double y : *v) {
      if (std::isnan(y)) continue;
      low = std::min(low, y), high = std::max(high, y);
    }
  }
  fitY(sweepChart_, std::min(low, plottedDb(a.sweepBaseline.sqnrDb)),
       std::max(high, plottedDb(a.sweepBaseline.sqnrDb)));
  sweepChart_->legend->setVisible(true);
  sweepChart_->legend->setFont(QFont(sweepChart_->font().family(), 8));
  sweepChart_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
  sweepChart_->replot();
}

void AnalysisTab::drawRanges() {
  reset(rangeChart_);
  if (!analysis_ || rangeLayer_->currentIndex() < 0 ||
      rangeLayer_->currentIndex() >= int(analysis_->ranges.size())) {
    placeholder(rangeChart_, "Run Analyze to see the weight ranges per channel.");
    return rangeChart_->replot();
  }
  const LayerRanges& r = analysis_->ranges[size_t(rangeLayer_->currentIndex())];
  QVector<double> x, normal, outlier;
  double high = 0;
  for (size_t c = 0; c < r.channelRanges.size(); ++c) {
    const bool isOutlier =
        std::find(r.outlierChannels.begin(), r.outlierChannels.end(), int(c)) != r.outlierChannels.end();
    x << double(c);
    normal << (isOutlier ? 0.0 : r.channelRanges[c]);
    outlier << (isOutlier ? r.channelRanges[c] : 0.0);
    high = std::max(high, r.channelRanges[c]);
  }
  auto* bars = new QCPBars(rangeChart_->xAxis, rangeChart_->yAxis);
  bars->setName("channel weight range (max - min)");
  bars->setData(x, normal);
  bars->setBrush(kRunColor);
  bars->setPen(Qt::NoPen);
  auto* outliers = new QCPBars(rangeChart_->xAxis, rangeChart_->yAxis);
  outliers->setName(QString("outlier (> %1x the median %2)")
                        .arg(analysis_->outlierFactor, 0, 'g', 3)
                        .arg(r.medianChannelRange, 0, 'g', 3));
  outliers->setData(x, outlier);
  outliers->setBrush(QColor(200, 30, 30));
  outliers->setPen(Qt::NoPen);
  QCPGraph* median = rangeChart_->addGraph();
  median->setName(QString("%1x median").arg(analysis_->outlierFactor, 0, 'g', 3));
  median->setData({-0.5, double(x.size()) - 0.5}, {analysis_->outlierFactor * r.medianChannelRange,
                                                   analysis_->outlierFactor * r.medianChannelRange});
  median->setPen(QPen(kOriginalColor, 1, Qt::DashLine));
  rangeChart_->xAxis->setLabel("output channel");
  rangeChart_->xAxis->setRange(-0.5, double(x.size()) - 0.5);
  QString activation;
  if (r.hasActivationRange)
    activation = QString("; output activations [%1, %2]")
                     .arg(r.activationMin, 0, 'g', 3)
                     .arg(r.activationMax, 0, 'g', 3);
  rangeChart_->yAxis->setLabel("weight range" + activation);
  fitY(rangeChart_, 0, std::max(high, analysis_->outlierFactor * r.medianChannelRange));
  rangeChart_->legend->setVisible(true);
  rangeChart_->legend->setFont(QFont(rangeChart_->font().family(), 8));
  rangeChart_->replot();
}

}  // namespace quantscope::ui
