#pragma once
// The steps every technique that trains with fake quantization shares (qat, pruning, distillation): a
// folded float copy with fake quantization inserted, training it, measuring fake-quant accuracy just before
// conversion, converting to int8 and describing the result. A technique adds only its recipe: its loss,
// its hooks, its extra figures. Internal: includes LibTorch.
#include <torch/script.h>

#include <string>

#include "core/internal/qconfig_recipe.h"
#include "core/results/quantization_outcome.h"
#include "core/runtime/runtime_info.h"
#include "core/technique_registry.h"
#include "core/training/trainer.h"

namespace quantscope {

// The run's training data, checked against the model; an Error naming the technique when there is none.
const Dataset& requireTrainingData(const TechniqueContext& context, const Model& model,
                                   const std::string& technique, const std::string& hint);

struct FakeQuantSession {
  const QConfigRecipe* recipe = nullptr;
  RuntimeInfo runtime;          // engine the int8 weights are packed for
  torch::jit::Module source;    // the float model it started from, each module use its own copy
  torch::jit::Module observed;  // the model with fake quantization, trained in place
  bool batchNormsLive = false;  // batch norms still normalize batches and update their statistics
};

// Sets up the runtime and engine from params "qconfig"/"engine" and inserts fake quantization into a copy
// of `module`: with batch norms folded, or still live (to be folded by freezeBatchNorms).
FakeQuantSession startFakeQuantSession(const torch::jit::Module& module, const ParamValues& params,
                                       bool batchNormsLive = false);

// PyTorch's freeze_bn_stats followed by the folding convert does: the trained weights and the statistics
// the batch norms reached go into a clean copy of the source, which is folded and gets fresh fake
// quantization; its activation ranges are calibrated on `calibrationInputs`.
void freezeBatchNorms(FakeQuantSession& session, const torch::Tensor& calibrationInputs);

// Trains the session's model: batch norms live for the epochs before `freezeBatchNormEpoch` (when it
// started with them live), then folded for the rest (the optimizer starts afresh on the folded weights).
TrainingCurve trainWithFakeQuant(FakeQuantSession& session, const TrainingData& data,
                                 const TrainingOptions& options, const TrainingHooks& hooks,
                                 const std::string& series, int freezeBatchNormEpoch,
                                 const Progress& progress);

// Runs up to 256 samples through the model in eval mode with every activation observer recording (no
// batch-norm statistic changes): activation ranges for a model that has not trained with them.
void calibrateActivationRanges(torch::jit::Module& observed, const torch::Tensor& inputs);

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
ConvertedModel convertAndDescribe(const FakeQuantSession& session, const Model& original,
                                  const TrainingData& data, const std::string& technique,
                                  const ParamValues& params, const std::string& figureGroup,
                                  const Progress& progress);

// "seconds per epoch" of a curve's series (mean over its epochs); negative when it has none.
double secondsPerEpoch(const TrainingCurve& curve, const std::string& series);

}  // namespace quantscope
