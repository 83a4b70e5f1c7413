#pragma once
// Visits every node of a TorchScript graph, including those nested in if/loop blocks.
#include <torch/script.h>

#include <functional>
#include <vector>

namespace quantscope {

inline void forEachNode(const std::shared_ptr<torch::jit::Graph>& graph,
                        const std::function<void(torch::jit::Node*)>& visit) {
  std::vector<torch::jit::Block*> blocks{graph->block()};
  while (!blocks.empty()) {
    torch::jit::Block* block = blocks.back();
    blocks.pop_back();
    for (torch::jit::Node* node : block->nodes()) {
      for (torch::jit::Block* sub : node->blocks()) blocks.push_back(sub);
      visit(node);
    }
  }
}

}  // namespace quantscope
