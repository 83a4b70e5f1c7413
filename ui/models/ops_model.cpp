#include "ui/models/ops_model.h"

#include <QColor>

#include "core/results/report_text.h"

namespace quantscope::ui {

QString OpsModel::cellText(int row, int column) const {
  const OpTime& op = profile_.ops[size_t(row)];
  switch (column) {
    case Operator:
      return QString::fromStdString(op.op);
    case RunsAs:
      return QString::fromStdString(toString(op.precision));
    case Calls:
      return QString::number(op.calls);
    case MsPerForward:
      return QString::number(op.totalMs, 'f', 3);
    case Share:
      return QString::fromStdString(formatPercent(op.share));
  }
  return {};
}

QVariant OpsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  if (role == Qt::DisplayRole) return cellText(index.row(), index.column());
  // Float operators are the answer to "why wasn't int8 faster?": they stand out.
  if (role == Qt::ForegroundRole && profile_.ops[size_t(index.row())].precision == OpPrecision::Float)
    return QColor(176, 0, 32);
  return {};
}

QVariant OpsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= ColumnCount)
    return {};
  static const char* names[] = {"Operator", "Runs as", "Calls", "ms / forward", "Share"};
  return names[section];
}

void OpsModel::setProfile(const OpProfile& profile) {
  beginResetModel();
  profile_ = profile;
  endResetModel();
}

}  // namespace quantscope::ui
