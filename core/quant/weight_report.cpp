#include "core/internal/weight_report.h"

#include <cstdio>
#include <limits>

#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/results/metrics.h"

namespace quantscope {
namespace {

std::vector<float> toFloatVector(const torch::Tensor& t) {
  const torch::Tensor flat = t.detach().to(torch::kFloat).contiguous().flatten();
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

std::string formatScale(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

// Float tensors the final graph still computes with (frozen weights are constants), with the op using each.
std::vector<std::pair<torch::Tensor, std::string>> floatConstantsInUse(const torch::jit::Module& quantized) {
  std::vector<std::pair<torch::Tensor, std::string>> found;
  forEachNode(quantized.get_method("forward").graph(), [&](torch::jit::Node* node) {
    if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) return;
    const auto value = torch::jit::toIValue(node->output());
    if (!value || !value->isTensor() || value->toTensor().is_quantized()) return;
    for (const auto& use : node->output()->uses()) {
      const std::string kind = use.user->kind().toQualString();
      if (kind.find("prepack") == std::string::npos && kind.find("quantize") == std::string::npos) {
        found.emplace_back(value->toTensor(), kind);
      }
    }
  });
  return found;
}

}  // namespace

std::string packedLayerPath(const ParameterRecord& packed) {
  return (packed.owner.empty() ? "" : packed.owner + ".") + packed.name.substr(0, packed.name.rfind('.'));
}

std::string describeQuantizedTensor(const torch::Tensor& q) {
  const std::string dtype = dtypeName(q);
  const auto scheme = q.qscheme();
  if (scheme == at::kPerChannelAffineFloatQParams) {  // embedding rows: a float scale and offset per row
    const auto scales = q.q_per_channel_scales();
    return dtype + " per-row float scale and offset, " + std::to_string(scales.numel()) + " rows, scales " +
           formatScale(scales.min().item<double>()) + ".." + formatScale(scales.max().item<double>());
  }
  if (scheme == at::kPerChannelAffine || scheme == at::kPerChannelSymmetric) {
    const auto scales = q.q_per_channel_scales();
    const bool symmetric = q.q_per_channel_zero_points().abs().max().item<int64_t>() == 0;
    return dtype + " per-channel " + (symmetric ? "symmetric" : "affine") + ", " +
           std::to_string(scales.numel()) + " scales " + formatScale(scales.min().item<double>()) + ".." +
           formatScale(scales.max().item<double>());
  }
  return dtype + " per-tensor " + (q.q_zero_point() == 0 ? "symmetric" : "affine") + ", scale " +
         formatScale(q.q_scale()) + ", zero point " + std::to_string(q.q_zero_point());
}

std::vector<LayerQuantization> reportWeightQuantization(const torch::jit::Module& original,
                                                        const torch::jit::Module& quantized,
                                                        const std::vector<std::string>& targetTypes) {
  std::vector<ParameterRecord> floatWeights;
  for (auto& p : collectParameters(original)) {
    // in_proj_weight: MultiheadAttention's packed q/k/v projection, a layer's weight in all but name.
    if (p.name == "weight" || p.name == "in_proj_weight" || p.name.rfind("weight_ih", 0) == 0)
      floatWeights.push_back(std::move(p));
  }
  std::vector<LayerQuantization> report(floatWeights.size());
  std::vector<bool> matched(floatWeights.size(), false);
  // Freezing flattens module names away, so each int8 weight is matched to the float weight of the same
  // shape that it reproduces best: all pairs by relative error, smallest first. (Matching one int8 weight at
  // a time mismatches layers of one shape once some are coarse, e.g. 2-bit weights or a layer kept float.)
  std::vector<ParameterRecord> packedWeights;
  for (auto& packed : collectParameters(quantized))
    if (packed.tensor.is_quantized()) packedWeights.push_back(std::move(packed));
  std::vector<torch::Tensor> dequantizedWeights;
  struct Pair {
    double relativeError;
    size_t packed, source;
  };
  std::vector<Pair> pairs;
  for (size_t p = 0; p < packedWeights.size(); ++p) {
    dequantizedWeights.push_back(packedWeights[p].tensor.dequantize());
    for (size_t i = 0; i < floatWeights.size(); ++i) {
      if (floatWeights[i].shape != packedWeights[p].shape) continue;
      const torch::Tensor source = floatWeights[i].tensor.detach().to(torch::kFloat);
      const double error = (source - dequantizedWeights[p]).pow(2).sum().item<double>();
      pairs.push_back({error / std::max(source.pow(2).sum().item<double>(), 1e-30), p, i});
    }
  }
  std::sort(pairs.begin(), pairs.end(),
            [](const Pair& a, const Pair& b) { return a.relativeError < b.relativeError; });
  std::vector<bool> packedMatched(packedWeights.size(), false);
  for (const Pair& pair : pairs) {
    if (packedMatched[pair.packed] || matched[pair.source]) continue;
    packedMatched[pair.packed] = true;
    const size_t best = pair.source;
    const ParameterRecord& packed = packedWeights[pair.packed];
    const torch::Tensor& dequantized = dequantizedWeights[pair.packed];
    matched[best] = true;
    LayerQuantization& layer = report[best];
    layer.quantized = true;
    layer.packedAs = packedLayerPath(packed);
    layer.scheme = describeQuantizedTensor(packed.tensor);
    layer.weightSqnrDb =
        signalToQuantizationNoiseDb(toFloatVector(floatWeights[best].tensor), toFloatVector(dequantized));
    layer.hasWeightSqnr = true;
    const torch::Tensor floats = floatWeights[best].tensor.detach().to(torch::kFloat).flatten();
    layer.histogramMin = floats.min().item<double>();
    layer.histogramMax = floats.max().item<double>();
    if (layer.histogramMax > layer.histogramMin) {
      constexpr int64_t kBins = 60;
      auto counts = [&](const torch::Tensor& t) {
        const torch::Tensor h =
            torch::histc(t.flatten().to(torch::kFloat), kBins, layer.histogramMin, layer.histogramMax)
                .to(torch::kLong)
                .contiguous();
        return std::vector<int64_t>(h.data_ptr<int64_t>(), h.data_ptr<int64_t>() + kBins);
      };
      layer.floatHistogram = counts(floats);
      layer.quantizedHistogram = counts(dequantized);
    }
  }
  // An int8 copy helps only if the graph uses it: a fused fast path (TransformerEncoderLayer's
  // aten::_transformer_encoder_layer_fwd) can keep computing with the float weight.
  const auto floatInUse = floatConstantsInUse(quantized);
  for (size_t i = 0; i < floatWeights.size(); ++i) {
    if (!matched[i]) continue;
    for (const auto& [tensor, op] : floatInUse) {
      if (tensor.sizes() == floatWeights[i].tensor.sizes() && torch::equal(tensor, floatWeights[i].tensor)) {
        report[i].quantized = false;
        report[i].scheme = "runs float: an int8 copy exists (" + report[i].scheme +
                           ") but the graph computes " + op +
                           " with the float weight, as in TransformerEncoderLayer's fused inference path";
        break;
      }
    }
  }
  for (size_t i = 0; i < floatWeights.size(); ++i) {
    report[i].layer = floatWeights[i].owner.empty() ? "(root)" : floatWeights[i].owner;
    report[i].opKind = floatWeights[i].ownerType;
    if (matched[i]) continue;
    const bool targeted =
        std::find(targetTypes.begin(), targetTypes.end(), report[i].opKind) != targetTypes.end();
    report[i].scheme = targeted
                           ? "stays float: the graph pass did not reach this layer (e.g. used in a branch "
                             "or a loop, or called through a method other than forward)"
                           : "stays float: this technique does not quantize " + report[i].opKind + " layers";
  }
  return report;
}

}  // namespace quantscope
