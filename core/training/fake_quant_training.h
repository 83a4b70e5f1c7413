#pragma once
// The steps every technique that trains with fake quantization shares (qat, pruning, distillation): a
// folded float copy with fake quantization inserted, training it, measuring fake-quant accuracy just before
// conversion, converting to int8 and describing the result. A technique adds only its recipe: its loss,
// its hooks, its extra figures. Internal: includes LibTorch.
#include <torch/script.h>

#include <string>

#include "core/internal/qconfig_recipe.h"
#include "core/quantization_outcome.h"
#include "core/runtime_info.h"
#include "core/technique_registry.h"
#include "core/training/trainer.h"

namespace quantscope {

struct FakeQuantSession {
  const QConfigRecipe* recipe = nullptr;
  RuntimeInfo runtime;      // engine the int8 weights are packed for
  torch::jit::Module observed;  // folded float model with fake quantization, trained in place
};

// Sets up the runtime and engine from params "qconfig"/"engine" and inserts fake quantization into a
// folded copy of `module`.
FakeQuantSession startFakeQuantSession(const torch::jit::Module& module, const ParamValues& params);

// The trained float weights without fake quantization: a clean folded float model, the reference that
// int8 layers are compared with.
torch::jit::Module trainedFloatModel(const torch::jit::Module& observed);

struct ConvertedModel {
  QuantizationOutcome outcome;
  double fakeQuantValidationTop1 = -1;  // measured on the validation split just before conversion
  double int8ValidationTop1 = -1;       // the converted model on the same samples
  torch::Tensor int8ValidationOutputs;
};

// Converts the session's fake-quant model to int8 and describes it (derived model, layers, notes), adding
// figures for fake-quant vs int8 validation accuracy under `figureGroup`.
ConvertedModel convertAndDescribe(const FakeQuantSession& session, const Model& original, const TrainingData& data,
                                  const std::string& technique, const ParamValues& params,
                                  const std::string& figureGroup, const Progress& progress);

// "seconds per epoch" of a curve's series (mean over its epochs); negative when it has none.
double secondsPerEpoch(const TrainingCurve& curve, const std::string& series);

}  // namespace quantscope
