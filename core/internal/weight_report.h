#pragma once
// Per-layer account of a quantization: which weight layers became int8, with which scheme, and how
// faithful their dequantized weights are (SQNR against the float weights).
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/internal/model_impl.h"
#include "core/results/quantization_outcome.h"

namespace quantscope {

std::vector<LayerQuantization> reportWeightQuantization(const torch::jit::Module& original,
                                                        const torch::jit::Module& quantized,
                                                        const std::vector<std::string>& targetTypes);
std::string describeQuantizedTensor(const torch::Tensor& q);
// Where a packed int8 weight lives, as LayerQuantization::packedAs names it ("fc1._packed_params").
std::string packedLayerPath(const ParameterRecord& packed);

}  // namespace quantscope
