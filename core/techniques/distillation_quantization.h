#pragma once
// Knowledge-distillation quantization: a fake-quantized student learns from the float teacher's softened
// outputs, then converts to int8.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> distillationQuantizationParams();
QuantizationOutcome runDistillationQuantization(const Model& model, const ParamValues& params,
                                                const TechniqueContext& context);

}  // namespace quantscope
