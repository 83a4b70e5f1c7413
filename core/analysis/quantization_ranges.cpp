#include "core/analysis/quantization_ranges.h"

#include <algorithm>

#include "core/analysis/int8_layer_ops.h"

namespace quantscope {

std::vector<LayerRanges> measureRanges(const AnalysisSession& session, const torch::jit::Module& int8Model,
                                       double outlierFactor) {
  const std::map<std::string, Int8LayerOp> ops = int8LayerOps(session.folded, int8Model);
  const auto [qmin, qmax] =
      quantRange(static_cast<int64_t>(c10::ScalarType::QUInt8), session.recipe->reduceRangeActivations, 8);
  std::vector<LayerRanges> ranges;
  for (const auto& sub : session.folded.named_modules()) {
    if (std::find(session.layers.begin(), session.layers.end(), sub.name) == session.layers.end()) continue;
    LayerRanges r;
    r.layer = sub.name;
    const torch::Tensor weight = sub.value.attr("weight").toTensor().detach().flatten(1);
    const torch::Tensor perChannel =
        (std::get<0>(weight.max(1)) - std::get<0>(weight.min(1))).to(torch::kDouble).contiguous();
    r.channelRanges.assign(perChannel.data_ptr<double>(), perChannel.data_ptr<double>() + perChannel.numel());
    std::vector<double> sorted = r.channelRanges;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    r.medianChannelRange = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    for (size_t c = 0; c < n; ++c) {
      if (r.medianChannelRange > 0 && r.channelRanges[c] > outlierFactor * r.medianChannelRange)
        r.outlierChannels.push_back(static_cast<int>(c));
    }
    if (const auto op = ops.find(sub.name); op != ops.end()) {
      r.activationMin = double(qmin - op->second.outputZeroPoint) * op->second.outputScale;
      r.activationMax = double(qmax - op->second.outputZeroPoint) * op->second.outputScale;
      r.hasActivationRange = true;
    }
    ranges.push_back(std::move(r));
  }
  return ranges;
}

}  // namespace quantscope
