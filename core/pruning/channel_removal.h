#pragma once
// Removing pruned output channels for real: where a Conv/Linear's output reaches only channel-wise
// operations (ReLU, pooling, dropout, fake quantization, flatten) and then the next Conv/Linear, the pruned
// output channels and the matching input channels (or flattened features) of the next layer are deleted,
// so the model gets smaller and faster. Layers whose output goes elsewhere (a residual add, a concat, the
// model's output) keep their channels, with the reason. Internal: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

namespace quantscope {

struct ChannelConsumer {
  std::string layer;
  torch::jit::Module module;
  bool flattened = false;  // a Linear after flatten: each channel is a block of in_features / channels inputs
};

struct ChannelRemovalPlan {
  std::string layer;
  torch::jit::Module module;
  bool removable = false;
  std::string reason;  // why not, when not removable
  std::vector<ChannelConsumer> consumers;
};

// One plan per Conv/Linear called from a forward graph, keyed by qualified module name.
std::map<std::string, ChannelRemovalPlan> planChannelRemoval(const torch::jit::Module& model);

// Deletes `channels` (output channels of plan.layer) from its weight and bias and from its consumers'
// inputs. The model's outputs stay what they were when those channels' outputs were exactly zero.
void removeChannels(const ChannelRemovalPlan& plan, const std::vector<int64_t>& channels);

}  // namespace quantscope
