#include "ui/models/runs_model.h"

#include <cmath>

#include "core/results/report_text.h"

namespace quantscope::ui {
namespace {

QString params(const RunResult& r) {
  QStringList parts;
  for (const auto& [key, value] : r.params) parts << QString::fromStdString(key + "=" + value);
  return parts.join(", ");
}

}  // namespace

QString RunsModel::cellText(int row, int column) const {
  const RunResult& r = runs_[size_t(row)].result;
  switch (column) {
    case Run:
      return QString("#%1").arg(runs_[size_t(row)].id);
    case Technique:
      return QString::fromStdString(r.technique) + (r.simulated ? " (simulated)" : "");
    case Params:
      return params(r);
    case RecipeEngine:
      return QString::fromStdString(r.recipe + " on " + r.engine);
    case Size:
      return QString::fromStdString(formatBytes(r.sizes.quantized.serializedBytes));
    case SizeRatio:
      return QString("%1x").arg(r.sizes.serializedRatio, 0, 'f', 2);
    case Top1:
      return r.quantizedAccuracy.available ? QString::fromStdString(formatPercent(r.quantizedAccuracy.top1))
                                           : "-";
    case Top1Delta:
      return r.quantizedAccuracy.available
                 ? QString("%1 pt").arg((r.quantizedAccuracy.top1 - r.originalAccuracy.top1) * 100, 0, 'f', 2)
                 : "-";
    case Agreement:
      return QString::fromStdString(formatPercent(r.fidelity.top1Agreement));
    case Sqnr:
      return QString::fromStdString(formatSqnr(r.fidelity.sqnrDb));
    case LatencyMedian:
      return QString("%1 ms").arg(r.quantizedLatency.medianMs, 0, 'f', 3);
    case LatencyP90:
      return QString("%1 ms").arg(r.quantizedLatency.p90Ms, 0, 'f', 3);
    case Speedup:
      return r.quantizedLatency.medianMs > 0
                 ? QString("%1x").arg(r.originalLatency.medianMs / r.quantizedLatency.medianMs, 0, 'f', 2)
                 : "-";
  }
  return {};
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  if (role == Qt::DisplayRole) return cellText(index.row(), index.column());
  if (role == Qt::ToolTipRole) {
    const RunResult& r = runs_[size_t(index.row())].result;
    return QString::fromStdString(
        "Original: " + formatBytes(r.sizes.original.serializedBytes) + ", top-1 " +
        (r.originalAccuracy.available ? formatPercent(r.originalAccuracy.top1) : "-") + ", median " +
        std::to_string(r.originalLatency.medianMs) + " ms\nData: " + r.datasetName + " (" +
        std::to_string(r.datasetSize) + ")");
  }
  if (role == Qt::TextAlignmentRole && index.column() >= Size) return int(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"Run",     "Technique", "Parameters", "Recipe / engine", "Size",
                                "Smaller", "Top-1",     "Δ top-1",    "Agreement",       "SQNR",
                                "Median",  "p90",       "Speed-up"};
  return names[section];
}

void RunsModel::add(const RunEntry& entry) {
  beginInsertRows({}, int(runs_.size()), int(runs_.size()));
  runs_.push_back(entry);
  endInsertRows();
}

void RunsModel::clear() {
  beginResetModel();
  runs_.clear();
  endResetModel();
}

}  // namespace quantscope::ui
