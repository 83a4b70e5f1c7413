#pragma once
// Pruning-aware quantization: magnitude pruning (weights or whole channels), fine-tuning with fake
// quantization and the masks kept, then int8.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> pruningQuantizationParams();
QuantizationOutcome runPruningQuantization(const Model& model, const ParamValues& params,
                                           const TechniqueContext& context);

// Its registry entry (name "pruning", list position 6); registered by pruning_quantization.cpp itself.
TechniqueDescriptor pruningQuantizationTechnique();

}  // namespace quantscope
