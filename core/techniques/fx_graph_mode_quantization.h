#pragma once
// Graph-mode (FX) post-training quantization: the whole graph is quantized (conv-bn folding, conv+relu
// fusion, int8 through relu/add/pool/flatten/cat, quantize/dequantize only at the borders).
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

std::vector<ParamSpec> graphModeQuantizationParams();
QuantizationOutcome runGraphModeQuantization(const Model& model, const ParamValues& params,
                                             const TechniqueContext& context);

// Its registry entry (name "fx", list position 4); registered by fx_graph_mode_quantization.cpp itself.
TechniqueDescriptor graphModeQuantizationTechnique();

}  // namespace quantscope
