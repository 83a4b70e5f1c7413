#pragma once
// Knowledge-distillation quantization: a fake-quantized student learns from the float teacher's softened
// outputs, then converts to int8.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> distillationQuantizationParams();
QuantizationOutcome runDistillationQuantization(const Model& model, const ParamValues& params,
                                                const TechniqueContext& context);

// Its registry entry (name "distillation", list position 7); registered by distillation_quantization.cpp
// itself.
TechniqueDescriptor distillationQuantizationTechnique();

}  // namespace quantscope
