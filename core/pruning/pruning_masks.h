#pragma once
// Magnitude pruning of Conv/Linear weights, as torch.nn.utils.prune's l1_unstructured (single weights,
// smallest |w|) and ln_structured with n=1 on dim 0 (whole output channels, smallest mean |w|), per layer
// or over the whole model (global; channels then compete by their mean |w| relative to their layer's). Masks
// live here and are re-applied after every optimizer step, so pruned weights stay exactly zero through
// fine-tuning. Internal: includes LibTorch.
#include <torch/script.h>

#include <set>
#include <string>
#include <vector>

namespace quantscope {

enum class PruningStructure { Unstructured, Channels };
enum class PruningScope { Layer, Global };

struct PrunedLayer {
  std::string name;  // qualified module name
  torch::jit::Module module;
  torch::Tensor mask;           // shape of the weight; 0 where pruned
  int64_t originalWeights = 0;  // weight elements before any channel was removed
  int64_t originalChannels = 0;
};

class PruningMasks {
 public:
  // Every Conv/Linear of `model`; with Channels, only those in `channelLayers` (whose channels can go).
  PruningMasks(const torch::jit::Module& model, PruningStructure structure, PruningScope scope,
               const std::set<std::string>& channelLayers);

  // Recomputes the masks from the current weights so that `rate` of them (or of the channels) is pruned.
  void prune(double rate);
  // Zeroes the pruned weights (and, for channels, their biases, so the channel's output is exactly zero).
  void apply() const;
  // Output channels whose mask is zero, per layer (Channels only).
  std::vector<int64_t> prunedChannels(const PrunedLayer& layer) const;

  const std::vector<PrunedLayer>& layers() const { return layers_; }
  PruningStructure structure() const { return structure_; }

 private:
  PruningStructure structure_;
  PruningScope scope_;
  std::vector<PrunedLayer> layers_;
};

// The cubic schedule of Zhu & Gupta (2017): sparsity rises from 0 to `rate` over the first two thirds of
// the steps, then stays; the last third fine-tunes at the final sparsity.
double gradualPruningRate(double rate, int64_t step, int64_t totalSteps);

}  // namespace quantscope
