#pragma once
// Numeric-suite style comparison: the output of every quantized Conv/Linear against the same layer of the
// float model, on the same inputs (SQNR in dB).
#include <torch/script.h>

#include <vector>

#include "core/quantization_outcome.h"

namespace quantscope {

// `floatModel` is the model the quantized one was made from (after batch-norm folding); `layers` is the
// weight report of the two (reportWeightQuantization), whose packedAs names the int8 weight of each layer.
// Layers are paired by name. Fills LayerQuantization::outputSqnrDb for each quantized layer whose output
// can be compared and appends to its scheme where the output was taken (after a fused ReLU) or why it was
// not measured (e.g. it exists only inside a fused op of the int8 graph).
void addLayerOutputSqnr(const torch::jit::Module& floatModel, const torch::jit::Module& quantized,
                        const torch::Tensor& inputs, std::vector<LayerQuantization>& layers);

}  // namespace quantscope
