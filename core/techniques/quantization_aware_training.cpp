// Quantization-aware training, as torch.ao.quantization's prepare_qat + convert with the recipe's QAT
// qconfig: fake quantization where `fx` puts int8, fine-tuning on the training data, conversion through
// the same graph passes with the learned activation ranges.
#include "core/techniques/quantization_aware_training.h"

#include "core/techniques/graph_mode_quantization.h"
#include "core/training/training_options.h"

namespace quantscope {

std::vector<ParamSpec> quantizationAwareTrainingParams() {
  std::vector<ParamSpec> params = recipeAndEngineParams();
  params.push_back({"freeze_observer_epoch", ParamType::Int, "2", 0, 1000, {},
                    "From this epoch on, activation ranges stop updating (PyTorch's disable_observer), so the last "
                    "epochs train against the ranges the int8 model will use."});
  for (auto& p : trainingParams("epochs", 3, 1e-4)) params.push_back(std::move(p));
  return params;
}

}  // namespace quantscope
