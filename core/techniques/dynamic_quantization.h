#pragma once
// Dynamic quantization: int8 weights, activations quantized per batch at run time. Linear layers, LSTM and
// GRU layers (rewritten to LibTorch's quantized RNN kernels), the four projections of transformer encoder
// layers, and embeddings weight-only on request.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> dynamicQuantizationParams();
QuantizationOutcome runDynamicQuantization(const Model& model, const ParamValues& params,
                                           const TechniqueContext& context);

// Its registry entry (name "dynamic", list position 1); registered by dynamic_quantization.cpp itself.
TechniqueDescriptor dynamicQuantizationTechnique();

}  // namespace quantscope
