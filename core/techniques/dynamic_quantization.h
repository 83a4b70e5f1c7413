#pragma once
// Dynamic quantization: int8 weights, activations quantized per batch at run time (Linear layers).
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> dynamicQuantizationParams();
QuantizationOutcome runDynamicQuantization(const Model& model, const ParamValues& params,
                                           const TechniqueContext& context);

}  // namespace quantscope
