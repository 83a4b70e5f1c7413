// Model inspection: every parameter with its dtype and bytes (packed int8 weights unpacked), the
// layers table, and the operators of the forward graph.
#include <torch/csrc/jit/passes/inliner.h>

#include <QJsonDocument>
#include <QJsonObject>

#include "core/internal/dynamic_rnn.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/model/model.h"
#include "core/technique_registry.h"

namespace quantscope {
namespace {

int64_t tensorBytes(const torch::Tensor& t) {
  // 4-bit rows (quint4x2) hold two values a byte.
  int64_t bytes = t.scalar_type() == at::kQUInt4x2 ? (t.numel() + 1) / 2
                                                   : t.numel() * static_cast<int64_t>(t.element_size());
  if (t.is_quantized() && (t.qscheme() == at::kPerChannelAffine || t.qscheme() == at::kPerChannelSymmetric ||
                           t.qscheme() == at::kPerChannelAffineFloatQParams)) {
    bytes += t.q_per_channel_scales().nbytes() + t.q_per_channel_zero_points().nbytes();
  }
  return bytes;
}

void addTensor(std::vector<ParameterRecord>& out, const std::string& owner, const std::string& ownerType,
               const std::string& name, const torch::Tensor& t) {
  ParameterRecord record{owner, ownerType, name, dtypeName(t), t.sizes().vec(), t.numel(), tensorBytes(t), t};
  out.push_back(std::move(record));
}

// Packed quantized weights are custom-class objects; their own unpack ops give the int8 tensors back.
bool addPackedParams(std::vector<ParameterRecord>& out, const std::string& owner, const std::string& name,
                     const c10::IValue& value) {
  if (!value.isObject()) return false;
  const std::string typeName = value.type()->str();
  const char* unpackOp = nullptr;
  const char* kind = nullptr;
  if (typeName.find("LinearPackedParams") != std::string::npos) {
    unpackOp = "quantized::linear_unpack";
    kind = "QuantizedLinear";
  } else if (typeName.find("Conv2dPackedParams") != std::string::npos) {
    unpackOp = "quantized::conv2d_unpack";
    kind = "QuantizedConv2d";
  } else if (typeName.find("EmbeddingPackedParams") != std::string::npos) {
    unpackOp = "quantized::embedding_bag_unpack";
    kind = "QuantizedEmbedding";
  } else {
    return false;
  }
  torch::jit::Stack stack{value};
  c10::Dispatcher::singleton().findSchemaOrThrow(unpackOp, "").callBoxed(&stack);
  // Boxed calls leave each output on the stack: (weight, optional bias).
  addTensor(out, owner, kind, name + ".weight", stack.at(0).toTensor());
  if (stack.size() > 1 && stack.at(1).isTensor())
    addTensor(out, owner, kind, name + ".bias", stack.at(1).toTensor());
  return true;
}

}  // namespace

std::string dtypeName(const torch::Tensor& t) {
  std::string name = c10::toString(t.scalar_type());
  // c10 spells them "Float", "QInt8", ...; users know torch's lower-case names.
  static const std::map<std::string, std::string> known{
      {"Float", "float32"},     {"Double", "float64"},   {"Half", "float16"},  {"Long", "int64"},
      {"Int", "int32"},         {"QInt8", "qint8"},      {"QUInt8", "quint8"}, {"QInt32", "qint32"},
      {"BFloat16", "bfloat16"}, {"QUInt4x2", "quint4x2"}};
  const auto it = known.find(name);
  return it == known.end() ? name : it->second;
}

std::string shortTypeName(const torch::jit::Module& module) {
  const auto& qualifiedName = module.type()->name();
  return qualifiedName ? qualifiedName->name() : std::string("Module");
}

std::vector<ParameterRecord> collectParameters(const torch::jit::Module& module) {
  std::vector<ParameterRecord> out;
  for (const auto& sub : module.named_modules()) {
    const std::string type = shortTypeName(sub.value);
    for (const auto& p : sub.value.named_parameters(/*recurse=*/false))
      addTensor(out, sub.name, type, p.name, p.value);
    for (const auto& attr : sub.value.named_attributes(/*recurse=*/false)) {
      if (addPackedParams(out, sub.name, attr.name, attr.value)) continue;
      // Quantized RNN layers keep their int8 weights in a list of CellParams objects.
      if (!attr.value.isList()) continue;
      int index = 0;
      for (const auto& item : attr.value.toListRef()) {
        if (!item.isObject() || item.type()->str().find("CellParamsBase") == std::string::npos) continue;
        const std::string kind =
            attr.name.find("gru") != std::string::npos ? "QuantizedGRU" : "QuantizedLSTM";
        for (const torch::Tensor& t : unpackCellParams(item)) {
          addTensor(out, sub.name, kind,
                    attr.name + "." + std::to_string(index) + (t.is_quantized() ? ".weight" : ".bias"), t);
        }
        ++index;
      }
    }
  }
  return out;
}

ModelInfo Model::inspect() const {
  ModelInfo info;
  info.path = impl_->sourcePath;
  info.fileBytes = static_cast<int64_t>(serialize().size());
  info.inputSpec = impl_->inputSpec;
  info.quantizedEngine = impl_->quantizedEngine;
  const auto parameters = collectParameters(impl_->module);
  const QJsonObject layerNames = QJsonDocument::fromJson(QByteArray::fromStdString(impl_->quantizationJson))
                                     .object()
                                     .value("layers")
                                     .toObject();
  std::map<std::string, size_t> layerIndex;
  for (auto p : parameters) {
    // Packed int8 weights are one layer each: named by the record the quantizer left, else by attribute.
    if (p.ownerType.rfind("Quantized", 0) == 0) {
      const std::string packed = (p.owner.empty() ? "" : p.owner + ".") + p.name.substr(0, p.name.rfind('.'));
      p.owner = layerNames.value(QString::fromStdString(packed))
                    .toString(QString::fromStdString(packed))
                    .toStdString();
      p.name = p.name.substr(p.name.rfind('.') + 1);
    }
    info.parameterCount += p.numel;
    info.parameterBytes += p.bytes;
    if (p.dtype.rfind("q", 0) == 0) info.quantized = true;
    auto [it, inserted] = layerIndex.emplace(p.owner + "|" + p.ownerType, info.layers.size());
    if (inserted) {
      LayerInfo layer;
      layer.name = p.owner.empty() ? "(root)" : p.owner;
      layer.type = p.ownerType;
      layer.dtype = p.dtype;
      for (const auto& technique : TechniqueRegistry::instance().techniques()) {
        const auto& types = technique.layerTypes;
        if (std::find(types.begin(), types.end(), p.ownerType) != types.end()) {
          layer.quantizableBy.push_back(technique.name);
        }
      }
      info.layers.push_back(std::move(layer));
    }
    LayerInfo& layer = info.layers[it->second];
    if (p.dtype.rfind("q", 0) == 0) layer.dtype = p.dtype;  // a layer with int8 weights is an int8 layer
    layer.parameterShapes.push_back(p.name + " " + InputSpec::shapeToString(p.shape));
    layer.parameterCount += p.numel;
  }
  // Layers with no parameters of their own (ReLU, pooling) are not weights anyone quantizes; the table
  // lists the ones that are.
  return info;
}

std::map<std::string, int> Model::graphOperators() const {
  auto graph = impl_->module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  std::map<std::string, int> counts;
  forEachNode(graph, [&](torch::jit::Node* node) {
    const std::string kind = node->kind().toQualString();
    if (kind.rfind("prim::", 0) != 0) ++counts[kind];
  });
  return counts;
}

}  // namespace quantscope
