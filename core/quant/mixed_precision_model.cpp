#include "core/quant/mixed_precision_model.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include <cmath>
#include <map>
#include <optional>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"
#include "core/technique_registry.h"

namespace quantscope {
namespace {

bool isLayer(const torch::jit::Module& module) {
  const auto& types = convAndLinearTypes();
  return std::count(types.begin(), types.end(), shortTypeName(module)) > 0;
}

// Where an int8 op's output scale and zero point are: the last two inputs of quantized::conv2d(_relu),
// linear(_relu), add(_relu), cat, ...; inputs 1 and 2 of aten::quantize_per_tensor.
int outputQParamsIndex(torch::jit::Node* node) {
  const std::string kind = node->kind().toQualString();
  if (kind == "aten::quantize_per_tensor") return 1;
  if (kind.rfind("quantized::", 0) == 0 && kind.find("pack") == std::string::npos &&
      node->inputs().size() >= 3)
    return static_cast<int>(node->inputs().size()) - 2;
  return -1;
}

const ActivationGrid* gridOf(torch::jit::Node* node, const std::vector<ActivationGrid>& grids) {
  const int index = outputQParamsIndex(node);
  if (index < 0) return nullptr;
  const auto scale = torch::jit::toIValue(node->input(size_t(index)));
  const auto zeroPoint = torch::jit::toIValue(node->input(size_t(index + 1)));
  if (!scale || !scale->isDouble() || !zeroPoint || !zeroPoint->isInt()) return nullptr;
  for (const auto& g : grids) {
    // Finalize copies the observer's float32 scale into a double constant: equal as float32.
    if (static_cast<float>(scale->toDouble()) == g.scale && zeroPoint->toInt() == g.zeroPoint) return &g;
  }
  return nullptr;
}

// The int8 kernels requantize into the whole quint8 range; a b-bit activation must not use the levels
// above its grid, so each such output goes through aten::clamp (a quantized kernel) at the grid's ends.
int clampToGrids(torch::jit::Module& quantized, const std::vector<ActivationGrid>& grids) {
  if (grids.empty()) return 0;
  auto graph = quantized.get_method("forward").graph();
  std::vector<std::pair<torch::jit::Node*, const ActivationGrid*>> targets;
  forEachNode(graph, [&](torch::jit::Node* node) {
    if (const ActivationGrid* g = gridOf(node, grids)) targets.emplace_back(node, g);
  });
  for (const auto& [node, g] : targets) {
    torch::jit::WithInsertPoint insertAfter(node->next());
    torch::jit::Value* output = node->output();
    const double low = double(g->qmin - g->zeroPoint) * double(g->scale);
    const double high = double(g->qmax - g->zeroPoint) * double(g->scale);
    torch::jit::Value* clamped = graph->insert(
        c10::Symbol::fromQualString("aten::clamp"),
        {output, torch::jit::NamedValue(c10::IValue(low)), torch::jit::NamedValue(c10::IValue(high))});
    output->replaceAllUsesWith(clamped);
    clamped->node()->replaceInput(0, output);
  }
  return static_cast<int>(targets.size());
}

torch::jit::Module submodule(const torch::jit::Module& root, const std::string& path) {
  for (const auto& sub : root.named_modules())
    if (sub.name == path) return sub.value;
  throw Error("The model has no module '" + path + "'.");
}

// A float layer goes through the passes as an 8-bit one, so that its neighbours see quantized inputs and
// outputs exactly as in `fx` (InsertObservers propagates "not quantized" through relu and add otherwise,
// and the layers after it would stay float too). Here its int8 op becomes dequantize -> the float op with
// the layer's own (batch-norm-folded) float weights -> quantize at the int8 op's output scale.
void runFloatLayers(torch::jit::Module& quantized, const torch::jit::Module& folded,
                    const std::vector<LayerQuantization>& layers, const BitPlan& plan) {
  auto graph = quantized.get_method("forward").graph();
  for (const auto& [name, bits] : plan) {
    if (!bits.isFloat()) continue;
    const auto layer =
        std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.layer == name; });
    if (layer == layers.end() || !layer->quantized) continue;  // the passes left it float anyway
    const torch::jit::Module source = submodule(folded, name);
    const torch::Tensor weight = source.attr("weight").toTensor().detach();
    const c10::IValue bias = source.hasattr("bias") ? source.attr("bias") : c10::IValue();
    const c10::IValue packed = quantized.attr(layer->packedAs);
    std::vector<torch::jit::Node*> users;
    forEachNode(graph, [&](torch::jit::Node* node) {
      if (node->kind() != c10::prim::GetAttr || node->s(c10::attr::name) != layer->packedAs) return;
      for (const auto& use : node->output()->uses()) users.push_back(use.user);
    });
    for (torch::jit::Node* node : users) {
      const std::string kind = node->kind().toQualString();
      const bool conv = kind == "quantized::conv2d" || kind == "quantized::conv2d_relu";
      const bool linear = kind == "quantized::linear" || kind == "quantized::linear_relu";
      if (!conv && !linear) {
        throw Error("Layer '" + name + "' runs as " + kind + ", which mixed precision cannot keep float.",
                    "Give it a bit-width in layer_bits instead of float.");
      }
      torch::jit::WithInsertPoint before(node);
      torch::jit::Value* input =
          graph->insert(c10::Symbol::fromQualString("aten::dequantize"), {node->input(0)});
      torch::jit::Value* w = graph->insertConstant(weight);
      torch::jit::Value* b =
          graph->insertConstant(bias.isTensor() ? c10::IValue(bias.toTensor().detach()) : c10::IValue());
      torch::jit::Value* y = nullptr;
      if (conv) {
        auto geometry = [&](const char* what) {
          return callRegisteredOp(std::string("quantized::conv2d_") + what, {packed}).at(0);
        };
        y = graph->insert(
            c10::Symbol::fromQualString("aten::conv2d"),
            {input, w, b, graph->insertConstant(geometry("stride")),
             graph->insertConstant(geometry("padding")), graph->insertConstant(geometry("dilation")),
             graph->insertConstant(geometry("groups"))});
      } else {
        y = graph->insert(c10::Symbol::fromQualString("aten::linear"), {input, w, b});
      }
      if (kind.find("_relu") != std::string::npos)
        y = graph->insert(c10::Symbol::fromQualString("aten::relu"), {y});
      torch::jit::Value* q =
          graph->insert(c10::Symbol::fromQualString("aten::quantize_per_tensor"),
                        {y, node->input(2), node->input(3),
                         graph->insertConstant(static_cast<int64_t>(c10::ScalarType::QUInt8))});
      node->output()->replaceAllUsesWith(q);
      node->destroy();
    }
    torch::jit::EliminateDeadCode(graph);
    // The int8 copy of the weight is no longer read: drop it so the file does not carry it.
    quantized._ivalue()->unsafeRemoveAttr(layer->packedAs);
    quantized.type()->unsafeRemoveAttribute(layer->packedAs);
  }
}

// The observer of a layer's output activation. InsertObservers puts it in the graph that calls the layer,
// after a ReLU when one follows (conv+relu becomes one int8 op). Nothing when the output is not observed
// on its own (e.g. it goes straight into an add, whose output is observed instead).
std::optional<torch::jit::Module> outputObserver(const torch::jit::Module& observed,
                                                 const std::string& layer) {
  const auto dot = layer.rfind('.');
  const torch::jit::Module parent =
      dot == std::string::npos ? observed : submodule(observed, layer.substr(0, dot));
  const std::string name = dot == std::string::npos ? layer : layer.substr(dot + 1);
  // The module a `self.<member>.forward(...)` call in the parent's graph calls, with the member's name.
  auto called = [&](torch::jit::Node* node) -> std::optional<std::pair<std::string, torch::jit::Module>> {
    if (node->kind() != c10::prim::CallMethod || node->s(c10::attr::name) != "forward") return std::nullopt;
    torch::jit::Node* get = node->input(0)->node();
    if (get->kind() != c10::prim::GetAttr || get->input()->type() != parent.type()) return std::nullopt;
    const c10::IValue member = parent.attr(get->s(c10::attr::name));
    if (!member.isObject()) return std::nullopt;
    return std::make_pair(get->s(c10::attr::name), torch::jit::Module(member.toObject()));
  };
  std::vector<torch::jit::Value*> frontier;
  for (const auto& method : parent.get_methods()) {  // forward, or a helper it calls (ResNet's _forward_impl)
    forEachNode(method.graph(), [&](torch::jit::Node* node) {
      const auto call = called(node);
      if (call && call->first == name) frontier.push_back(node->output());
    });
  }
  for (int hop = 0; hop < 3 && !frontier.empty(); ++hop) {
    std::vector<torch::jit::Value*> next;
    for (torch::jit::Value* value : frontier) {
      for (const auto& use : value->uses()) {
        const std::string kind = use.user->kind().toQualString();
        if (const auto call = called(use.user)) {
          const torch::jit::Module& module = call->second;
          if (isCalibrationObserver(module) && !module.attr("is_weight").toBool()) return module;
          if (shortTypeName(module) == "ReLU") next.push_back(use.user->output());
        } else if (kind == "aten::relu" || kind == "aten::relu_") {
          next.push_back(use.user->output());
        } else if (use.user->kind() == c10::prim::Return) {
          // Returned from a helper method: continue where the parent calls that method on itself.
          for (const auto& method : parent.get_methods()) {
            if (method.graph().get() != value->owningGraph()) continue;
            for (const auto& caller : parent.get_methods()) {
              forEachNode(caller.graph(), [&](torch::jit::Node* node) {
                if (node->kind() == c10::prim::CallMethod && node->s(c10::attr::name) == method.name() &&
                    node->input(0)->type() == parent.type())
                  next.push_back(node->output());
              });
            }
          }
        }
      }
    }
    frontier = next;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> quantizableLayers(const torch::jit::Module& folded) {
  std::vector<std::string> layers;
  for (const auto& sub : folded.named_modules()) {
    if (!sub.name.empty() && isLayer(sub.value)) layers.push_back(sub.name);
  }
  return layers;
}

int64_t packedWeightBytes(const torch::jit::Module& folded, const BitPlan& plan) {
  int64_t bytes = 0;
  for (const auto& sub : folded.named_modules()) {
    const auto found =
        std::find_if(plan.begin(), plan.end(), [&](const auto& p) { return p.first == sub.name; });
    if (found == plan.end() || !sub.value.hasattr("weight")) continue;
    const int64_t numel = sub.value.attr("weight").toTensor().numel();
    bytes += found->second.isFloat() ? numel * 4 : (numel * found->second.weightBits + 7) / 8;
  }
  return bytes;
}

void applyLayerBits(torch::jit::Module& observed, const BitPlan& plan, int activationBits) {
  for (const auto& [layer, bits] : plan) {
    if (bits.isFloat()) continue;
    bool weightFound = false, activationFound = false;
    for (torch::jit::Module child : submodule(observed, layer).children()) {
      if (!isCalibrationObserver(child)) continue;
      const bool weight = child.attr("is_weight").toBool();
      child.setattr("bits", int64_t{weight ? bits.weightBits : bits.activationBits});
      (weight ? weightFound : activationFound) = true;
    }
    if (!weightFound) {
      throw Error("Layer '" + layer +
                      "' got no weight observer from LibTorch's graph passes, so it cannot take " +
                      std::to_string(bits.weightBits) + "-bit weights.",
                  "Keep it at the default bits or float in layer_bits.");
    }
    if (!activationFound) {
      if (auto observer = outputObserver(observed, layer)) {
        observer->setattr("bits", int64_t{bits.activationBits});
        activationFound = true;
      }
    }
    if (!activationFound && bits.activationBits != activationBits) {
      throw Error("Layer '" + layer +
                      "': its output is quantized together with what follows (e.g. a residual "
                      "add), so it cannot have its own activation bits.",
                  "Use bits_activations for all layers, or give this layer weight bits only (" + layer + "=" +
                      std::to_string(bits.weightBits) + ").");
    }
  }
}

torch::jit::Module observeForPlan(const torch::jit::Module& folded, const BitPlan& plan,
                                  const MixedPrecisionSettings& settings) {
  // One qconfig for the whole graph, exactly as `fx`: LibTorch's passes fail or quantize less when layers
  // carry their own qconfigs (instances of one block class, a convolution before a residual add). The
  // bits are set on each layer's own observers after insertion, before calibration computes qparams.
  CalibrationQConfigSpec spec;
  spec.perChannelWeights = settings.perChannelWeights;
  spec.reduceRangeActivations = settings.reduceRangeActivations && settings.activationBits >= 8;
  spec.activationKind = settings.observer;
  spec.percentile = settings.percentile;
  spec.activationBits = settings.activationBits;
  torch::jit::QConfigDict qconfigs;
  qconfigs[""] = makeCalibrationQConfig(spec);
  if (std::all_of(plan.begin(), plan.end(), [](const auto& p) { return p.second.isFloat(); })) {
    throw Error("Every layer is float in this bit assignment; there is nothing to quantize.",
                "Give at least one layer a bit-width (bits_weights, layer_bits).");
  }
  torch::jit::Module observed;
  try {
    // Float layers are observed as 8-bit too: their neighbours then see int8 borders, and runFloatLayers
    // turns them back into float ops after conversion.
    observed = torch::jit::InsertObservers(const_cast<torch::jit::Module&>(folded), "forward", qconfigs,
                                           /*inplace=*/false, torch::jit::QuantType::STATIC);
  } catch (const std::exception& e) {
    throw Error("Inserting mixed-precision observers failed in LibTorch's graph passes: " +
                shortTorchMessage(e));
  }
  applyLayerBits(observed, plan, settings.activationBits);
  return observed;
}

MixedPrecisionModel convertPlan(const torch::jit::Module& observed, const torch::jit::Module& folded,
                                const BitPlan& plan, const BeforeLowBitStorage& beforeLowBitStorage) {
  MixedPrecisionModel result;
  try {
    torch::jit::Module withQuantOps =
        torch::jit::InsertQuantDeQuant(const_cast<torch::jit::Module&>(observed), "forward",
                                       /*inplace=*/false, /*debug=*/false, torch::jit::QuantType::STATIC);
    result.module = torch::jit::Finalize(withQuantOps, torch::jit::QuantType::STATIC);
  } catch (const std::exception& e) {
    throw Error("Converting the mixed-precision model failed in LibTorch's graph passes: " +
                shortTorchMessage(e));
  }
  auto graph = result.module.get_method("forward").graph();
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
  const std::vector<LayerQuantization> layers =
      reportWeightQuantization(folded, result.module, convAndLinearTypes());
  runFloatLayers(result.module, folded, layers, plan);
  result.clampedActivations = clampToGrids(result.module, reducedActivationGrids(observed));
  if (beforeLowBitStorage) beforeLowBitStorage(result.module);

  std::vector<LowBitWeight> lowBit;
  for (const auto& layer : layers) {
    const auto found =
        std::find_if(plan.begin(), plan.end(), [&](const auto& p) { return p.first == layer.layer; });
    if (found == plan.end() || found->second.isFloat() || found->second.weightBits >= 8) continue;
    if (!layer.quantized) {
      throw Error("Layer '" + layer.layer + "' did not become int8 (" + layer.scheme +
                      "), so it cannot run at " + std::to_string(found->second.weightBits) + " bits.",
                  "Keep it float in layer_bits (" + layer.layer + "=float).");
    }
    lowBit.push_back({layer.packedAs, layer.layer, found->second.weightBits});
  }
  if (!lowBit.empty()) result.lowBitWeights = storeLowBitWeights(result.module, lowBit);
  return result;
}

}  // namespace quantscope
