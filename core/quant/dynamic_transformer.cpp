#include "core/quant/dynamic_transformer.h"

#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "core/internal/dynamic_rnn.h"
#include "core/internal/graph_walk.h"

namespace quantscope {
namespace {

constexpr const char* kInt8Forward = "_quantscope_int8_forward";

// The int8 forward of a TransformerEncoderLayer (PyTorch 1.13's signature). It computes what the layer's
// non-fused path computes in eval mode -- self-attention, residual, layer norm, feed-forward, residual,
// layer norm, in either norm order -- with the four projections on the int8 dynamic kernels; attention
// itself (scores, softmax, weighted sum) and the norms stay float, as in quantize_dynamic. Projection inputs
// are plain values, never if-outputs: LibTorch 1.13's InsertObservers fails on those ("value not in scope").
// The @NAME@ placeholders are filled in per layer type: module constants (norm_first, batch_first, eps) are
// not attributes a method defined from C++ can read, and reduce_range is the recipe's.
const char* kInt8ForwardSource = R"(
def _quantscope_int8_forward(self, src: Tensor, src_mask: Optional[Tensor]=None, src_key_padding_mask: Optional[Tensor]=None) -> Tensor:
    if @NORM_FIRST@:
        x = torch.layer_norm(src, [src.size(-1)], self.norm1.weight, self.norm1.bias, @EPS1@)
    else:
        x = src
    batched = x.dim() == 3
    batch_first = @BATCH_FIRST@ or not batched
    qkv = quantized.linear_dynamic(x, self._quantscope_in_proj, @REDUCE_RANGE@)
    if not batched:
        qkv = qkv.unsqueeze(0)
    elif not batch_first:
        qkv = qkv.transpose(0, 1)
    B = qkv.size(0)
    L = qkv.size(1)
    E = qkv.size(2) // 3
    H = self.self_attn.num_heads
    D = E // H
    heads = qkv.reshape(B, L, 3, H, D).permute(2, 0, 3, 1, 4)
    q = heads[0] * (float(D) ** -0.5)
    scores = torch.matmul(q, heads[1].transpose(-2, -1))
    if src_mask is not None:
        m = src_mask
        if m.dim() == 3:
            m = m.reshape(B, H, L, L)
        if m.is_floating_point():
            scores = scores + m
        else:
            scores = scores.masked_fill(m, float("-inf"))
    if src_key_padding_mask is not None:
        p = src_key_padding_mask.reshape(B, 1, 1, L)
        if p.is_floating_point():
            scores = scores + p
        else:
            scores = scores.masked_fill(p, float("-inf"))
    context = torch.matmul(torch.softmax(scores, -1), heads[2]).transpose(1, 2).reshape(B, L, E)
    attended = quantized.linear_dynamic(context, self._quantscope_out_proj, @REDUCE_RANGE@)
    if not batched:
        attended = attended.squeeze(0)
    elif not batch_first:
        attended = attended.transpose(0, 1)
    if @NORM_FIRST@:
        h = src + attended
        y = torch.layer_norm(h, [h.size(-1)], self.norm2.weight, self.norm2.bias, @EPS2@)
    else:
        h = torch.layer_norm(src + attended, [src.size(-1)], self.norm1.weight, self.norm1.bias, @EPS1@)
        y = h
    if self.activation_relu_or_gelu == 2:
        hidden = torch.gelu(quantized.linear_dynamic(y, self._quantscope_linear1, @REDUCE_RANGE@))
    else:
        hidden = quantized.linear_relu_dynamic(y, self._quantscope_linear1, @REDUCE_RANGE@)
    out = h + quantized.linear_dynamic(hidden, self._quantscope_linear2, @REDUCE_RANGE@)
    if @NORM_FIRST@:
        return out
    return torch.layer_norm(out, [out.size(-1)], self.norm2.weight, self.norm2.bias, @EPS2@)
)";

// `torch.x` are ATen builtins (as in the default resolver) and `quantized.x` the quantized ops.
struct Int8OpsResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
    if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override { return nullptr; }
};

bool isEncoderLayerType(const c10::ClassTypePtr& type) {
  if (!type || !type->name()) return false;
  const std::string name = type->name()->qualifiedName();
  const std::string suffix = ".TransformerEncoderLayer";
  return name.find("torch.nn.modules.transformer.") != std::string::npos && name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

c10::optional<torch::jit::Module> submodule(const torch::jit::Module& m, const std::string& name) {
  if (!m.hasattr(name)) return c10::nullopt;
  const c10::IValue value = m.attr(name);
  if (!value.isModule()) return c10::nullopt;
  return value.toModule();
}

c10::optional<torch::Tensor> tensorAttr(const torch::jit::Module& m, const std::string& name) {
  if (!m.hasattr(name)) return c10::nullopt;
  const c10::IValue value = m.attr(name);
  if (!value.isTensor()) return c10::nullopt;
  return value.toTensor();
}

// An optional tensor attribute (a bias): undefined when the module has none.
torch::Tensor tensorOrUndefined(const torch::jit::Module& m, const std::string& name) {
  if (!m.hasattr(name) || !m.attr(name).isTensor()) return torch::Tensor();
  return m.attr(name).toTensor();
}

struct LayerProjections {
  // Attribute the packed weight gets on the layer, float weight, bias (may be undefined), and the
  // projection's path relative to the layer.
  std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor, std::string>> items;
};

// The layer's four projections, or the reason the int8 forward cannot stand in for the layer's own.
std::string projectionsOf(const torch::jit::Module& layer, LayerProjections& out) {
  const auto attention = submodule(layer, "self_attn");
  const auto outProj = attention ? submodule(*attention, "out_proj") : c10::nullopt;
  const auto linear1 = submodule(layer, "linear1"), linear2 = submodule(layer, "linear2");
  if (!attention || !outProj || !linear1 || !linear2 || !submodule(layer, "norm1") ||
      !submodule(layer, "norm2"))
    return "not the structure of PyTorch's TransformerEncoderLayer";
  const auto inProj = tensorAttr(*attention, "in_proj_weight");
  if (!inProj || !inProj->defined() || inProj->dim() != 2)
    return "query, key and value have separate projections (kdim/vdim differ from embed_dim)";
  if (!layer.hasattr("activation_relu_or_gelu") || !layer.attr("activation_relu_or_gelu").isInt())
    return "this PyTorch version's layer has no activation_relu_or_gelu";
  const int64_t activation = layer.attr("activation_relu_or_gelu").toInt();
  if (activation != 1 && activation != 2) return "its activation is neither ReLU nor GELU";
  if (!attention->hasattr("num_heads") || inProj->size(1) % attention->attr("num_heads").toInt() != 0)
    return "embed_dim is not a multiple of num_heads";
  const auto weight = [](const torch::jit::Module& m) { return tensorAttr(m, "weight"); };
  if (!weight(*outProj) || !weight(*linear1) || !weight(*linear2)) return "a projection has no weight";
  out.items = {
      {"_quantscope_in_proj", *inProj, tensorOrUndefined(*attention, "in_proj_bias"), "self_attn.in_proj"},
      {"_quantscope_out_proj", *weight(*outProj), tensorOrUndefined(*outProj, "bias"), "self_attn.out_proj"},
      {"_quantscope_linear1", *weight(*linear1), tensorOrUndefined(*linear1, "bias"), "linear1"},
      {"_quantscope_linear2", *weight(*linear2), tensorOrUndefined(*linear2, "bias"), "linear2"},
  };
  return "";
}

c10::IValue packLinear(const torch::Tensor& weight, const torch::Tensor& bias, bool perChannel) {
  torch::jit::Stack stack{
      quantizeDynamicWeight(weight, perChannel),
      bias.defined() ? c10::IValue(bias.detach().to(torch::kFloat).contiguous()) : c10::IValue()};
  c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "").callBoxed(&stack);
  return stack.at(0);
}

// A module constant (__constants__) or, failing that, an attribute; None when it has neither.
c10::IValue constantOrAttribute(const torch::jit::Module& m, const std::string& name) {
  if (m.type()->hasConstant(name)) return m.type()->getConstant(name);
  if (m.hasattr(name)) return m.attr(name);
  return c10::IValue();
}

void replaceAll(std::string& text, const std::string& placeholder, const std::string& value) {
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size()))
    text.replace(at, placeholder.size(), value);
}

// The int8 forward's source for layers like `layer` (all layers of one type share constants), or "" with
// `reason` set.
std::string int8ForwardSource(const torch::jit::Module& layer, bool reduceRange, std::string& reason) {
  const c10::IValue normFirst = constantOrAttribute(layer, "norm_first");
  const c10::IValue batchFirst = constantOrAttribute(*submodule(layer, "self_attn"), "batch_first");
  const c10::IValue eps1 = constantOrAttribute(*submodule(layer, "norm1"), "eps");
  const c10::IValue eps2 = constantOrAttribute(*submodule(layer, "norm2"), "eps");
  if (!normFirst.isBool() || !batchFirst.isBool() || !eps1.isDouble() || !eps2.isDouble()) {
    reason = "norm_first, batch_first or the norms' eps are not where PyTorch 1.13 keeps them";
    return "";
  }
  const auto pythonBool = [](bool b) { return std::string(b ? "True" : "False"); };
  const auto pythonFloat = [](double d) {
    std::ostringstream text;
    text << std::setprecision(17) << d;
    return text.str();
  };
  std::string source = kInt8ForwardSource;
  replaceAll(source, "@NORM_FIRST@", pythonBool(normFirst.toBool()));
  replaceAll(source, "@BATCH_FIRST@", pythonBool(batchFirst.toBool()));
  replaceAll(source, "@EPS1@", pythonFloat(eps1.toDouble()));
  replaceAll(source, "@EPS2@", pythonFloat(eps2.toDouble()));
  replaceAll(source, "@REDUCE_RANGE@", pythonBool(reduceRange));
  return source;
}

std::string joinPath(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

RoutedTransformerLayers routeTransformerLayersToInt8(torch::jit::Module& module,
                                                     const TransformerQuantization& settings) {
  RoutedTransformerLayers routed;
  // Layers grouped by type: the int8 forward is a method of the type, so a type is routed only when every
  // layer of it can take the int8 forward.
  std::map<c10::ClassTypePtr, std::vector<std::pair<std::string, torch::jit::Module>>> layersByType;
  for (const auto& item : module.named_modules()) {
    if (isEncoderLayerType(item.value.type()))
      layersByType[item.value.type()].emplace_back(item.name, item.value);
  }
  std::set<c10::ClassTypePtr> routedTypes;
  for (auto& [type, layers] : layersByType) {
    std::string reason;
    std::vector<LayerProjections> projections(layers.size());
    for (size_t i = 0; i < layers.size() && reason.empty(); ++i)
      reason = projectionsOf(layers[i].second, projections[i]);
    const auto forward = type->findMethod("forward");
    if (reason.empty() && (!forward || forward->getSchema().arguments().size() != 4))
      reason = "its forward's signature is not PyTorch 1.13's (src, src_mask, src_key_padding_mask)";
    if (!reason.empty()) {
      for (const auto& layer : layers) routed.skipped.push_back(layer.first + ": " + reason);
      continue;
    }
    const std::string source = int8ForwardSource(layers.front().second, settings.reduceRange, reason);
    if (!reason.empty()) {
      for (const auto& layer : layers) routed.skipped.push_back(layer.first + ": " + reason);
      continue;
    }
    // The packed weights first: the int8 forward reads them, so they must be attributes of the type when it
    // compiles. Should it not compile, they stay unused and freezing drops them.
    std::vector<std::pair<std::string, c10::IValue>> packedWeights;
    for (size_t i = 0; i < layers.size(); ++i) {
      for (const auto& [attribute, weight, bias, reportName] : projections[i].items) {
        const c10::IValue packed = packLinear(weight, bias, settings.perChannel);
        layers[i].second.register_attribute(attribute, packed.type(), packed);
        packedWeights.emplace_back(joinPath(layers[i].first, reportName) + "._packed_params", packed);
      }
    }
    if (!type->findMethod(kInt8Forward)) {
      try {
        layers.front().second.define(source, std::make_shared<Int8OpsResolver>());
      } catch (const std::exception& e) {
        const std::string message = e.what();
        const size_t start = message.find_first_not_of("\n ");
        reason = "its int8 forward did not compile (" +
                 message.substr(start, message.find('\n', start) - start) + ")";
        for (const auto& layer : layers) routed.skipped.push_back(layer.first + ": " + reason);
        continue;
      }
    }
    for (const auto& layer : layers) {
      routed.layers.push_back(layer.first);
      routed.reluFused.push_back(layer.second.attr("activation_relu_or_gelu").toInt() == 1);
    }
    routed.packedWeights.insert(routed.packedWeights.end(), packedWeights.begin(), packedWeights.end());
    routedTypes.insert(type);
  }
  if (routedTypes.empty()) return routed;

  // Every call of a routed layer's forward, in every method of every module type, goes to the int8 one.
  std::set<c10::ClassTypePtr> visited;
  for (const auto& item : module.named_modules()) {
    const c10::ClassTypePtr type = item.value.type();
    if (!visited.insert(type).second) continue;
    for (torch::jit::Function* method : type->methods()) {
      forEachNode(torch::jit::toGraphFunction(*method).graph(), [&](torch::jit::Node* node) {
        if (node->kind() != c10::prim::CallMethod || node->s(c10::attr::name) != "forward") return;
        const auto callee = node->input(0)->type()->cast<c10::ClassType>();
        if (callee && routedTypes.count(callee)) node->s_(c10::attr::name, kInt8Forward);
      });
    }
  }
  // TransformerEncoder turns a padded batch into a nested tensor before its layers; the int8 forward takes
  // the dense batch with the padding mask instead.
  for (const auto& item : module.named_modules()) {
    if (!item.value.hasattr("enable_nested_tensor") || !item.value.attr("enable_nested_tensor").isBool())
      continue;
    const bool holdsRoutedLayer = std::any_of(
        routed.layers.begin(), routed.layers.end(),
        [&](const std::string& p) { return item.name.empty() || startsWith(p, item.name + "."); });
    torch::jit::Module encoder = item.value;  // a handle on the same module object
    if (holdsRoutedLayer) encoder.setattr("enable_nested_tensor", false);
  }
  return routed;
}

int keepTransformerWeightsAsAttributes(torch::jit::Module& frozen, const RoutedTransformerLayers& routed) {
  auto graph = frozen.get_method("forward").graph();
  std::vector<torch::jit::Node*> constants;
  forEachNode(graph, [&](torch::jit::Node* node) {
    if (node->kind() != c10::prim::Constant) return;
    const auto type = node->output()->type()->cast<c10::ClassType>();
    if (type && type->name() &&
        type->name()->qualifiedName().find("LinearPackedParamsBase") != std::string::npos)
      constants.push_back(node);
  });
  int moved = 0;
  for (torch::jit::Node* node : constants) {
    const c10::IValue packed = *torch::jit::toIValue(node->output());
    std::string name;
    for (const auto& [path, object] : routed.packedWeights) {
      if (object.isSameIdentity(packed)) name = path;
    }
    if (name.empty()) name = "_quantscope_packed_" + std::to_string(moved) + "._packed_params";
    if (!frozen.hasattr(name)) frozen.register_attribute(name, packed.type(), packed);
    torch::jit::WithInsertPoint insert(graph->block()->nodes().front());
    torch::jit::Value* attribute = graph->insertGetAttr(graph->inputs()[0], name);
    attribute->setType(packed.type());
    node->output()->replaceAllUsesWith(attribute);
    node->destroy();
    ++moved;
  }
  return moved;
}

void describeRoutedTransformerLayers(const RoutedTransformerLayers& routed, QuantizationOutcome& outcome) {
  for (LayerQuantization& layer : outcome.layers) {
    for (size_t i = 0; i < routed.layers.size(); ++i) {
      const std::string& path = routed.layers[i];
      const std::vector<std::pair<std::string, std::string>> projections{
          {".self_attn", "quantized::linear_dynamic, attention input projection (q, k, v; in_proj_weight)"},
          {".self_attn.out_proj", "quantized::linear_dynamic, attention output projection"},
          {".linear1", routed.reluFused[i]
                           ? "quantized::linear_relu_dynamic, feed-forward linear1 with its ReLU"
                           : "quantized::linear_dynamic, feed-forward linear1"},
          {".linear2", "quantized::linear_dynamic, feed-forward linear2"}};
      for (const auto& [suffix, what] : projections) {
        if (layer.layer != path + suffix) continue;
        layer.scheme = (layer.quantized ? "int8 on " + what + "; " : what + ": ") + layer.scheme;
      }
    }
    for (const std::string& skipped : routed.skipped) {
      const std::string path = skipped.substr(0, skipped.find(':'));
      if (!layer.quantized && startsWith(layer.layer, path + ".")) {
        layer.scheme += "; its TransformerEncoderLayer keeps LibTorch's own forward:" +
                        skipped.substr(skipped.find(':') + 1);
      }
    }
  }
  if (!routed.layers.empty()) {
    outcome.notes.push_back(
        std::to_string(routed.layers.size()) +
        " TransformerEncoderLayer(s) run an int8 forward instead of LibTorch's fused float kernel "
        "(aten::_transformer_encoder_layer_fwd): attention input and output projections and linear1/linear2 "
        "on int8 dynamic kernels (linear1 with its ReLU fused when it has one); attention scores, softmax "
        "and layer norms "
        "stay float. Padded batches are no longer turned into nested tensors: outputs at padded positions "
        "are computed (as on PyTorch's non-fused path) rather than zero.");
  }
  for (const std::string& skipped : routed.skipped) {
    outcome.notes.push_back("TransformerEncoderLayer " + skipped + "; it keeps LibTorch's own forward.");
  }
}

}  // namespace quantscope
