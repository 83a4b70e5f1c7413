#include "core/model.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/internal/dynamic_rnn.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/runtime_info.h"
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

std::string qualified(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
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

Model makeModel(torch::jit::Module module, std::optional<InputSpec> spec, std::string quantizedEngine,
                std::string quantizationJson) {
  auto impl = std::make_shared<Model::Impl>();
  impl->module = std::move(module);
  impl->inputSpec = std::move(spec);
  impl->quantizedEngine = std::move(quantizedEngine);
  impl->quantizationJson = std::move(quantizationJson);
  return Model(std::move(impl));
}

Model makeDerivedModel(torch::jit::Module quantized, const Model& original, const std::string& label,
                       const std::string& engine, const std::string& quantizationJson) {
  Model model = makeModel(std::move(quantized), original.inputSpec(), engine, quantizationJson);
  model.impl().label = original.displayName() + " (" + label + ")";
  model.impl().derivedFrom =
      original.impl().derivedFrom.empty() ? original.impl().sourcePath : original.impl().derivedFrom;
  return model;
}

void recordLayerNames(Model& model, const std::vector<LayerQuantization>& layers) {
  QJsonObject record =
      QJsonDocument::fromJson(QByteArray::fromStdString(model.impl().quantizationJson)).object();
  QJsonObject names;
  for (const auto& layer : layers) {
    if (!layer.packedAs.empty())
      names[QString::fromStdString(layer.packedAs)] = QString::fromStdString(layer.layer);
  }
  record["layers"] = names;
  model.impl().quantizationJson = QJsonDocument(record).toJson(QJsonDocument::Compact).toStdString();
}

torch::Tensor firstTensorOutput(const c10::IValue& output) {
  if (output.isTensor()) return output.toTensor();
  if (output.isTuple()) {
    for (const auto& element : output.toTuple()->elements()) {
      if (auto t = firstTensorOutput(element); t.defined()) return t;
    }
  }
  if (output.isList()) {
    for (const auto& element : output.toListRef()) {
      if (auto t = firstTensorOutput(element); t.defined()) return t;
    }
  }
  return {};
}

torch::Tensor makeInput(const InputSpec& spec, bool random) {
  if (spec.dtype == ElementType::Int64) {
    return random ? torch::randint(0, 2, spec.shape, torch::kLong) : torch::zeros(spec.shape, torch::kLong);
  }
  return random ? torch::randn(spec.shape) : torch::zeros(spec.shape);
}

std::string shortTorchMessage(const std::exception& error) {
  const auto* c10Error = dynamic_cast<const c10::Error*>(&error);
  std::string message = c10Error ? c10Error->what_without_backtrace() : error.what();
  // TorchScript errors start with a traceback of the model's code; the cause is on the last
  // "SomethingError: ..." line.
  if (message.rfind("The following operation failed in the TorchScript interpreter", 0) == 0) {
    std::istringstream lines(message);
    std::string line, cause;
    while (std::getline(lines, line)) {
      const size_t colon = line.find("Error: ");
      if (!line.empty() && line[0] != ' ' && colon != std::string::npos) cause = line.substr(colon + 7);
    }
    if (!cause.empty()) return cause;
  }
  const size_t newline = message.find('\n');
  return newline == std::string::npos ? message : message.substr(0, newline);
}

void activateEngineOf(const Model& model) {
  if (!model.impl().quantizedEngine.empty()) useQuantizedEngine(model.impl().quantizedEngine);
}

namespace {

// Re-runs a failing forward under the profiler: an op that throws still closes its range, so the failing op
// is the last top-level op that started.
std::string locateFailingOp(const Model& model, const torch::Tensor& input) {
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU,
                                                             /*report_input_shapes=*/true));
  bool failed = false;
  try {
    model.impl().module.forward({input});
  } catch (const std::exception&) {
    failed = true;
  }
  const thread_event_lists events = disableProfilerLegacy();
  if (!failed) return {};
  std::string found;
  for (const auto& thread : events) {
    std::vector<const LegacyEvent*> open;
    for (const LegacyEvent& e : thread) {
      if (e.kind() == EventKind::PopRange && !open.empty()) open.pop_back();
      if (e.kind() != EventKind::PushRange) continue;
      const std::string name = e.name();
      bool insideOp = false;
      for (const LegacyEvent* outer : open)
        insideOp |= std::string(outer->name()).find("::") != std::string::npos;
      open.push_back(&e);
      if (insideOp || name.find("::") == std::string::npos) continue;
      found = name;
      const auto shapes = e.shapes();
      if (!shapes.empty() && !shapes.front().empty())
        found += " on an input of shape " + InputSpec::shapeToString(shapes.front());
    }
  }
  return found;
}

}  // namespace

c10::IValue forwardOrExplain(const Model& model, const torch::Tensor& input) {
  try {
    return model.impl().module.forward({input});
  } catch (const std::exception& e) {
    const std::string engine = model.impl().quantizedEngine;
    if (engine.empty()) throw;
    const std::string failingOp = locateFailingOp(model, input);
    const std::string other = engine == "onednn" ? "qnnpack" : "onednn";
    throw Error("The quantized model failed on the " + engine + " engine with input " +
                    InputSpec::shapeToString(input.sizes().vec()) +
                    (failingOp.empty() ? "" : ", in " + failingOp) + ": " + shortTorchMessage(e),
                "Quantize again with engine=" + other +
                    " (this LibTorch's oneDNN fails on some depthwise "
                    "convolutions, depending on the batch sizes a model has run with).");
  }
}

Model::Model(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& Model::sourcePath() const { return impl_->sourcePath; }

std::string Model::displayName() const {
  if (impl_->sourcePath.empty()) return impl_->label.empty() ? "(in memory)" : impl_->label;
  return QFileInfo(QString::fromStdString(impl_->sourcePath)).fileName().toStdString();
}

std::optional<InputSpec> Model::inputSpec() const { return impl_->inputSpec; }
void Model::setInputSpec(const InputSpec& spec) { impl_->inputSpec = spec; }

InputSpec Model::requireInputSpec() const {
  if (impl_->inputSpec) return *impl_->inputSpec;
  throw Error("The model '" + displayName() + "' does not say what input it takes.",
              "Give the input shape, batch first, e.g. --input-shape 1x3x224x224 (and --input-dtype long for "
              "token models).");
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

std::string Model::serialize() const {
  std::ostringstream stream;
  torch::jit::ExtraFilesMap extra;
  if (impl_->inputSpec) extra[kInputSpecExtraFile] = impl_->inputSpec->toJson();
  if (!impl_->quantizationJson.empty()) extra[kQuantizationExtraFile] = impl_->quantizationJson;
  impl_->module.save(stream, extra);
  return stream.str();
}

void Model::save(const std::string& path) const {
  const QFileInfo target(QString::fromStdString(path));
  for (const std::string& protectedPath : {impl_->sourcePath, impl_->derivedFrom}) {
    if (!protectedPath.empty() &&
        target.canonicalFilePath() == QFileInfo(QString::fromStdString(protectedPath)).canonicalFilePath()) {
      throw Error("Refusing to overwrite the original model '" + path + "'.",
                  "Choose another output file; QuantScope never replaces an original model.");
    }
  }
  const std::string bytes = serialize();
  QSaveFile file(target.absoluteFilePath());
  if (!file.open(QIODevice::WriteOnly)) {
    throw Error("Cannot write '" + path + "': " + file.errorString().toStdString());
  }
  file.write(bytes.data(), static_cast<qint64>(bytes.size()));
  if (!file.commit()) throw Error("Writing '" + path + "' failed: " + file.errorString().toStdString());
}

void Model::checkInput(const InputSpec& spec) const {
  torch::InferenceMode inference;
  activateEngineOf(*this);
  try {
    forwardOrExplain(*this, makeInput(spec));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string expected;
    if (impl_->inputSpec && !(*impl_->inputSpec == spec)) {
      expected = "The model's stored input spec is " + impl_->inputSpec->toString() + ". ";
    }
    // The first weight tells what the model's first layer takes.
    for (const auto& p : collectParameters(impl_->module)) {
      if (p.name.find("weight") == std::string::npos || p.shape.size() < 2) continue;
      const std::string where = "Its first layer '" + p.owner + "' (" + p.ownerType + ")";
      if (p.shape.size() == 4) {
        expected += where + " takes " + std::to_string(p.shape[1]) + " input channels (NCHW, e.g. 1x" +
                    std::to_string(p.shape[1]) + "xHxW).";
      } else if (p.shape.size() == 2) {
        expected += where + " takes " + std::to_string(p.shape[1]) + " features in the last dimension.";
      }
      break;
    }
    throw Error("The model rejected an input of shape " + spec.toString() + ": " + shortTorchMessage(e),
                expected);
  }
}

}  // namespace quantscope

namespace quantscope {

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
