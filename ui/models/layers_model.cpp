#include "ui/models/layers_model.h"

#include <QStringList>
#include <algorithm>

#include "core/results/report_text.h"
#include "core/technique_registry.h"

namespace quantscope::ui {

QString LayersModel::cellText(int row, int column) const {
  const LayerInfo& layer = layers_[size_t(row)];
  switch (column) {
    case Name:
      return QString::fromStdString(layer.name);
    case Type:
      return QString::fromStdString(layer.type);
    case Parameters:
      return QString::number(layer.parameterCount);
    case Shapes: {
      QStringList shapes;
      for (const auto& shape : layer.parameterShapes) shapes << QString::fromStdString(shape);
      return shapes.join(", ");
    }
    case Dtype:
      return QString::fromStdString(layer.dtype);
    case QuantizableBy: {
      // A technique that is registered but not available (yet) is starred; the view's tooltip says so.
      QStringList by;
      for (const auto& t : layer.quantizableBy)
        by << QString::fromStdString(t) + (TechniqueRegistry::instance().find(t).available ? "" : "*");
      return by.join(" ");
    }
    case Bits:
      return bits_[size_t(row)];
  }
  return {};
}

QVariant LayersModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  if (role == Qt::DisplayRole) return cellText(index.row(), index.column());
  return {};
}

QVariant LayersModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  static const char* names[] = {"Layer", "Type",           "Parameters",         "Shapes",
                                "Dtype", "Quantizable by", "Bits (selected run)"};
  if (role == Qt::DisplayRole) return names[section];
  if (role == Qt::ToolTipRole && section == Bits)
    return "Mixed precision: the layer's weight and activation bits in the selected run (w4 a8), or float.";
  return {};
}

void LayersModel::setLayers(const std::vector<LayerInfo>& layers) {
  beginResetModel();
  layers_ = layers;
  bits_.assign(layers_.size(), QString());
  endResetModel();
}

void LayersModel::setRunLayers(const std::vector<LayerQuantization>& runLayers) {
  // Only a run whose technique set bits fills the column: the others leave it empty rather than "float".
  const bool anyBits = std::any_of(runLayers.begin(), runLayers.end(), [](const LayerQuantization& l) {
    return l.weightBits != 0 || l.activationBits != 0;
  });
  for (size_t r = 0; r < layers_.size(); ++r) {
    QString text;
    if (anyBits) {
      for (const auto& l : runLayers) {
        if (l.layer == layers_[r].name) text = QString::fromStdString(formatLayerBits(l));
      }
    }
    bits_[r] = text;
  }
  if (!layers_.empty()) emit dataChanged(index(0, Bits), index(rowCount() - 1, Bits));
}

}  // namespace quantscope::ui
