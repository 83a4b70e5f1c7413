#pragma once
// The Ops table: the selected run's measured per-operator time, and whether each operator ran on int8
// kernels, on float, or converted between them. Float operators are shown in red.
#include <QAbstractTableModel>

#include "core/runtime/op_profile.h"

namespace quantscope::ui {

class OpsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Operator, RunsAs, Calls, MsPerForward, Share, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;

  int rowCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : int(profile_.ops.size());
  }
  int columnCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : ColumnCount;
  }
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  void setProfile(const OpProfile& profile);  // an empty profile empties the table
  const OpProfile& profile() const { return profile_; }
  QString cellText(int row, int column) const;

 private:
  OpProfile profile_;
};

}  // namespace quantscope::ui
