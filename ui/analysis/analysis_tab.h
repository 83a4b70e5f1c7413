#pragma once
// The Analyze tab: the quant analyzer's result for the loaded model — the four-way comparison, both sweep
// curves, simulated vs real per layer, per-channel weight ranges of a chosen layer, and the recommendation
// with an Apply button that asks the window to run it as a normal run.
#include <QWidget>
#include <optional>

#include "core/analysis/quant_analysis.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;

namespace quantscope::ui {

class AnalysisTab : public QWidget {
  Q_OBJECT
 public:
  explicit AnalysisTab(QWidget* parent = nullptr);

  void showAnalysis(const QuantAnalysis& analysis);
  const std::optional<QuantAnalysis>& analysis() const { return analysis_; }

 Q_SIGNALS:
  // The recommendation's technique and parameters, to run as a normal run.
  void applyRequested(const QString& technique, const quantscope::ParamValues& params);

 private:
  void drawSweeps();
  void drawRanges();

  std::optional<QuantAnalysis> analysis_;
  QLabel* header_ = nullptr;
  QTableWidget* fourWay_ = nullptr;
  QCustomPlot* sweepChart_ = nullptr;
  QTableWidget* simVsReal_ = nullptr;
  QComboBox* rangeLayer_ = nullptr;
  QCustomPlot* rangeChart_ = nullptr;
  QLabel* recommendation_ = nullptr;
  QPushButton* apply_ = nullptr;
};

}  // namespace quantscope::ui
