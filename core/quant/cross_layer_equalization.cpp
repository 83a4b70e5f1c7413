#include "core/quant/cross_layer_equalization.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>

#include "core/internal/graph_walk.h"

namespace quantscope {

std::vector<ParamSpec> accuracyStepParams() {
  return {
      {"equalize",
       ParamType::Bool,
       "false",
       0,
       0,
       {},
       "Cross-layer equalization: rescale consecutive Conv/Linear pairs through ReLU so their per-channel "
       "weight ranges match (same float outputs), then absorb high biases into the next layer. Data free."},
      {"relu6_to_relu",
       ParamType::Bool,
       "false",
       0,
       0,
       {},
       "With equalize: replace ReLU6 by ReLU first (as AIMET and the DFQ paper do) so pairs through ReLU6 "
       "are equalized too. Changes the float model where an activation exceeds 6; the run notes measure by "
       "how much."},
      {"bias_correction",
       ParamType::Choice,
       "off",
       0,
       0,
       {"off", "empirical", "analytical"},
       "Shift each int8 layer's bias by its mean output error: empirical measures it on calibration samples, "
       "analytical derives it from the preceding batch norm's statistics (layers without one stay as they "
       "are)."},
  };
}

namespace {

bool isFloatLayerOp(const std::string& kind) {
  return kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" ||
         kind == "aten::_convolution" || kind == "aten::linear";
}

std::string ownerOf(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::optional<double> constantDouble(torch::jit::Value* v) {
  const auto iv = torch::jit::toIValue(v);
  if (!iv) return std::nullopt;
  if (iv->isDouble()) return iv->toDouble();
  if (iv->isInt()) return double(iv->toInt());
  return std::nullopt;
}

// What an elementwise node does, when it is an activation the accuracy steps understand.
std::optional<LinkActivation> activationOf(torch::jit::Node* node) {
  const std::string kind = node->kind().toQualString();
  if (kind == "aten::relu" || kind == "aten::relu_") return LinkActivation::Relu;
  if (kind == "aten::relu6" || kind == "aten::relu6_") return LinkActivation::Relu6;
  if (kind == "aten::hardtanh" || kind == "aten::hardtanh_" || kind == "aten::clamp" ||
      kind == "aten::clamp_") {
    if (node->inputs().size() >= 3) {
      const auto low = constantDouble(node->input(1)), high = constantDouble(node->input(2));
      if (low && high && *low == 0.0 && *high == 6.0) return LinkActivation::Relu6;
    }
    return LinkActivation::Other;
  }
  return std::nullopt;
}

// Conv/Linear ops of the inlined forward graph by layer name (the module whose weight they read).
struct LayerOps {
  std::shared_ptr<torch::jit::Graph> graph;
  std::map<std::string, std::vector<torch::jit::Node*>> calls;
  std::map<torch::jit::Node*, std::string> nameOf;
};

LayerOps layerOps(const torch::jit::Module& module) {
  LayerOps ops;
  ops.graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*ops.graph);
  forEachNode(ops.graph, [&](torch::jit::Node* node) {
    if (!isFloatLayerOp(node->kind().toQualString()) || node->inputs().size() < 2) return;
    const std::string name = ownerOf(attributePath(node->input(1)));
    if (name.empty()) return;
    ops.calls[name].push_back(node);
  });
  for (const auto& [name, nodes] : ops.calls) {
    if (nodes.size() == 1 && nodes.front()->owningBlock() == ops.graph->block())
      ops.nameOf[nodes.front()] = name;
  }
  return ops;
}

std::map<std::string, torch::jit::Module> modulesByName(const torch::jit::Module& root) {
  std::map<std::string, torch::jit::Module> modules;
  for (const auto& sub : root.named_modules()) modules.emplace(sub.name, sub.value);
  return modules;
}

torch::Tensor floatTensor(const c10::IValue& v) { return v.toTensor().detach().to(torch::kFloat); }

// Per-channel weight ranges: of each output channel (dim 0), or of each input channel (dim 1).
torch::Tensor outputRanges(const torch::Tensor& w) { return w.abs().flatten(1).amax(1); }
torch::Tensor inputRanges(const torch::Tensor& w) { return w.abs().transpose(0, 1).flatten(1).amax(1); }

double ratio(const torch::Tensor& ranges) {
  const double low = ranges.min().item<double>();
  return low > 0 ? ranges.max().item<double>() / low : std::numeric_limits<double>::infinity();
}

// How the second layer of a pair reads the first's channels.
enum class Reads { Dense, Depthwise, Unsupported };

Reads readsOf(const torch::Tensor& w1, const torch::Tensor& w2) {
  const int64_t channels = w1.size(0);
  if (w2.dim() < 2) return Reads::Unsupported;
  if (w2.size(1) == channels && w2.dim() == w1.dim()) return Reads::Dense;
  if (w2.dim() == 2 && w1.dim() == 2 && w2.size(1) == channels) return Reads::Dense;
  if (w2.dim() > 2 && w2.size(1) == 1 && w2.size(0) == channels) return Reads::Depthwise;
  return Reads::Unsupported;
}

// `scale` shaped to multiply dim `dim` of a tensor of rank `rank`.
torch::Tensor along(const torch::Tensor& scale, int64_t dim, int64_t rank) {
  std::vector<int64_t> shape(size_t(rank), 1);
  shape[size_t(dim)] = scale.numel();
  return scale.view(shape);
}

}  // namespace

std::vector<LayerLink> consecutiveLayers(const torch::jit::Module& floatModule) {
  const LayerOps ops = layerOps(floatModule);
  std::vector<LayerLink> links;
  for (torch::jit::Node* node : ops.graph->block()->nodes()) {  // in the order forward runs them
    if (!ops.nameOf.count(node)) continue;
    const std::string& first = ops.nameOf.at(node);
    torch::jit::Value* out = node->output();
    for (const auto& use : out->uses()) {
      LayerLink link;
      link.first = first;
      torch::jit::Node* user = use.user;
      torch::jit::Node* second = nullptr;
      bool viaActivationAlone = true;
      if (ops.nameOf.count(user) && use.offset == 0) {
        second = user;
      } else if (const auto act = activationOf(user); act && use.offset == 0) {
        link.activation = *act;
        torch::jit::Value* activated = user->output();
        // relu_ writes into the layer's output: later readers of either value see the activated one.
        for (const auto& next : activated->uses()) {
          if (ops.nameOf.count(next.user) && next.offset == 0 && !second) second = next.user;
        }
        viaActivationAlone = activated->uses().size() == 1;
      }
      if (!second) continue;
      link.second = ops.nameOf.at(second);
      link.exclusive = out->uses().size() == 1 && viaActivationAlone;
      links.push_back(link);
    }
  }
  return links;
}

std::map<std::string, BatchNormStats> batchNormsAfterLayers(const torch::jit::Module& unfolded) {
  const LayerOps ops = layerOps(unfolded);
  const auto modules = modulesByName(unfolded);
  std::map<std::string, BatchNormStats> stats;
  for (const auto& [node, name] : ops.nameOf) {
    // The batch norm's module code also reads the input's dim() and size() for its checks.
    torch::jit::Node* user = nullptr;
    for (const auto& use : node->output()->uses())
      if (use.user->kind() == c10::aten::batch_norm && use.offset == 0) user = use.user;
    if (!user || user->inputs().size() < 3) continue;
    const std::string bn = ownerOf(attributePath(user->input(1)));
    const auto found = modules.find(bn);
    if (bn.empty() || found == modules.end()) continue;
    const torch::jit::Module& module = found->second;
    const c10::IValue gamma = module.hasattr("weight") ? module.attr("weight") : c10::IValue();
    const c10::IValue beta = module.hasattr("bias") ? module.attr("bias") : c10::IValue();
    if (!module.hasattr("running_mean")) continue;
    const int64_t n = module.attr("running_mean").toTensor().numel();
    BatchNormStats s;
    s.gamma = gamma.isTensor() ? floatTensor(gamma).clone() : torch::ones({n});
    s.beta = beta.isTensor() ? floatTensor(beta).clone() : torch::zeros({n});
    stats[name] = s;
  }
  return stats;
}

std::string EqualizationResult::note() const {
  std::string text = "Cross-layer equalization: " + std::to_string(pairs.size()) + " pair" +
                     (pairs.size() == 1 ? "" : "s") + " rescaled";
  if (!pairs.empty()) text += " in " + std::to_string(iterations) + " sweeps";
  text += "; high-bias absorption on " + std::to_string(absorbed.size()) + ".";
  if (!skipped.empty()) {
    text += " Left alone:";
    for (size_t i = 0; i < skipped.size(); ++i) text += (i ? "; " : " ") + skipped[i];
    text += ".";
  }
  return text;
}

EqualizationResult equalizeCrossLayer(torch::jit::Module& folded,
                                      std::map<std::string, BatchNormStats>& stats) {
  torch::NoGradGuard noGrad;
  EqualizationResult result;
  const auto modules = modulesByName(folded);
  struct Pair {
    LayerLink link;
    torch::jit::Module first, second;
    Reads reads = Reads::Dense;
    torch::Tensor total;  // product of the scales applied to first's output channels
    EqualizedPair report;
  };
  std::vector<Pair> pairs;
  for (const LayerLink& link : consecutiveLayers(folded)) {
    const std::string name = link.first + " -> " + link.second;
    if (!link.exclusive) {
      result.skipped.push_back(name + ": the first layer's output also goes elsewhere (e.g. a residual add)");
      continue;
    }
    if (link.activation == LinkActivation::Relu6) {
      result.skipped.push_back(name + ": through ReLU6, whose clamp at 6 does not commute with rescaling");
      continue;
    }
    if (link.activation == LinkActivation::Other) {
      result.skipped.push_back(name + ": through a clamp that is not positively homogeneous");
      continue;
    }
    Pair p{link, modules.at(link.first), modules.at(link.second)};
    const torch::Tensor w1 = floatTensor(p.first.attr("weight")), w2 = floatTensor(p.second.attr("weight"));
    p.reads = readsOf(w1, w2);
    if (p.reads == Reads::Unsupported) {
      result.skipped.push_back(name + ": the second layer is a grouped convolution that is not depthwise");
      continue;
    }
    p.total = torch::ones({w1.size(0)});
    p.report.first = link.first;
    p.report.second = link.second;
    p.report.channels = w1.size(0);
    p.report.firstRatioBefore = ratio(outputRanges(w1));
    p.report.secondRatioBefore = ratio(p.reads == Reads::Dense ? inputRanges(w2) : outputRanges(w2));
    pairs.push_back(p);
  }

  // Each sweep equalizes every pair once; a layer in two pairs (the middle of a chain) is moved by both,
  // so sweeps repeat until the scales settle.
  constexpr int kMaxSweeps = 200;
  for (int sweep = 0; sweep < kMaxSweeps && !pairs.empty(); ++sweep) {
    double largestStep = 0;
    for (Pair& p : pairs) {
      const torch::Tensor w1 = floatTensor(p.first.attr("weight"));
      const torch::Tensor w2 = floatTensor(p.second.attr("weight"));
      const torch::Tensor r1 = outputRanges(w1);
      const torch::Tensor r2 = p.reads == Reads::Dense ? inputRanges(w2) : outputRanges(w2);
      // s_i = sqrt(r1_i r2_i) / r2_i makes both ranges sqrt(r1_i r2_i); a dead channel keeps s = 1.
      torch::Tensor s = torch::sqrt(r1 * r2) / r2;
      s = torch::where((r1 > 0) & (r2 > 0) & torch::isfinite(s), s, torch::ones_like(s));
      p.first.setattr("weight", (w1 / along(s, 0, w1.dim())).to(p.first.attr("weight").toTensor().dtype()));
      const c10::IValue b1 = p.first.attr("bias");
      if (b1.isTensor()) p.first.setattr("bias", (floatTensor(b1) / s).to(b1.toTensor().dtype()));
      p.second.setattr("weight", (w2 * along(s, p.reads == Reads::Dense ? 1 : 0, w2.dim()))
                                     .to(p.second.attr("weight").toTensor().dtype()));
      p.total = p.total * s;
      largestStep = std::max(largestStep, s.log().abs().max().item<double>());
    }
    result.iterations = sweep + 1;
    if (largestStep < 1e-4) break;
  }
  for (Pair& p : pairs) {
    const torch::Tensor w1 = floatTensor(p.first.attr("weight")), w2 = floatTensor(p.second.attr("weight"));
    p.report.firstRatioAfter = ratio(outputRanges(w1));
    p.report.secondRatioAfter = ratio(p.reads == Reads::Dense ? inputRanges(w2) : outputRanges(w2));
    p.report.scaleMin = p.total.min().item<double>();
    p.report.scaleMax = p.total.max().item<double>();
    result.pairs.push_back(p.report);
    // The batch norm's output statistics follow the first layer's output channels.
    auto found = stats.find(p.link.first);
    if (found != stats.end()) {
      found->second.gamma = found->second.gamma / p.total;
      found->second.beta = found->second.beta / p.total;
    }
  }

  // High-bias absorption: where the first layer's output o ~ N(beta, gamma^2) passes a ReLU, almost all of
  // it is above c = max(0, beta - 3|gamma|), so relu(o) = relu(o - c) + c; the constant c goes through the
  // second layer (W2 c) into its bias and the first layer's bias drops by c. Exact where o >= c (all but
  // ~0.1 % of values) and away from zero-padded borders of the second layer.
  for (Pair& p : pairs) {
    if (p.link.activation != LinkActivation::Relu) continue;
    auto found = stats.find(p.link.first);
    if (found == stats.end()) continue;
    const c10::IValue b1 = p.first.attr("bias"), b2 = p.second.attr("bias");
    if (!b1.isTensor() || !b2.isTensor()) {
      result.skipped.push_back(p.link.first + " -> " + p.link.second +
                               ": no high-bias absorption, a layer has no bias to take it");
      continue;
    }
    BatchNormStats& s = found->second;
    const torch::Tensor c = torch::clamp_min(s.beta - 3.0 * s.gamma.abs(), 0.0);
    const int64_t moved = (c > 0).sum().item<int64_t>();
    if (moved == 0) continue;
    const torch::Tensor w2 = floatTensor(p.second.attr("weight"));
    torch::Tensor shift;  // W2 c, per output channel of the second layer
    if (p.reads == Reads::Depthwise)
      shift = w2.flatten(1).sum(1) * c;
    else
      shift = (w2.dim() == 2 ? w2 : w2.flatten(2).sum(2)).matmul(c);
    p.first.setattr("bias", (floatTensor(b1) - c).to(b1.toTensor().dtype()));
    p.second.setattr("bias", (floatTensor(b2) + shift).to(b2.toTensor().dtype()));
    s.beta = s.beta - c;
    result.absorbed.push_back({p.link.first, p.link.second, moved, c.max().item<double>()});
  }
  return result;
}

namespace {

struct Relu6Call {
  torch::jit::Value* input = nullptr;
  bool inPlace = false;
};

// A call of the shared TorchScript function hardtanh(x, 0., 6., inplace) or relu6(x, inplace), as nn.ReLU6's
// forward makes it. The call is replaced, never the function: every module (the caller's too) uses it.
std::optional<Relu6Call> relu6FunctionCall(torch::jit::Node* node) {
  if (node->kind() != c10::prim::CallFunction || node->inputs().size() < 2) return std::nullopt;
  const auto function = node->input(0)->type()->cast<c10::FunctionType>();
  if (!function) return std::nullopt;
  const std::string name = function->function()->name();
  auto constantBool = [](torch::jit::Value* v) {
    const auto iv = torch::jit::toIValue(v);
    return iv && iv->isBool() ? std::optional<bool>(iv->toBool()) : std::nullopt;
  };
  if (name == "hardtanh" && node->inputs().size() == 5) {
    const auto low = constantDouble(node->input(2)), high = constantDouble(node->input(3));
    const auto inPlace = constantBool(node->input(4));
    if (low && high && inPlace && *low == 0.0 && *high == 6.0) return Relu6Call{node->input(1), *inPlace};
  }
  if (name == "relu6" && node->inputs().size() == 3) {
    if (const auto inPlace = constantBool(node->input(2))) return Relu6Call{node->input(1), *inPlace};
  }
  return std::nullopt;
}

}  // namespace

int replaceRelu6WithRelu(torch::jit::Module& folded) {
  // The ReLU6 ops forward runs, counted on the inlined graph: instances of one module type share one method
  // graph, so the rewrite below touches fewer graphs than there are ReLU6 calls.
  const std::shared_ptr<torch::jit::Graph> inlined = folded.get_method("forward").graph()->copy();
  torch::jit::Inline(*inlined);
  int calls = 0;
  forEachNode(inlined, [&](torch::jit::Node* node) { calls += activationOf(node) == LinkActivation::Relu6; });

  std::vector<torch::jit::Module> modules{folded};
  for (const auto& sub : folded.modules()) modules.push_back(sub);
  std::set<torch::jit::Graph*> rewritten;
  for (const auto& module : modules) {
    for (const auto& method : module.get_methods()) {
      const std::shared_ptr<torch::jit::Graph> graph = method.graph();
      if (!rewritten.insert(graph.get()).second) continue;
      std::vector<torch::jit::Node*> relu6;
      forEachNode(graph, [&](torch::jit::Node* node) {
        if (activationOf(node) == LinkActivation::Relu6 || relu6FunctionCall(node)) relu6.push_back(node);
      });
      for (torch::jit::Node* node : relu6) {
        // The in-place forms stay in place: other users of the input may rely on the update.
        const std::string kind = node->kind().toQualString();
        const auto call = relu6FunctionCall(node);
        const bool inPlace = call ? call->inPlace : !kind.empty() && kind.back() == '_';
        torch::jit::Value* input = call ? call->input : node->input(0);
        torch::jit::WithInsertPoint before(node);
        torch::jit::Node* relu = node->owningGraph()->insertNode(
            node->owningGraph()->create(inPlace ? c10::aten::relu_ : c10::aten::relu, {input}));
        relu->output()->setType(node->output()->type());
        node->output()->replaceAllUsesWith(relu->output());
        node->destroy();
      }
    }
  }
  // Inlining (above, and wherever the passes inline) takes each callee's cached optimized graph, copied
  // before the rewrite: drop them all so the rewritten graphs are the ones inlined and run from now on.
  for (const auto& module : modules)
    for (const auto& method : module.get_methods())
      torch::jit::toGraphFunction(method.function()).clear_optimized_graphs();
  return calls;
}

}  // namespace quantscope
