// The item models behind the window's Runs, Layers and Ops tables, on a real model's inspection, real runs
// and a real operator profile (no widgets).
#include <QColor>
#include <QtTest>

#include "core/data/dataset.h"
#include "core/model/model.h"
#include "core/results/report_text.h"
#include "core/runtime/op_profile.h"
#include "core/workflow.h"
#include "tests/test_support.h"
#include "ui/models/layers_model.h"
#include "ui/models/ops_model.h"
#include "ui/models/runs_model.h"

using namespace quantscope;
using namespace quantscope::ui;

namespace {

QString cell(const QAbstractItemModel& model, int row, int column, int role = Qt::DisplayRole) {
  return model.data(model.index(row, column), role).toString();
}

int rowOf(const QAbstractItemModel& model, const QString& name) {
  for (int r = 0; r < model.rowCount(); ++r) {
    if (cell(model, r, 0) == name) return r;
  }
  return -1;
}

}  // namespace

class TestTableModels : public QObject {
  Q_OBJECT
 private slots:
  void layersOfTheDigitsModel() {
    const Model model = Model::load(builtinDigitsModelPath());
    const ModelInfo info = model.inspect();
    LayersModel layers;
    layers.setLayers(info.layers);
    QCOMPARE(layers.rowCount(), 8);  // conv1, bn1, conv2, bn2, conv3, bn3, fc1, fc2
    QCOMPARE(layers.columnCount(), 7);
    QCOMPARE(layers.headerData(LayersModel::Bits, Qt::Horizontal, Qt::DisplayRole).toString(),
             QString("Bits (selected run)"));
    QCOMPARE(cell(layers, 0, LayersModel::Name), QString("conv1"));
    QCOMPARE(cell(layers, 6, LayersModel::Name), QString("fc1"));
    QCOMPARE(cell(layers, 6, LayersModel::Type), QString("Linear"));
    QCOMPARE(cell(layers, 6, LayersModel::Parameters), QString::number(info.layers[6].parameterCount));
    QVERIFY(info.layers[6].parameterCount > 0);
    QVERIFY(cell(layers, 6, LayersModel::Shapes).startsWith("weight "));
    QCOMPARE(cell(layers, 6, LayersModel::Dtype), QString("float32"));
    QVERIFY(cell(layers, 6, LayersModel::QuantizableBy).split(' ').contains("dynamic"));
    QCOMPARE(cell(layers, 1, LayersModel::Type), QString("BatchNorm2d"));
    QVERIFY(cell(layers, 6, LayersModel::Bits).isEmpty());
    QVERIFY(!layers.index(8, 0).isValid());
  }

  void bitsColumnFollowsTheRun() {
    const Model model = Model::load(builtinDigitsModelPath());
    LayersModel layers;
    layers.setLayers(model.inspect().layers);
    const Dataset calibration = Dataset::load(DataSource{"digits:train"}, model.inputSpec());
    const RunResult mixed = quantize_only(model, "mixed", {{"bits_weights", "4"}}, &calibration);
    QSignalSpy changed(&layers, &QAbstractItemModel::dataChanged);
    layers.setRunLayers(mixed.layers);
    QCOMPARE(changed.count(), 1);
    QVERIFY2(cell(layers, rowOf(layers, "fc1"), LayersModel::Bits).startsWith("w4"),
             qPrintable(cell(layers, rowOf(layers, "fc1"), LayersModel::Bits)));
    for (const auto& l : mixed.layers) {
      const int row = rowOf(layers, QString::fromStdString(l.layer));
      if (row >= 0)
        QCOMPARE(cell(layers, row, LayersModel::Bits), QString::fromStdString(formatLayerBits(l)));
    }
    // A run whose technique set no bits leaves the column empty.
    const RunResult dynamic = quantize_only(model, "dynamic");
    layers.setRunLayers(dynamic.layers);
    for (int r = 0; r < layers.rowCount(); ++r) QVERIFY(cell(layers, r, LayersModel::Bits).isEmpty());
  }

  void opsOfADynamicModelAndRuns() {
    const Model model = Model::load(builtinDigitsModelPath());
    std::optional<Model> quantized;
    const RunResult run = quantize_only(model, "dynamic", {}, nullptr, {}, &quantized);
    const OpProfile profile = profileOperators(*quantized, *quantized->inputSpec(), 3);
    QVERIFY(!profile.ops.empty());
    OpsModel ops;
    QCOMPARE(ops.rowCount(), 0);
    ops.setProfile(profile);
    QCOMPARE(ops.rowCount(), int(profile.ops.size()));
    QCOMPARE(ops.columnCount(), 5);
    QCOMPARE(ops.headerData(OpsModel::MsPerForward, Qt::Horizontal, Qt::DisplayRole).toString(),
             QString("ms / forward"));
    // Dynamic int8 runs the Linear layers on quantized::linear_dynamic; the convolutions stay float (red).
    const int linear = rowOf(ops, "quantized::linear_dynamic");
    QVERIFY2(linear >= 0, "no quantized::linear_dynamic row");
    QCOMPARE(cell(ops, linear, OpsModel::RunsAs), QString("int8"));
    QCOMPARE(cell(ops, linear, OpsModel::Calls), QString::number(profile.ops[size_t(linear)].calls));
    QVERIFY(ops.data(ops.index(linear, 0), Qt::ForegroundRole).isNull());
    int floats = 0;
    for (int r = 0; r < ops.rowCount(); ++r) {
      const bool isFloat = profile.ops[size_t(r)].precision == OpPrecision::Float;
      QCOMPARE(cell(ops, r, OpsModel::Operator), QString::fromStdString(profile.ops[size_t(r)].op));
      QCOMPARE(cell(ops, r, OpsModel::RunsAs) == "float", isFloat);
      QCOMPARE(ops.data(ops.index(r, 0), Qt::ForegroundRole).value<QColor>(),
               isFloat ? QColor(176, 0, 32) : QColor());
      floats += isFloat;
    }
    QVERIFY(floats > 0);
    QCOMPARE(cell(ops, 0, OpsModel::Share), QString::fromStdString(formatPercent(profile.ops[0].share)));
    ops.setProfile({});
    QCOMPARE(ops.rowCount(), 0);

    RunsModel runs;
    RunEntry entry;
    entry.id = 3;
    entry.result = run;
    runs.add(entry);
    QCOMPARE(runs.rowCount(), 1);
    QCOMPARE(runs.columnCount(), int(RunsModel::ColumnCount));
    QCOMPARE(cell(runs, 0, RunsModel::Run), QString("#3"));
    QCOMPARE(cell(runs, 0, RunsModel::Technique), QString("dynamic"));
    QCOMPARE(cell(runs, 0, RunsModel::Size),
             QString::fromStdString(formatBytes(run.sizes.quantized.serializedBytes)));
    QVERIFY(run.sizes.serializedRatio > 1.5);
    QCOMPARE(cell(runs, 0, RunsModel::SizeRatio), QString("%1x").arg(run.sizes.serializedRatio, 0, 'f', 2));
    QCOMPARE(cell(runs, 0, RunsModel::Top1), QString("-"));  // nothing evaluated
  }
};

QTEST_GUILESS_MAIN(TestTableModels)
#include "test_table_models.moc"
