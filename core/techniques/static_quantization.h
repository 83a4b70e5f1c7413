#pragma once
// Post-training static quantization with eager semantics: each Conv/Linear module becomes int8 at its own
// borders, everything else stays float; activation ranges calibrated on sample data.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> staticQuantizationParams();
QuantizationOutcome runStaticQuantization(const Model& model, const ParamValues& params,
                                          const TechniqueContext& context);

// Its registry entry (name "static", list position 2); registered by static_quantization.cpp itself.
TechniqueDescriptor staticQuantizationTechnique();

}  // namespace quantscope
