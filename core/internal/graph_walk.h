#pragma once
// Walking TorchScript graphs: every node (also inside if/loop blocks), and the attribute paths that
// GetAttr chains read from `self`.
#include <torch/script.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
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

// The attribute path a GetAttr chain reads from `self`: "layer1.0.conv1.weight" or, in an int8 graph,
// "quantized_forward._jit_pass_packed_weight_3" (one root attribute whose name has a dot: Finalize names
// packed weights after the method). Empty when the value is not such a chain.
inline std::string attributePath(torch::jit::Value* value) {
  std::string path;
  torch::jit::Node* node = value->node();
  for (; node->kind() == c10::prim::GetAttr; node = node->input(0)->node())
    path = node->s(c10::attr::name) + (path.empty() ? "" : "." + path);
  return node->kind() == c10::prim::Param ? path : std::string();
}

// The module holding the attribute at an attribute path and the attribute's name there: a root attribute
// (also one whose name has dots, as Finalize's packed weights) or "a.b.name" through submodules. Throws
// std::out_of_range naming the path when there is no such attribute.
inline std::pair<torch::jit::Module, std::string> attributeOwner(const torch::jit::Module& root,
                                                                 const std::string& path) {
  if (root.hasattr(path)) return {root, path};
  torch::jit::Module owner = root;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    const std::string part = path.substr(start, dot - start);
    if (!owner.hasattr(part) || !owner.attr(part).isObject())
      throw std::out_of_range("no attribute '" + path + "'");
    owner = torch::jit::Module(owner.attr(part).toObject());
    start = dot + 1;
  }
  const std::string name = path.substr(start);
  if (!owner.hasattr(name)) throw std::out_of_range("no attribute '" + path + "'");
  return {owner, name};
}

}  // namespace quantscope
