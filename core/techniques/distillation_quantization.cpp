// Knowledge-distillation quantization: a fake-quantized student trains against the float teacher's
// softened outputs (Hinton et al.), then converts to int8. The same student trained without distillation
// (alpha 0, same seed and epochs) is measured beside it, so the result shows what distillation bought.
#include "core/techniques/distillation_quantization.h"

#include "core/techniques/graph_mode_quantization.h"
#include "core/training/training_options.h"

namespace quantscope {

std::vector<ParamSpec> distillationQuantizationParams() {
  std::vector<ParamSpec> params{
      {"temperature", ParamType::Float, "2.0", 0.1, 20.0, {}, "Softmax temperature of the distillation loss."},
      {"alpha", ParamType::Float, "0.5", 0.0, 1.0, {},
       "Weight of the distillation term: loss = alpha*T^2*KL(teacher||student) + (1-alpha)*CE(labels)."},
      {"student", ParamType::File, "", 0, 0, {},
       "The student: a TorchScript model whose outputs match the teacher's. Empty: a copy of the teacher."},
      {"seeds", ParamType::Int, "1", 1, 10, {},
       "Train with and without distillation this many times (seeds seed, seed+1, ...): mean and spread."},
      {"compare_without", ParamType::Bool, "true", 0, 0, {},
       "Also train the student without distillation (alpha 0) to show what distillation bought."},
  };
  for (auto& p : recipeAndEngineParams()) params.push_back(std::move(p));
  for (auto& p : trainingParams("epochs", 10, 1e-3)) params.push_back(std::move(p));
  return params;
}

}  // namespace quantscope
