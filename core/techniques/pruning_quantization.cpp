// Pruning-aware quantization: magnitude pruning of Conv/Linear weights (single weights or whole output
// channels, per layer or global, one-shot or gradual), fine-tuning with the masks kept and fake
// quantization on, then int8 through the graph passes. Channel pruning really removes channels.
#include "core/techniques/pruning_quantization.h"

#include "core/techniques/graph_mode_quantization.h"
#include "core/training/training_options.h"

namespace quantscope {

std::vector<ParamSpec> pruningQuantizationParams() {
  std::vector<ParamSpec> params{
      {"pruning_rate", ParamType::Float, "0.5", 0.0, 0.99, {},
       "Fraction of weights (unstructured) or output channels (channels) set to zero."},
      {"structure", ParamType::Choice, "unstructured", 0, 0, {"unstructured", "channels"},
       "unstructured: single weights (smaller download, not faster on these kernels); channels: whole output "
       "channels, removed from the model where the next layer allows (smaller and faster)."},
      {"scope", ParamType::Choice, "layer", 0, 0, {"layer", "global"},
       "layer: every layer loses pruning_rate of its weights; global: the smallest weights of the whole model."},
      {"schedule", ParamType::Choice, "one_shot", 0, 0, {"one_shot", "gradual"},
       "one_shot prunes before fine-tuning; gradual raises sparsity on a cubic schedule during fine-tuning."},
  };
  for (auto& p : recipeAndEngineParams()) params.push_back(std::move(p));
  for (auto& p : trainingParams("finetune_epochs", 2, 1e-4)) params.push_back(std::move(p));
  return params;
}

}  // namespace quantscope
