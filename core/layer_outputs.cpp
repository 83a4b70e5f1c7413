#include "core/internal/layer_outputs.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <cstdio>

#include "core/metrics.h"

namespace quantscope {
namespace {

bool isFloatLayerOp(const std::string& kind) {
  return kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" || kind == "aten::linear";
}

bool isQuantizedLayerOp(const std::string& kind) {
  return kind.rfind("quantized::conv", 0) == 0 || kind.rfind("quantized::linear", 0) == 0;
}

// "layer1.0.conv1" from the GetAttr chain that leads from `self` to a layer's weight.
std::string modulePath(torch::jit::Value* weight) {
  std::vector<std::string> parts;
  torch::jit::Node* node = weight->node();
  if (node->kind() != c10::prim::GetAttr) return {};
  for (node = node->input(0)->node(); node->kind() == c10::prim::GetAttr; node = node->input(0)->node()) {
    parts.insert(parts.begin(), node->s(c10::attr::name));
  }
  std::string path;
  for (const auto& p : parts) path += (path.empty() ? "" : ".") + p;
  return path;
}

// Runs `module` with the graph changed to return (output, every probed value); returns the probed values.
std::vector<torch::Tensor> runProbed(const torch::jit::Module& module,
                                     const std::shared_ptr<torch::jit::Graph>& graph,
                                     const std::vector<torch::jit::Value*>& probes,
                                     const torch::Tensor& input) {
  std::vector<torch::jit::Value*> values{graph->outputs()[0]};
  values.insert(values.end(), probes.begin(), probes.end());
  torch::jit::WithInsertPoint end(graph->return_node());
  torch::jit::Node* tuple = graph->insertNode(graph->createTuple(values));
  graph->eraseOutput(0);
  graph->registerOutput(tuple->output());
  torch::jit::GraphFunction probe("quantscope_probe", graph, nullptr);
  torch::jit::Stack stack{module._ivalue(), input};
  probe.run(stack);
  std::vector<torch::Tensor> outputs;
  const auto elements = stack.back().toTuple()->elements();
  for (size_t i = 1; i < elements.size(); ++i) outputs.push_back(elements[i].toTensor());
  return outputs;
}

std::vector<float> flat(const torch::Tensor& t) {
  const torch::Tensor f = (t.is_quantized() ? t.dequantize() : t).to(torch::kFloat).contiguous().flatten();
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

}  // namespace

void addLayerOutputSqnr(const torch::jit::Module& floatModel, const torch::jit::Module& quantized,
                        const torch::Tensor& inputs, std::vector<LayerQuantization>& layers) {
  // Freezing resolves branches on module flags (MobileNetV2's use_res_connect) as the int8 graph's
  // freezing did; parameters stay attributes so that each layer keeps its name.
  const torch::jit::Module frozenFloat =
      torch::jit::freeze_module(floatModel, {}, true, /*preserveParameters=*/true);
  auto floatGraph = frozenFloat.get_method("forward").graph()->copy();
  torch::jit::Inline(*floatGraph);
  auto quantizedGraph = quantized.get_method("forward").graph()->copy();
  torch::jit::Inline(*quantizedGraph);
  // Top-level nodes only: a value computed inside an if/loop block cannot be returned from the graph.
  std::vector<torch::jit::Value*> floatOutputs, quantizedOutputs;
  std::vector<std::string> names;
  std::vector<bool> fusedRelu;
  for (torch::jit::Node* node : floatGraph->nodes()) {
    if (!isFloatLayerOp(node->kind().toQualString())) continue;
    floatOutputs.push_back(node->output());
    names.push_back(modulePath(node->input(1)));
  }
  for (torch::jit::Node* node : quantizedGraph->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (!isQuantizedLayerOp(kind) || kind.find("prepack") != std::string::npos ||
        kind.find("unpack") != std::string::npos)
      continue;
    quantizedOutputs.push_back(node->output());
    fusedRelu.push_back(kind.size() > 5 && kind.compare(kind.size() - 5, 5, "_relu") == 0);
  }
  if (floatOutputs.empty() || floatOutputs.size() != quantizedOutputs.size()) return;  // no safe pairing

  torch::InferenceMode inference;
  const std::vector<torch::Tensor> reference = runProbed(frozenFloat, floatGraph, floatOutputs, inputs);
  const std::vector<torch::Tensor> candidate = runProbed(quantized, quantizedGraph, quantizedOutputs, inputs);
  for (size_t i = 0; i < reference.size(); ++i) {
    const torch::Tensor expected = fusedRelu[i] ? torch::relu(reference[i]) : reference[i];
    if (expected.sizes() != candidate[i].sizes()) continue;
    for (auto& layer : layers) {
      if (layer.layer != names[i] || !layer.quantized) continue;
      layer.outputSqnrDb = signalToQuantizationNoiseDb(flat(expected), flat(candidate[i]));
      layer.hasOutputSqnr = true;
      if (candidate[i].is_quantized() && candidate[i].qscheme() == at::kPerTensorAffine) {
        char qparams[96];
        std::snprintf(qparams, sizeof(qparams), "; output %s scale %.3g, zero point %lld",
                      c10::toString(candidate[i].scalar_type()), candidate[i].q_scale(),
                      static_cast<long long>(candidate[i].q_zero_point()));
        layer.scheme += qparams;
      }
    }
  }
}

}  // namespace quantscope
