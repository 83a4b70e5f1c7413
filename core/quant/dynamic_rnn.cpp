#include "core/internal/dynamic_rnn.h"

#include "core/internal/graph_walk.h"

namespace quantscope {
namespace {

c10::IValue callOp(const char* name, torch::jit::Stack stack) {
  c10::Dispatcher::singleton().findSchemaOrThrow(name, "").callBoxed(&stack);
  return stack.at(0);
}

std::vector<torch::Tensor> tensorsOf(torch::jit::Value* list) {
  std::vector<torch::Tensor> tensors;
  if (auto constant = torch::jit::toIValue(list)) {
    for (const auto& t : constant->toTensorVector()) tensors.push_back(t);
  } else if (list->node()->kind() == c10::prim::ListConstruct) {
    for (torch::jit::Value* item : list->node()->inputs()) {
      auto value = torch::jit::toIValue(item);
      if (!value || !value->isTensor()) return {};
      tensors.push_back(value->toTensor());
    }
  }
  return tensors;
}

}  // namespace

torch::Tensor quantizeDynamicWeight(const torch::Tensor& weight, bool perChannel) {
  const double eps = std::numeric_limits<float>::epsilon();
  const torch::Tensor w = weight.detach().to(torch::kFloat).contiguous();
  if (perChannel) {
    const torch::Tensor maxAbs = std::get<0>(w.abs().reshape({w.size(0), -1}).max(1));
    const torch::Tensor scales = torch::clamp_min(maxAbs / 127.5, eps).to(torch::kDouble);
    return torch::quantize_per_channel(w, scales, torch::zeros({w.size(0)}, torch::kLong), 0, torch::kQInt8);
  }
  const double scale = std::max(w.abs().max().item<double>() / 127.5, eps);
  return torch::quantize_per_tensor(w, scale, 0, torch::kQInt8);
}

std::vector<torch::Tensor> unpackCellParams(const c10::IValue& cellParams) {
  std::vector<torch::Tensor> tensors;
  const auto object = cellParams.toObject();
  torch::jit::Function* getState = object->type()->findMethod("__getstate__");
  if (!getState) return tensors;
  torch::jit::Stack stack{cellParams};
  getState->run(stack);
  // State: (kind, tensors, doubles, longs, packed linear params).
  const auto state = stack.at(0).toTuple()->elements();
  for (const auto& t : state.at(1).toTensorVector()) tensors.push_back(t);
  for (const auto& packed : state.at(4).toListRef()) {
    torch::jit::Stack unpack{packed};
    c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_unpack", "").callBoxed(&unpack);
    tensors.push_back(unpack.at(0).toTensor());
  }
  return tensors;
}

int quantizeRnnLayers(torch::jit::Module& frozen, const RnnQuantization& settings) {
  auto graph = frozen.get_method("forward").graph();
  std::vector<torch::jit::Node*> rnnNodes;
  forEachNode(graph, [&](torch::jit::Node* node) {
    const auto kind = node->kind();
    if ((kind == c10::aten::lstm || kind == c10::aten::gru) && node->inputs().size() == 9)
      rnnNodes.push_back(node);
  });
  int rewritten = 0;
  for (torch::jit::Node* node : rnnNodes) {
    const bool lstm = node->kind() == c10::aten::lstm;
    const std::vector<torch::Tensor> flat = tensorsOf(node->input(2));
    const auto hasBiases = torch::jit::toIValue(node->input(3));
    // Weights per layer and direction: w_ih, w_hh, b_ih, b_hh. Anything else stays float.
    if (flat.empty() || flat.size() % 4 != 0 || !hasBiases || !hasBiases->toBool()) continue;
    c10::TypePtr cellType;
    std::vector<c10::IValue> cells;
    for (size_t i = 0; i < flat.size(); i += 4) {
      const c10::IValue packedIh = callOp("quantized::linear_prepack",
                                          {quantizeDynamicWeight(flat[i], settings.perChannel), flat[i + 2]});
      const c10::IValue packedHh =
          callOp("quantized::linear_prepack",
                 {quantizeDynamicWeight(flat[i + 1], settings.perChannel), flat[i + 3]});
      cells.push_back(callOp("quantized::make_quantized_cell_params_dynamic",
                             {packedIh, packedHh, flat[i + 2], flat[i + 3], settings.reduceRange}));
      cellType = cells.back().type();
    }
    c10::impl::GenericList list(cellType);
    for (const auto& cell : cells) list.push_back(cell);
    // Custom-class objects cannot be graph constants in a saved archive; they live in a module attribute.
    const std::string attribute =
        std::string("_quantscope_") + (lstm ? "lstm" : "gru") + "_cells_" + std::to_string(rewritten);
    frozen.register_attribute(attribute, c10::ListType::create(cellType), list);

    torch::jit::WithInsertPoint insert(node);
    std::vector<torch::jit::Value*> inputs{node->input(0), node->input(1),
                                           graph->insertGetAttr(graph->inputs()[0], attribute)};
    for (size_t i = 3; i < 9; ++i) inputs.push_back(node->input(i));
    if (lstm) {
      inputs.push_back(graph->insertConstant(static_cast<int64_t>(c10::ScalarType::QInt8)));
      inputs.push_back(graph->insertConstant(true));  // use_dynamic
    }
    torch::jit::Node* quantizedNode = graph->insertNode(
        graph->create(c10::Symbol::fromQualString(lstm ? "aten::quantized_lstm" : "aten::quantized_gru"),
                      inputs, node->outputs().size()));
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      quantizedNode->output(i)->setType(node->output(i)->type());
      node->output(i)->replaceAllUsesWith(quantizedNode->output(i));
    }
    node->destroy();
    ++rewritten;
  }
  return rewritten;
}

}  // namespace quantscope
