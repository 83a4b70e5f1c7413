#pragma once
// The Layers table: one row per layer of the open model (type, parameters, shapes, dtype, which techniques
// can quantize it) and, for mixed precision, the bits the selected run gave each layer.
#include <QAbstractTableModel>
#include <vector>

#include "core/model/model.h"
#include "core/results/run_result.h"

namespace quantscope::ui {

class LayersModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Name, Type, Parameters, Shapes, Dtype, QuantizableBy, Bits, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;

  int rowCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : int(layers_.size());
  }
  int columnCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : ColumnCount;
  }
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  // The open model's layers (from Model::inspect()); clears the Bits column.
  void setLayers(const std::vector<LayerInfo>& layers);
  // The selected run's per-layer record for the Bits column; empty (or a run that set no bits) leaves the
  // column empty.
  void setRunLayers(const std::vector<LayerQuantization>& runLayers);
  QString cellText(int row, int column) const;

 private:
  std::vector<LayerInfo> layers_;
  std::vector<QString> bits_;  // one per row of layers_
};

}  // namespace quantscope::ui
