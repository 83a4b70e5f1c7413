#pragma once
// The runs table: one row per finished run, with sizes, accuracy, fidelity, latency and the ratios.
#include <QAbstractTableModel>
#include <vector>

#include "ui/models/run_entry.h"

namespace quantscope::ui {

class RunsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column {
    Run,
    Technique,
    Params,
    RecipeEngine,
    Size,
    SizeRatio,
    Top1,
    Top1Delta,
    Agreement,
    Sqnr,
    LatencyMedian,
    LatencyP90,
    Speedup,
    ColumnCount
  };
  using QAbstractTableModel::QAbstractTableModel;

  int rowCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : int(runs_.size());
  }
  int columnCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : ColumnCount;
  }
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  void add(const RunEntry& entry);
  void clear();
  const std::vector<RunEntry>& runs() const { return runs_; }
  QString cellText(int row, int column) const;

 private:
  std::vector<RunEntry> runs_;
};

}  // namespace quantscope::ui
