#pragma once
// Mixed precision: any bit-width from 2 to 8 (or float) per layer on the int8 kernels, a measured
// sensitivity for every layer and bit-width, and a search for the best per-layer assignment under an
// accuracy or a size budget.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> mixedPrecisionQuantizationParams();
QuantizationOutcome runMixedPrecisionQuantization(const Model& model, const ParamValues& params,
                                                  const TechniqueContext& context);

// Its registry entry (name "mixed", list position 5); registered by mixed_precision_quantization.cpp itself.
TechniqueDescriptor mixedPrecisionQuantizationTechnique();

}  // namespace quantscope
