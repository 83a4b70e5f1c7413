#pragma once
// The account every technique that ends in a static int8 model gives (fx, static, qat, pruning,
// distillation): the derived model with its quantization record, which layers became int8 and how, each
// layer's output SQNR against the float layer, what became of batch norms. Internal: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>

#include "core/internal/layer_outputs.h"
#include "core/internal/qconfig_recipe.h"
#include "core/results/quantization_outcome.h"

namespace quantscope {

struct Int8ModelSource {
  const Model* original = nullptr;    // the model the user loaded
  torch::jit::Module floatReference;  // float model the int8 one was made from (batch norms folded)
  torch::jit::Module quantized;       // after Finalize
  std::string technique;
  ParamValues params;
  const QConfigRecipe* recipe = nullptr;
  std::string engine;
  std::map<std::string, std::string> record;  // extra fields of the archive's quantization record
  torch::Tensor sampleInputs;                 // a few samples for per-layer output SQNR
  FloatLayerOutputs floatLayerOutputs;  // the float layers' outputs on sampleInputs, if calibration kept them
};

// The model a run returns: `quantized` with the quantization record (layer names included) and the
// original's input spec, as the file it saves to (so its size is the file's).
Model int8Model(const Int8ModelSource& source);
// Throws Error when no layer became int8.
QuantizationOutcome describeInt8Model(const Int8ModelSource& source);

}  // namespace quantscope
