#include "core/internal/layer_outputs.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "core/internal/graph_walk.h"

namespace quantscope {
namespace {

bool isFloatLayerOp(const std::string& kind) {
  return kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" ||
         kind == "aten::conv_transpose1d" || kind == "aten::conv_transpose2d" ||
         kind == "aten::conv_transpose3d" || kind == "aten::_convolution" || kind == "aten::linear";
}

bool isQuantizedLayerOp(const std::string& kind) {
  return (kind.rfind("quantized::conv", 0) == 0 || kind.rfind("quantized::linear", 0) == 0) &&
         kind.find("prepack") == std::string::npos && kind.find("unpack") == std::string::npos;
}

// An int8 layer op whose name goes beyond the layer kind ("quantized::conv2d_relu") has fused what follows
// the layer; ReLU is the only such fusion the float model can mirror exactly (relu of its output).
enum class Fusion { None, Relu, Other };
Fusion fusionOf(const std::string& kind) {
  static const char* const plain[] = {"quantized::conv1d",           "quantized::conv2d",
                                      "quantized::conv3d",           "quantized::conv_transpose1d",
                                      "quantized::conv_transpose2d", "quantized::conv_transpose3d",
                                      "quantized::linear",           "quantized::linear_dynamic"};
  for (const char* p : plain)
    if (kind == p) return Fusion::None;
  for (const char* p : plain)
    if (kind == std::string(p) + "_relu") return Fusion::Relu;
  return Fusion::Other;
}

// The attribute path of a weight, also when a fake-quant observer was inlined around it (the quant
// analyzer's simulated model): through the observer's if-blocks and its fake_quantize op to the weight.
std::string weightPath(torch::jit::Value* value, int depth) {
  std::string path = attributePath(value);
  if (!path.empty() || depth == 0) return path;
  torch::jit::Node* node = value->node();
  if (node->kind() == c10::prim::If) {
    for (torch::jit::Block* block : node->blocks()) {
      path = weightPath(block->outputs()[value->offset()], depth - 1);
      if (!path.empty()) return path;
    }
  } else if (std::string(node->kind().toQualString()).rfind("aten::fake_quantize", 0) == 0) {
    return weightPath(node->input(0), depth - 1);
  }
  return {};
}

// "layer1.0.conv1" from the chain that reads its weight ("layer1.0.conv1.weight").
std::string layerOfWeight(torch::jit::Value* weight) {
  const std::string path = weightPath(weight, 8);
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

// One run of a layer in a graph: the op, and whether it is at the graph's top level (a value computed
// inside an if/loop block cannot be returned from the graph).
struct LayerCall {
  torch::jit::Node* node = nullptr;
  bool topLevel = false;
};

// Whether a node after `from` (nested blocks included) may write to `value`'s memory.
bool writtenAfter(const torch::jit::AliasDb& aliases, torch::jit::Value* value, torch::jit::Node* from) {
  if (!aliases.hasWriters(value)) return false;
  bool written = false;
  std::vector<torch::jit::Block*> blocks;
  for (torch::jit::Node* n = from->next(); n != from->owningBlock()->return_node() && !written;
       n = n->next()) {
    written = aliases.writesToAlias(n, {value});
    for (torch::jit::Block* b : n->blocks()) blocks.push_back(b);
  }
  while (!blocks.empty() && !written) {
    torch::jit::Block* block = blocks.back();
    blocks.pop_back();
    for (torch::jit::Node* n : block->nodes()) {
      written = written || aliases.writesToAlias(n, {value});
      for (torch::jit::Block* b : n->blocks()) blocks.push_back(b);
    }
  }
  return written;
}

// Runs `module` with the graph changed to also return every probed value as it is where it is made.
// A value that a later op changes in place is copied there (the float model's `out += identity` and
// ReLU(inplace=True) would otherwise turn conv2's output into the residual sum); the others are returned
// as they are, since a copy of a 100 MB activation costs as much as the layer.
std::vector<torch::Tensor> runProbed(const torch::jit::Module& module,
                                     const std::shared_ptr<torch::jit::Graph>& graph,
                                     const std::vector<torch::jit::Value*>& probes,
                                     const torch::Tensor& input) {
  std::vector<bool> copy;
  {
    const torch::jit::AliasDb aliases(graph);
    for (torch::jit::Value* probe : probes) copy.push_back(writtenAfter(aliases, probe, probe->node()));
  }
  std::vector<torch::jit::Value*> values{graph->outputs()[0]};
  for (size_t i = 0; i < probes.size(); ++i) {
    torch::jit::WithInsertPoint after(probes[i]->node()->next());
    values.push_back(copy[i] ? graph->insert(c10::aten::clone, {probes[i]}) : probes[i]);
  }
  torch::jit::WithInsertPoint end(graph->return_node());
  torch::jit::Node* tuple = graph->insertNode(graph->createTuple(values));
  graph->eraseOutput(0);
  graph->registerOutput(tuple->output());
  torch::jit::GraphFunction probe("quantscope_probe", graph, nullptr);
  // One run: the executor's profiling and optimization passes would not pay off.
  torch::jit::GraphOptimizerEnabledGuard runAsIs(false);
  torch::jit::Stack stack{module._ivalue(), input};
  probe.run(stack);
  std::vector<torch::Tensor> outputs;
  const auto elements = stack.back().toTuple()->elements();
  for (size_t i = 1; i < elements.size(); ++i) outputs.push_back(elements[i].toTensor());
  return outputs;
}

// Where to take a float layer's output: the op's own output or, when `afterRelu` and the output goes only
// into a ReLU, that ReLU's output (what an int8 op fused with its ReLU computes).
torch::jit::Value* floatProbe(torch::jit::Node* layerOp, bool afterRelu) {
  torch::jit::Value* output = layerOp->output();
  if (!afterRelu || output->uses().size() != 1) return output;
  torch::jit::Node* user = output->uses()[0].user;
  const bool relu = user->kind() == c10::aten::relu || user->kind() == c10::aten::relu_;
  return relu && user->owningBlock() == layerOp->owningBlock() ? user->output() : output;
}

// Sample by sample: the temporaries of one sample come back from the heap, while whole-batch ones
// (100 MB for ResNet's first layer) are fresh pages each time, which cost more than the arithmetic.
double sqnrDb(const torch::Tensor& reference, const torch::Tensor& candidate, bool reluOnReference) {
  double signal = 0, noise = 0;
  const bool batched = reference.dim() > 0;
  for (int64_t i = 0; i < (batched ? reference.size(0) : 1); ++i) {
    torch::Tensor r = (batched ? reference[i] : reference).to(torch::kFloat);
    if (reluOnReference) r = torch::relu(r);
    const torch::Tensor q = batched ? candidate[i] : candidate;
    const torch::Tensor c = q.is_quantized() ? q.dequantize() : q.to(torch::kFloat);
    const double s = r.norm().item<double>(), d = (r - c).norm().item<double>();
    signal += s * s;
    noise += d * d;
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

bool feedsClamp(torch::jit::Value* value) {
  for (const auto& use : value->uses()) {
    const std::string kind = use.user->kind().toQualString();
    if (kind == "aten::clamp" || kind == "aten::hardtanh" || kind == "aten::clamp_" ||
        kind == "aten::hardtanh_")
      return true;
  }
  return false;
}

// Every Conv/Linear op of an inlined float graph, by the layer whose weight it reads.
std::map<std::string, std::vector<LayerCall>> floatLayerCalls(
    const std::shared_ptr<torch::jit::Graph>& graph) {
  std::map<std::string, std::vector<LayerCall>> calls;
  forEachNode(graph, [&](torch::jit::Node* node) {
    if (!isFloatLayerOp(node->kind().toQualString()) || node->inputs().size() < 2) return;
    const std::string name = layerOfWeight(node->input(1));
    if (!name.empty()) calls[name].push_back({node, node->owningBlock() == graph->block()});
  });
  return calls;
}

// A pairing of one run of a layer in both graphs.
struct Probe {
  LayerQuantization* layer = nullptr;
  torch::jit::Node* floatOp = nullptr;
  torch::jit::Value* floatOutput = nullptr;
  torch::jit::Value* int8Output = nullptr;
  Fusion fusion = Fusion::None;
  std::string int8Kind;
};

}  // namespace

int64_t layerOutputSamples(int64_t valuesPerSample, int64_t available) {
  return std::min(available,
                  std::max<int64_t>(8, (int64_t{1} << 20) / std::max<int64_t>(1, valuesPerSample)));
}

void captureLayerOutputs(const torch::jit::Module& module, const torch::Tensor& inputs,
                         FloatLayerOutputs& outputs) {
  auto graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  std::vector<std::string> names;
  std::vector<torch::jit::Value*> values;
  std::vector<bool> afterRelu;
  for (const auto& [name, calls] : floatLayerCalls(graph)) {
    if (calls.size() != 1 || !calls.front().topLevel) continue;  // the report runs the frozen model for these
    names.push_back(name);
    // After the ReLU a layer feeds alone: the int8 graph fuses the two (conv2d_relu), and that value is
    // not changed in place later, so it needs no copy.
    values.push_back(floatProbe(calls.front().node, true));
    afterRelu.push_back(values.back() != calls.front().node->output());
  }
  const std::vector<torch::Tensor> captured = runProbed(module, graph, values, inputs);
  outputs.inputs = inputs;
  outputs.byLayer.clear();
  for (size_t i = 0; i < names.size(); ++i) outputs.byLayer[names[i]] = {captured[i], afterRelu[i]};
}

std::map<std::string, torch::Tensor> captureLayerInputs(const torch::jit::Module& module,
                                                        const torch::Tensor& inputs) {
  auto graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  std::vector<std::string> names;
  std::vector<torch::jit::Value*> values;
  std::map<std::string, torch::Tensor> byLayer;
  for (const auto& [name, calls] : floatLayerCalls(graph)) {
    if (calls.size() != 1 || !calls.front().topLevel) continue;
    torch::jit::Value* input = calls.front().node->input(0);
    if (input == graph->inputs().at(1)) {  // the model's own input: nothing to probe
      byLayer[name] = inputs;
      continue;
    }
    names.push_back(name);
    values.push_back(input);
  }
  if (values.empty()) return byLayer;
  const std::vector<torch::Tensor> captured = runProbed(module, graph, values, inputs);
  for (size_t i = 0; i < names.size(); ++i) byLayer[names[i]] = captured[i];
  return byLayer;
}

void addLayerOutputSqnr(const torch::jit::Module& floatModel, const torch::jit::Module& quantized,
                        const torch::Tensor& inputs, std::vector<LayerQuantization>& layers,
                        const FloatLayerOutputs* captured) {
  // Freezing resolves branches on module flags (MobileNetV2's use_res_connect) as the int8 graph's
  // freezing did; parameters stay attributes so that each layer keeps its name.
  const torch::jit::Module frozenFloat =
      torch::jit::freeze_module(floatModel, {}, true, /*preserveParameters=*/true);
  auto floatGraph = frozenFloat.get_method("forward").graph()->copy();
  torch::jit::Inline(*floatGraph);
  auto quantizedGraph = quantized.get_method("forward").graph()->copy();
  torch::jit::Inline(*quantizedGraph);

  // Layers are paired by name: the float op reads the layer's weight, the int8 op reads the packed weight
  // the weight report matched to that layer (packedAs). Pairing by position fails as soon as one layer
  // stays float (mixed precision) or a graph orders independent branches differently.
  std::map<std::string, std::vector<LayerCall>> floatCalls = floatLayerCalls(floatGraph), int8Calls;
  std::map<std::string, std::string> layerOfPacked;
  for (const auto& layer : layers)
    if (layer.quantized && !layer.packedAs.empty()) layerOfPacked[layer.packedAs] = layer.layer;
  forEachNode(quantizedGraph, [&](torch::jit::Node* node) {
    if (!isQuantizedLayerOp(node->kind().toQualString()) || node->inputs().size() < 2) return;
    const auto found = layerOfPacked.find(attributePath(node->input(1)));
    if (found != layerOfPacked.end())
      int8Calls[found->second].push_back({node, node->owningBlock() == quantizedGraph->block()});
  });
  std::vector<Probe> probes;
  for (auto& layer : layers) {
    if (!layer.quantized) continue;
    auto notMeasured = [&](const std::string& why) { layer.scheme += "; output SQNR not measured: " + why; };
    const auto& floats = floatCalls[layer.layer];
    const auto& int8s = int8Calls[layer.layer];
    if (int8s.empty()) {
      notMeasured("no int8 Conv/Linear op of the quantized graph reads its weight");
      continue;
    }
    if (floats.size() != int8s.size()) {
      notMeasured("the float graph runs it " + std::to_string(floats.size()) + " times, the int8 graph " +
                  std::to_string(int8s.size()));
      continue;
    }
    if (int8s.size() > 1) {
      // One row per layer: a number for one of its calls would pass for all of them.
      notMeasured("it runs " + std::to_string(int8s.size()) + " times per forward");
      continue;
    }
    const LayerCall& f = floats.front();
    const LayerCall& q = int8s.front();
    if (!f.topLevel || !q.topLevel) {
      notMeasured("it is computed inside a branch or loop of the graph");
      continue;
    }
    Probe probe{&layer,
                f.node,
                f.node->output(),
                q.node->output(),
                fusionOf(q.node->kind().toQualString()),
                q.node->kind().toQualString()};
    if (probe.fusion == Fusion::Other) {
      notMeasured("its output does not exist separately in the int8 graph (" + probe.int8Kind +
                  " fuses it with the op that follows)");
      continue;
    }
    probe.floatOutput = floatProbe(f.node, probe.fusion == Fusion::Relu);
    // Mixed precision's b-bit activations: the int8 op's output goes through a clamp to its grid that the
    // float model does not have; what the next layer reads is the clamped value.
    if (probe.int8Output->uses().size() == 1 &&
        probe.int8Output->uses()[0].user->kind() == c10::Symbol::fromQualString("aten::clamp") &&
        !feedsClamp(probe.floatOutput))
      probe.int8Output = probe.int8Output->uses()[0].user->output();
    probes.push_back(probe);
  }
  if (probes.empty()) return;

  torch::InferenceMode inference;
  // The float side comes from the calibration pass when it kept these inputs' layer outputs; the frozen
  // float model runs only for layers it could not take (called twice, or inside a branch there).
  const bool reuse =
      captured && captured->inputs.defined() && captured->inputs.sizes() == inputs.sizes() &&
      (captured->inputs.data_ptr() == inputs.data_ptr() || torch::equal(captured->inputs, inputs));
  std::vector<torch::Tensor> reference(probes.size());
  std::vector<bool> referenceAfterRelu(probes.size(), false);
  std::vector<torch::jit::Value*> floatValues, int8Values;
  std::vector<size_t> floatRun;
  for (size_t i = 0; i < probes.size(); ++i) {
    int8Values.push_back(probes[i].int8Output);
    const FloatLayerOutputs::Output* kept = nullptr;
    if (reuse && captured->byLayer.count(probes[i].layer->layer))
      kept = &captured->byLayer.at(probes[i].layer->layer);
    // A value taken after a ReLU serves only a layer fused with it; the layer's own output is needed else.
    if (kept && (!kept->afterRelu || probes[i].fusion == Fusion::Relu)) {
      reference[i] = kept->tensor;
      referenceAfterRelu[i] = kept->afterRelu;
    } else {
      floatValues.push_back(probes[i].floatOutput);
      floatRun.push_back(i);
    }
  }
  if (!floatValues.empty()) {
    const std::vector<torch::Tensor> computed = runProbed(frozenFloat, floatGraph, floatValues, inputs);
    for (size_t k = 0; k < floatRun.size(); ++k) {
      const Probe& p = probes[floatRun[k]];
      reference[floatRun[k]] = computed[k];
      referenceAfterRelu[floatRun[k]] = p.floatOutput != p.floatOp->output();
    }
  }
  const std::vector<torch::Tensor> candidate = runProbed(quantized, quantizedGraph, int8Values, inputs);
  for (size_t i = 0; i < probes.size(); ++i) {
    LayerQuantization& layer = *probes[i].layer;
    // The int8 graph has no separate output for a layer fused with its ReLU: the fused op's output is
    // compared with the float layer's output after the ReLU, as PyTorch's FX reports its ConvReLU modules.
    const bool afterRelu = probes[i].fusion == Fusion::Relu;
    if (reference[i].sizes() != candidate[i].sizes()) {
      layer.scheme += "; output SQNR not measured: its float and int8 outputs differ in shape";
      continue;
    }
    layer.outputSqnrDb = sqnrDb(reference[i], candidate[i], afterRelu && !referenceAfterRelu[i]);
    layer.hasOutputSqnr = true;
    if (candidate[i].is_quantized() && candidate[i].qscheme() == at::kPerTensorAffine) {
      char qparams[96];
      std::snprintf(qparams, sizeof(qparams), "; output %s scale %.3g, zero point %lld",
                    c10::toString(candidate[i].scalar_type()), candidate[i].q_scale(),
                    static_cast<long long>(candidate[i].q_zero_point()));
      layer.scheme += qparams;
    }
    if (afterRelu) {
      layer.scheme += "; output taken after the ReLU fused into " + probes[i].int8Kind +
                      " (the layer's own output does not exist separately in the int8 graph)";
    }
  }
}

}  // namespace quantscope
