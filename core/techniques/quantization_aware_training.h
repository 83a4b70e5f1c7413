#pragma once
// Quantization-aware training: fine-tunes with fake quantization where fx puts int8, then converts to int8
// kernels.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> quantizationAwareTrainingParams();
QuantizationOutcome runQuantizationAwareTraining(const Model& model, const ParamValues& params,
                                                 const TechniqueContext& context);

// Its registry entry (name "qat", list position 3); registered by quantization_aware_training.cpp itself.
TechniqueDescriptor quantizationAwareTrainingTechnique();

}  // namespace quantscope
