#include "core/analysis/int8_layer_ops.h"

#include <torch/csrc/jit/passes/inliner.h>

#include "core/internal/graph_walk.h"
#include "core/internal/weight_report.h"
#include "core/technique_registry.h"

namespace quantscope {

std::map<std::string, Int8LayerOp> int8LayerOps(const torch::jit::Module& folded,
                                                const torch::jit::Module& int8Model) {
  std::map<std::string, std::string> layerOfPacked;
  for (const auto& layer : reportWeightQuantization(folded, int8Model, convAndLinearTypes()))
    if (layer.quantized && !layer.packedAs.empty()) layerOfPacked[layer.packedAs] = layer.layer;
  auto graph = int8Model.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  std::map<std::string, Int8LayerOp> ops;
  std::map<std::string, int> calls;
  forEachNode(graph, [&](torch::jit::Node* node) {
    const std::string kind = node->kind().toQualString();
    const bool layerOp = (kind.rfind("quantized::conv", 0) == 0 || kind.rfind("quantized::linear", 0) == 0) &&
                         kind.find("pack") == std::string::npos && node->inputs().size() >= 4;
    if (!layerOp) return;
    const auto found = layerOfPacked.find(attributePath(node->input(1)));
    if (found == layerOfPacked.end()) return;
    ++calls[found->second];
    const auto n = node->inputs().size();
    const auto scale = torch::jit::toIValue(node->input(n - 2));
    const auto zeroPoint = torch::jit::toIValue(node->input(n - 1));
    if (node->owningBlock() != graph->block() || !scale || !scale->isDouble() || !zeroPoint ||
        !zeroPoint->isInt())
      return;
    ops[found->second] = {kind, scale->toDouble(), zeroPoint->toInt(),
                          kind.size() > 5 && kind.substr(kind.size() - 5) == "_relu"};
  });
  for (const auto& [layer, count] : calls)
    if (count != 1) ops.erase(layer);
  return ops;
}

}  // namespace quantscope
