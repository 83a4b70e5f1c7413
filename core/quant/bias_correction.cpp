#include "core/quant/bias_correction.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/quant/low_bit_weights.h"

namespace quantscope {
namespace {

constexpr int64_t kBatch = 32;

std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

std::string ownerOf(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

// An int8 Conv2d/Linear layer of the converted model: its op and packed params.
struct Int8Layer {
  const LayerQuantization* report = nullptr;
  // The op's kind, not the node: the inlined graph the layers were found in is gone by the time they are
  // measured, and each measurement inlines the graph again.
  c10::Symbol opKind;
  bool conv = false;
};

bool isCorrectableOp(const std::string& kind, bool& conv) {
  conv = kind == "quantized::conv2d" || kind == "quantized::conv2d_relu";
  return conv || kind == "quantized::linear" || kind == "quantized::linear_relu";
}

// The packed params at `path` (a root attribute, or `packed_params` of a low-bit holder submodule).
c10::IValue packedAt(const torch::jit::Module& quantized, const std::string& path) {
  const auto [owner, name] = attributeOwner(quantized, path);
  return owner.attr(name);
}

struct Unpacked {
  torch::Tensor weight;  // quantized
  torch::Tensor bias;    // float, zeros when the layer had none
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

Unpacked unpack(const c10::IValue& packed, bool conv) {
  Unpacked u;
  const torch::jit::Stack s =
      callRegisteredOp(conv ? "quantized::conv2d_unpack" : "quantized::linear_unpack", {packed});
  u.weight = s.at(0).toTensor();
  u.bias = s.size() > 1 && s.at(1).isTensor() ? s.at(1).toTensor().detach().to(torch::kFloat).clone()
                                              : torch::zeros({u.weight.size(0)});
  if (conv) {
    u.stride = callRegisteredOp("quantized::conv2d_stride", {packed}).at(0).toIntVector();
    u.padding = callRegisteredOp("quantized::conv2d_padding", {packed}).at(0).toIntVector();
    u.dilation = callRegisteredOp("quantized::conv2d_dilation", {packed}).at(0).toIntVector();
    u.groups = callRegisteredOp("quantized::conv2d_groups", {packed}).at(0).toInt();
  }
  return u;
}

// Replaces the layer's bias. A root attribute gets new packed params (prepacked for the active engine, as
// Finalize did); a low-bit holder gets its stored bias changed and rebuilds its packed params from its own
// state, as it does when the file loads.
void setBias(torch::jit::Module& quantized, const std::string& path, bool conv, const torch::Tensor& bias) {
  auto [parent, name] = attributeOwner(quantized, path);
  const bool lowBitHolder = parent._ivalue() != quantized._ivalue();
  if (lowBitHolder && parent.hasattr("bias") && parent.find_method("__setstate__")) {
    parent.setattr("bias", bias.contiguous());
    parent.run_method("__setstate__", parent.run_method("__getstate__"));
    return;
  }
  const Unpacked u = unpack(parent.attr(name), conv);
  torch::jit::Stack repacked =
      conv ? callRegisteredOp("quantized::conv2d_prepack",
                              {u.weight, bias.contiguous(), u.stride, u.padding, u.dilation, u.groups})
           : callRegisteredOp("quantized::linear_prepack", {u.weight, bias.contiguous()});
  parent.setattr(name, repacked.at(0));
}

// Mean over everything but the channel dim (1 for convolutions, the last for Linear), inside the graph.
torch::jit::Value* insertChannelMean(torch::jit::Graph& graph, torch::jit::Value* v, bool conv) {
  if (conv) v = graph.insert(c10::Symbol::fromQualString("aten::movedim"), {v, int64_t{1}, int64_t{-1}});
  v = graph.insert(c10::aten::flatten, {v, int64_t{0}, int64_t{-2}});
  return graph.insert(c10::aten::mean, {v, std::vector<int64_t>{0}});
}

// Runs `graph` (a copy of module's inlined forward whose outputs were replaced by `values`) on `inputs` in
// batches and returns each value's per-batch results, batch by batch.
std::vector<std::vector<torch::Tensor>> runWithOutputs(const torch::jit::Module& module,
                                                       std::shared_ptr<torch::jit::Graph> graph,
                                                       const std::vector<torch::jit::Value*>& values,
                                                       const torch::Tensor& inputs) {
  torch::jit::WithInsertPoint end(graph->return_node());
  torch::jit::Node* tuple = graph->insertNode(graph->createTuple(values));
  while (!graph->outputs().empty()) graph->eraseOutput(0);
  graph->registerOutput(tuple->output());
  torch::jit::GraphFunction function("quantscope_bias_probe", graph, nullptr);
  torch::jit::GraphOptimizerEnabledGuard runAsIs(false);
  torch::InferenceMode inference;
  std::vector<std::vector<torch::Tensor>> batches;
  for (int64_t start = 0; start < inputs.size(0); start += kBatch) {
    torch::jit::Stack stack{module._ivalue(),
                            inputs.slice(0, start, std::min(start + kBatch, inputs.size(0)))};
    function.run(stack);
    std::vector<torch::Tensor> outs;
    for (const auto& e : stack.back().toTuple()->elements()) outs.push_back(e.toTensor());
    batches.push_back(std::move(outs));
  }
  return batches;
}

std::shared_ptr<torch::jit::Graph> inlinedForward(const torch::jit::Module& module) {
  auto graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  return graph;
}

// Batch means combined into the mean over all samples (every batch's spatial size is the same).
torch::Tensor combinedMean(const std::vector<std::vector<torch::Tensor>>& batches, size_t index,
                           const torch::Tensor& inputs) {
  torch::Tensor sum;
  for (size_t b = 0; b < batches.size(); ++b) {
    const int64_t n = std::min(kBatch, inputs.size(0) - int64_t(b) * kBatch);
    const torch::Tensor weighted = batches[b][index].to(torch::kDouble) * double(n);
    sum = sum.defined() ? sum + weighted : weighted;
  }
  return sum / double(inputs.size(0));
}

// E[float output] per channel of each named layer: the layer op's own output (before any ReLU).
std::map<std::string, torch::Tensor> floatChannelMeans(const torch::jit::Module& floatModel,
                                                       const std::set<std::string>& names,
                                                       const torch::Tensor& inputs) {
  auto graph = inlinedForward(floatModel);
  std::map<std::string, std::vector<torch::jit::Node*>> calls;
  forEachNode(graph, [&](torch::jit::Node* node) {
    const std::string kind = node->kind().toQualString();
    if (kind != "aten::conv2d" && kind != "aten::_convolution" && kind != "aten::linear") return;
    const std::string name = ownerOf(attributePath(node->input(1)));
    if (names.count(name)) calls[name].push_back(node);
  });
  std::vector<std::string> order;
  std::vector<torch::jit::Value*> values;
  for (const auto& [name, nodes] : calls) {
    if (nodes.size() != 1 || nodes.front()->owningBlock() != graph->block()) continue;
    torch::jit::Node* node = nodes.front();
    // Right after the op: a later relu_ would otherwise change the value in place.
    torch::jit::WithInsertPoint after(node->next());
    values.push_back(insertChannelMean(*graph, node->output(), node->kind() != c10::aten::linear));
    order.push_back(name);
  }
  std::map<std::string, torch::Tensor> means;
  if (values.empty()) return means;
  const auto batches = runWithOutputs(floatModel, graph, values, inputs);
  for (size_t i = 0; i < order.size(); ++i) means[order[i]] = combinedMean(batches, i, inputs);
  return means;
}

// The int8 layers the weight report names, in the order the int8 graph runs them.
std::vector<Int8Layer> int8LayersInOrder(const std::shared_ptr<torch::jit::Graph>& graph,
                                         const std::vector<LayerQuantization>& layers,
                                         std::vector<LayerBiasCorrection>& skipped) {
  std::map<std::string, const LayerQuantization*> byPacked;
  for (const auto& l : layers)
    if (l.quantized && !l.packedAs.empty()) byPacked[l.packedAs] = &l;
  std::map<std::string, int> uses;
  std::vector<Int8Layer> ordered;
  forEachNode(graph, [&](torch::jit::Node* node) {
    if (node->inputs().size() < 2) return;
    const auto found = byPacked.find(attributePath(node->input(1)));
    if (found == byPacked.end()) return;
    ++uses[found->first];
    Int8Layer layer{found->second, node->kind(), false};
    const std::string kind = node->kind().toQualString();
    if (!isCorrectableOp(kind, layer.conv)) {
      skipped.push_back(
          {found->second->layer, false, "runs as " + kind + ", which bias correction does not handle"});
      return;
    }
    if (node->owningBlock() != graph->block()) {
      skipped.push_back({found->second->layer, false, "it runs inside a branch or loop of the graph"});
      return;
    }
    ordered.push_back(layer);
  });
  // forEachNode visits the top-level block in order; a layer run twice shares one bias for two inputs.
  std::vector<Int8Layer> once;
  for (const auto& l : ordered) {
    if (uses[l.report->packedAs] == 1)
      once.push_back(l);
    else
      skipped.push_back({l.report->layer, false, "it runs more than once per forward"});
  }
  return once;
}

// E[int8 layer output] per channel before requantization: the layer's int8 input as the int8 model makes it
// (dequantized), through the layer's dequantized int8 weight and its current bias.
torch::Tensor int8ChannelMean(const torch::jit::Module& quantized, const Int8Layer& layer,
                              const torch::Tensor& inputs) {
  auto graph = inlinedForward(quantized);
  torch::jit::Node* op = nullptr;
  forEachNode(graph, [&](torch::jit::Node* node) {
    if (node->inputs().size() >= 2 && node->kind() == layer.opKind &&
        attributePath(node->input(1)) == layer.report->packedAs)
      op = node;
  });
  if (!op) throw Error("Bias correction lost layer '" + layer.report->layer + "' in the int8 graph.");
  torch::jit::WithInsertPoint before(op);
  torch::jit::Value* input = graph->insert(c10::aten::dequantize, {op->input(0)});
  const Unpacked u = unpack(packedAt(quantized, layer.report->packedAs), layer.conv);
  const torch::Tensor weight = u.weight.dequantize();
  torch::Tensor sum;
  const auto batches = runWithOutputs(quantized, graph, {input}, inputs);
  torch::InferenceMode inference;
  for (size_t b = 0; b < batches.size(); ++b) {
    const torch::Tensor x = batches[b][0];
    const torch::Tensor y = layer.conv
                                ? at::conv2d(x, weight, u.bias, u.stride, u.padding, u.dilation, u.groups)
                                : at::linear(x, weight, u.bias);
    const torch::Tensor perChannel =
        (layer.conv ? y.movedim(1, -1) : y).flatten(0, -2).sum(0).to(torch::kDouble) /
        double(y.numel() / y.size(layer.conv ? 1 : -1));
    const int64_t n = x.size(0);
    sum = sum.defined() ? sum + perChannel * double(n) : perChannel * double(n);
  }
  return sum / double(inputs.size(0));
}

std::vector<double> toVector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

double meanAbs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return v.empty() ? 0 : s / double(v.size());
}

void recordShift(LayerBiasCorrection& c, const torch::Tensor& shift) {
  c.corrected = true;
  c.meanAbsShift = shift.abs().mean().item<double>();
  c.maxAbsShift = shift.abs().max().item<double>();
}

}  // namespace

std::string LayerBiasCorrection::change() const {
  if (!corrected) return "not corrected: " + reason;
  std::string text =
      "bias shifted by " + formatNumber(meanAbsShift) + " on average (max " + formatNumber(maxAbsShift) + ")";
  if (!channelErrorBefore.empty()) {
    text += "; mean |output error| per channel " + formatNumber(meanAbs(channelErrorBefore)) + " -> " +
            formatNumber(meanAbs(channelErrorAfter));
  }
  if (!reason.empty()) text += "; " + reason;
  return text;
}

std::string BiasCorrectionResult::note(const std::string& kind) const {
  int corrected = 0;
  std::string left;
  for (const auto& l : layers) {
    if (l.corrected)
      ++corrected;
    else
      left += (left.empty() ? "" : ", ") + l.layer;
  }
  std::string text = "Bias correction (" + kind + "): " + std::to_string(corrected) + " of " +
                     std::to_string(layers.size()) + " layers corrected";
  if (kind == "empirical")
    text += " on " + std::to_string(samples) +
            " calibration samples, layer by layer with each layer's input from the corrected int8 model";
  else
    text += " from the preceding batch norms' statistics";
  if (!left.empty()) text += "; unchanged: " + left + " (see the per-layer steps)";
  return text + ".";
}

BiasCorrectionResult correctBiasEmpirically(torch::jit::Module& quantized,
                                            const torch::jit::Module& floatModel,
                                            const std::vector<LayerQuantization>& layers,
                                            const torch::Tensor& inputs, const Progress& progress) {
  BiasCorrectionResult result;
  result.samples = inputs.size(0);
  std::vector<LayerBiasCorrection> skipped;
  const std::vector<Int8Layer> ordered = int8LayersInOrder(inlinedForward(quantized), layers, skipped);
  std::set<std::string> names;
  for (const auto& l : ordered) names.insert(l.report->layer);
  const auto floatMeans = floatChannelMeans(floatModel, names, inputs);
  std::vector<std::pair<const Int8Layer*, size_t>> corrected;
  for (size_t i = 0; i < ordered.size(); ++i) {
    const Int8Layer& layer = ordered[i];
    progress.update("Bias correction: " + layer.report->layer, double(i) / double(ordered.size() * 2));
    LayerBiasCorrection c;
    c.layer = layer.report->layer;
    const auto found = floatMeans.find(c.layer);
    if (found == floatMeans.end()) {
      c.reason = "its float output could not be taken (called more than once, or inside a branch)";
      result.layers.push_back(c);
      continue;
    }
    // Sequential: the earlier layers are already corrected, so this layer's input carries their
    // corrected output, and its own correction also removes the mean error they still pass on.
    const torch::Tensor quantizedMean = int8ChannelMean(quantized, layer, inputs);
    if (quantizedMean.sizes() != found->second.sizes()) {
      c.reason = "its float and int8 outputs have different channel counts";
      result.layers.push_back(c);
      continue;
    }
    const torch::Tensor error = found->second - quantizedMean;  // E[float] - E[int8]
    const Unpacked u = unpack(packedAt(quantized, layer.report->packedAs), layer.conv);
    setBias(quantized, layer.report->packedAs, layer.conv, u.bias + error.to(torch::kFloat));
    recordShift(c, error);
    c.channelErrorBefore = toVector(error);
    corrected.emplace_back(&layer, result.layers.size());
    result.layers.push_back(c);
  }
  // The same measurement again on the corrected model, from its packed params as they now are.
  for (size_t k = 0; k < corrected.size(); ++k) {
    const Int8Layer& layer = *corrected[k].first;
    LayerBiasCorrection& c = result.layers[corrected[k].second];
    progress.update("Bias correction: checking " + c.layer, 0.5 + double(k) / double(corrected.size() * 2));
    c.channelErrorAfter = toVector(floatMeans.at(c.layer) - int8ChannelMean(quantized, layer, inputs));
  }
  for (auto& s : skipped) result.layers.push_back(s);
  return result;
}

torch::Tensor clippedNormalMean(const torch::Tensor& mean, const torch::Tensor& std, double low,
                                double high) {
  const torch::Tensor m = mean.to(torch::kDouble), s = std.to(torch::kDouble).abs().clamp_min(1e-12);
  auto cdf = [](const torch::Tensor& z) { return 0.5 * torch::erfc(-z / std::sqrt(2.0)); };
  auto pdf = [](const torch::Tensor& z) { return torch::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); };
  torch::Tensor result = torch::zeros_like(m);
  torch::Tensor cdfLow = torch::zeros_like(m), pdfLow = torch::zeros_like(m);
  torch::Tensor cdfHigh = torch::ones_like(m), pdfHigh = torch::zeros_like(m);
  if (std::isfinite(low)) {
    const torch::Tensor a = (low - m) / s;
    cdfLow = cdf(a);
    pdfLow = pdf(a);
    result = result + low * cdfLow;
  }
  if (std::isfinite(high)) {
    const torch::Tensor b = (high - m) / s;
    cdfHigh = cdf(b);
    pdfHigh = pdf(b);
    result = result + high * (1.0 - cdfHigh);
  }
  return result + m * (cdfHigh - cdfLow) + s * (pdfLow - pdfHigh);
}

BiasCorrectionResult correctBiasAnalytically(torch::jit::Module& quantized,
                                             const torch::jit::Module& floatModel,
                                             const std::vector<LayerQuantization>& layers,
                                             const std::map<std::string, BatchNormStats>& stats) {
  torch::NoGradGuard noGrad;
  BiasCorrectionResult result;
  std::vector<LayerBiasCorrection> skipped;
  const std::vector<Int8Layer> ordered = int8LayersInOrder(inlinedForward(quantized), layers, skipped);
  std::map<std::string, LayerLink> inputLink;  // by the layer that reads
  for (const LayerLink& link : consecutiveLayers(floatModel)) inputLink.emplace(link.second, link);
  std::map<std::string, torch::jit::Module> modules;
  for (const auto& sub : floatModel.named_modules()) modules.emplace(sub.name, sub.value);
  for (const Int8Layer& layer : ordered) {
    LayerBiasCorrection c;
    c.layer = layer.report->layer;
    const auto link = inputLink.find(c.layer);
    const auto bn = link == inputLink.end() ? stats.end() : stats.find(link->second.first);
    if (bn == stats.end()) {
      c.reason =
          "its input does not come from a batch norm (directly or through ReLU/ReLU6), so there are no "
          "statistics to derive the correction from";
      result.layers.push_back(c);
      continue;
    }
    double low = -std::numeric_limits<double>::infinity(), high = std::numeric_limits<double>::infinity();
    if (link->second.activation == LinkActivation::Relu) low = 0;
    if (link->second.activation == LinkActivation::Relu6) low = 0, high = 6;
    if (link->second.activation == LinkActivation::Other) {
      c.reason = "its input passes a clamp other than ReLU/ReLU6 after the batch norm";
      result.layers.push_back(c);
      continue;
    }
    const torch::Tensor expectedInput =
        clippedNormalMean(bn->second.beta, bn->second.gamma, low, high).to(torch::kFloat);
    const Unpacked u = unpack(packedAt(quantized, layer.report->packedAs), layer.conv);
    const torch::Tensor floatWeight =
        modules.at(c.layer).attr("weight").toTensor().detach().to(torch::kFloat);
    const torch::Tensor difference = u.weight.dequantize() - floatWeight;  // W_q - W
    if (difference.dim() < 2 || !(difference.size(1) == expectedInput.numel() ||
                                  (difference.size(1) == 1 && difference.size(0) == expectedInput.numel()))) {
      c.reason = "its weight does not match the batch norm's channels";
      result.layers.push_back(c);
      continue;
    }
    torch::Tensor meanError;  // E[y_q] - E[y] = (W_q - W) E[x], kernel positions summed
    if (difference.size(1) == 1 && difference.dim() > 2 && expectedInput.numel() > 1)
      meanError = difference.flatten(1).sum(1) * expectedInput;  // depthwise
    else
      meanError = (difference.dim() == 2 ? difference : difference.flatten(2).sum(2)).matmul(expectedInput);
    setBias(quantized, layer.report->packedAs, layer.conv, u.bias - meanError);
    recordShift(c, meanError);
    c.reason = std::string("input expected from ") + link->second.first + "'s batch norm" +
               (low == 0 ? (high == 6 ? " through ReLU6" : " through ReLU") : "");
    result.layers.push_back(c);
  }
  for (auto& s : skipped) result.layers.push_back(s);
  return result;
}

}  // namespace quantscope
