#include "core/pruning/pruning_masks.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/technique_registry.h"

namespace quantscope {
namespace {

torch::Tensor weightOf(const PrunedLayer& layer) { return layer.module.attr("weight").toTensor(); }

// One score per prunable unit: |w| per weight, or mean |w| per output channel.
torch::Tensor scores(const PrunedLayer& layer, PruningStructure structure) {
  const torch::Tensor magnitude = weightOf(layer).detach().abs().to(torch::kFloat);
  return structure == PruningStructure::Unstructured ? magnitude.flatten() : magnitude.flatten(1).mean(1);
}

// 1 where kept, 0 for the `count` smallest scores.
torch::Tensor keepMask(const torch::Tensor& score, int64_t count) {
  torch::Tensor keep = torch::ones_like(score);
  if (count > 0)
    keep.index_fill_(0, std::get<1>(score.topk(count, 0, /*largest=*/false, /*sorted=*/true)), 0.0);
  return keep;
}

}  // namespace

PruningMasks::PruningMasks(const torch::jit::Module& model, PruningStructure structure, PruningScope scope,
                           const std::set<std::string>& channelLayers)
    : structure_(structure), scope_(scope) {
  for (const auto& sub : model.named_modules()) {
    const std::string type = shortTypeName(sub.value);
    if (std::find(convAndLinearTypes().begin(), convAndLinearTypes().end(), type) ==
        convAndLinearTypes().end())
      continue;
    if (!sub.value.hasattr("weight")) continue;
    if (structure == PruningStructure::Channels && !channelLayers.count(sub.name)) continue;
    PrunedLayer layer{sub.name, sub.value, {}, 0, 0};
    const torch::Tensor weight = weightOf(layer);
    layer.mask = torch::ones_like(weight, torch::kFloat);
    layer.originalWeights = weight.numel();
    layer.originalChannels = weight.size(0);
    layers_.push_back(std::move(layer));
  }
  if (layers_.empty()) {
    throw Error(
        structure == PruningStructure::Channels
            ? "No layer of the model can lose output channels (each feeds a residual add, the output, or "
              "an operation channel pruning cannot follow); nothing was written."
            : "The model has no Conv or Linear layer to prune; nothing was written.",
        structure == PruningStructure::Channels ? "Try structure=unstructured." : "");
  }
}

void PruningMasks::prune(double rate) {
  std::vector<torch::Tensor> allScores;
  for (const auto& layer : layers_) allScores.push_back(scores(layer, structure_));
  std::vector<torch::Tensor> keep(layers_.size());
  if (scope_ == PruningScope::Layer) {
    for (size_t i = 0; i < layers_.size(); ++i) {
      int64_t count = static_cast<int64_t>(std::floor(rate * double(allScores[i].numel())));
      if (structure_ == PruningStructure::Channels) count = std::min(count, allScores[i].numel() - 1);
      keep[i] = keepMask(allScores[i], count);
    }
  } else {
    // Channels of different layers compete by their size relative to their layer's mean: raw magnitudes
    // would empty whichever layer happens to have small weights.
    if (structure_ == PruningStructure::Channels) {
      for (auto& score : allScores) score = score / score.mean().clamp_min(1e-12);
    }
    const torch::Tensor all = torch::cat(allScores);
    const torch::Tensor kept = keepMask(all, static_cast<int64_t>(std::floor(rate * double(all.numel()))));
    int64_t offset = 0;
    for (size_t i = 0; i < layers_.size(); ++i) {
      keep[i] = kept.slice(0, offset, offset + allScores[i].numel()).clone();
      offset += allScores[i].numel();
      // A layer left with no channel would cut the network: keep its strongest one.
      if (structure_ == PruningStructure::Channels && keep[i].sum().item<double>() == 0) {
        keep[i][allScores[i].argmax().item<int64_t>()] = 1.0;
      }
    }
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto shape = weightOf(layers_[i]).sizes();
    if (structure_ == PruningStructure::Unstructured) {
      layers_[i].mask = keep[i].reshape(shape);
    } else {
      std::vector<int64_t> broadcast(shape.size(), 1);
      broadcast[0] = shape[0];
      layers_[i].mask = keep[i].reshape(broadcast).expand(shape).contiguous();
    }
  }
}

void PruningMasks::apply() const {
  torch::NoGradGuard noGrad;
  for (const auto& layer : layers_) {
    weightOf(layer).mul_(layer.mask);
    if (structure_ != PruningStructure::Channels || !layer.module.hasattr("bias")) continue;
    const c10::IValue bias = layer.module.attr("bias");
    if (bias.isTensor() && bias.toTensor().defined())
      bias.toTensor().mul_(layer.mask.flatten(1).select(1, 0));
  }
}

std::vector<int64_t> PruningMasks::prunedChannels(const PrunedLayer& layer) const {
  std::vector<int64_t> channels;
  const torch::Tensor perChannel = layer.mask.flatten(1).select(1, 0);
  for (int64_t c = 0; c < perChannel.size(0); ++c) {
    if (perChannel[c].item<double>() == 0) channels.push_back(c);
  }
  return channels;
}

double gradualPruningRate(double rate, int64_t step, int64_t totalSteps) {
  const double rampSteps = std::max(1.0, std::ceil(2.0 * double(totalSteps) / 3.0));
  const double progress = std::min(1.0, double(step) / rampSteps);
  return rate * (1.0 - std::pow(1.0 - progress, 3.0));
}

}  // namespace quantscope
