#include "core/quant/mixed_precision_model.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include <cmath>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"

namespace quantscope {
namespace {

const std::vector<std::string> kLayerTypes{"Conv1d", "Conv2d", "Conv3d", "Linear"};

bool isLayer(const torch::jit::Module& module) {
  return std::count(kLayerTypes.begin(), kLayerTypes.end(), shortTypeName(module)) > 0;
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

torch::jit::Module observeForPlan(const torch::jit::Module& folded, const BitPlan& plan,
                                  const MixedPrecisionSettings& settings, bool wholeGraph) {
  auto qconfig = [&](int weightBits, int activationBits) {
    CalibrationQConfigSpec spec;
    spec.perChannelWeights = settings.perChannelWeights;
    spec.reduceRangeActivations = settings.reduceRangeActivations && activationBits >= 8;
    spec.activationKind = settings.observer;
    spec.percentile = settings.percentile;
    spec.weightBits = weightBits;
    spec.activationBits = activationBits;
    return makeCalibrationQConfig(spec);
  };
  torch::jit::QConfigDict qconfigs;
  if (wholeGraph) qconfigs[""] = qconfig(8, settings.activationBits);
  bool anyQuantized = false;
  for (const auto& [layer, bits] : plan) {
    if (bits.isFloat()) {
      if (wholeGraph) qconfigs[layer] = c10::nullopt;  // float inside an int8 graph
      continue;
    }
    anyQuantized = true;
    qconfigs[layer] = qconfig(bits.weightBits, bits.activationBits);
  }
  if (!anyQuantized) {
    throw Error("Every layer is float in this bit assignment; there is nothing to quantize.",
                "Give at least one layer a bit-width (bits_weights, layer_bits).");
  }
  try {
    return torch::jit::InsertObservers(const_cast<torch::jit::Module&>(folded), "forward", qconfigs,
                                       /*inplace=*/false, torch::jit::QuantType::STATIC);
  } catch (const std::exception& e) {
    throw Error("Inserting mixed-precision observers failed in LibTorch's graph passes: " +
                shortTorchMessage(e));
  }
}

MixedPrecisionModel convertPlan(const torch::jit::Module& observed, const torch::jit::Module& folded,
                                const BitPlan& plan) {
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
  result.clampedActivations = clampToGrids(result.module, reducedActivationGrids(observed));

  std::vector<LowBitWeight> lowBit;
  for (const auto& layer : reportWeightQuantization(folded, result.module, kLayerTypes)) {
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
