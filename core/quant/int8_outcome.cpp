#include "core/quant/int8_outcome.h"

#include <QJsonDocument>
#include <QJsonObject>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/internal/layer_outputs.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"

namespace quantscope {
namespace {

int countQuantizedOps(const std::shared_ptr<torch::jit::Graph>& graph) {
  int count = 0;
  forEachNode(graph, [&](torch::jit::Node* node) {
    const std::string kind = node->kind().toQualString();
    if (kind.rfind("quantized::", 0) == 0 && kind.find("prepack") == std::string::npos) ++count;
  });
  return count;
}

Model int8ModelNamed(const Int8ModelSource& s, const std::vector<LayerQuantization>& layers) {
  QJsonObject record{{"technique", QString::fromStdString(s.technique)},
                     {"recipe", QString::fromStdString(s.recipe->name)},
                     {"engine", QString::fromStdString(s.engine)}};
  for (const auto& [key, value] : s.record)
    record[QString::fromStdString(key)] = QString::fromStdString(value);
  const std::string json = QJsonDocument(record).toJson(QJsonDocument::Compact).toStdString();
  Model model = makeDerivedModel(s.quantized, *s.original, s.technique + " int8", s.engine, json);
  recordLayerNames(model, layers);
  return model;
}

}  // namespace

Model int8Model(const Int8ModelSource& s) {
  return int8ModelNamed(s, reportWeightQuantization(s.floatReference, s.quantized, convAndLinearTypes()));
}

QuantizationOutcome describeInt8Model(const Int8ModelSource& s) {
  auto graph = s.quantized.get_method("forward").graph();
  if (countQuantizedOps(graph) == 0) {
    throw Error("No layer of the model could be quantized by '" + s.technique + "'; nothing was written.",
                "These techniques act on Conv and Linear layers.");
  }
  // One weight report serves the saved model's layer names and the outcome's rows.
  std::vector<LayerQuantization> layers =
      reportWeightQuantization(s.floatReference, s.quantized, convAndLinearTypes());
  QuantizationOutcome outcome{
      int8ModelNamed(s, layers), s.technique, s.params, s.recipe->name, s.engine, {}, {}, false};
  outcome.layers = std::move(layers);
  try {
    addLayerOutputSqnr(s.floatReference, s.quantized, s.sampleInputs, outcome.layers, &s.floatLayerOutputs);
  } catch (const std::exception& e) {
    outcome.notes.push_back("Per-layer output SQNR not measured: " + shortTorchMessage(e));
  }
  const bool batchNormLeft = outcome.model.graphOperators().count("aten::batch_norm") > 0;
  for (auto& layer : outcome.layers) {
    if (layer.opKind.rfind("BatchNorm", 0) != 0) continue;
    layer.scheme = batchNormLeft ? "stays float: a batch norm that follows no convolution cannot be folded"
                                 : "folded into the preceding convolution's int8 weights and bias";
  }
  outcome.notes.push_back(recipeNote(*s.recipe, s.engine));
  return outcome;
}

}  // namespace quantscope
