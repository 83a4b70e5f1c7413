#pragma once
// Numeric-suite style comparison: the output of every quantized Conv/Linear against the same layer of the
// float model, on the same inputs (SQNR in dB).
#include <torch/script.h>

#include <vector>

#include "core/quantization_outcome.h"

namespace quantscope {

// `floatModel` is the model the quantized one was made from (after batch-norm folding). Layers are
// matched in graph order; fills LayerQuantization::outputSqnrDb for the layers it can match.
void addLayerOutputSqnr(const torch::jit::Module& floatModel, const torch::jit::Module& quantized,
                        const torch::Tensor& inputs, std::vector<LayerQuantization>& layers);

}  // namespace quantscope
