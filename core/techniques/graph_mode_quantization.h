#pragma once
// Post-training static quantization on LibTorch's TorchScript graph passes. Two scopes share it:
// "fx" quantizes the whole graph (int8 flows through relu/add/pool/flatten/cat, quantize/dequantize only
// at the borders), "static" quantizes each Conv/Linear module on its own, as eager-mode PyTorch does.
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

// qconfig (the numerics recipe) and engine (the int8 kernels): every technique that makes a static int8
// model through the graph passes takes these two.
std::vector<ParamSpec> recipeAndEngineParams();
// The recipe and engine plus the calibration parameters (observer, calib_samples, percentile).
std::vector<ParamSpec> postTrainingParams();
std::vector<ParamSpec> graphModeQuantizationParams();
std::vector<ParamSpec> staticQuantizationParams();
QuantizationOutcome runGraphModeQuantization(const Model& model, const ParamValues& params,
                                             const TechniqueContext& context);
QuantizationOutcome runStaticQuantization(const Model& model, const ParamValues& params,
                                          const TechniqueContext& context);

}  // namespace quantscope
