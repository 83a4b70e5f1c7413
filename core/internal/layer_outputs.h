#pragma once
// Numeric-suite style comparison: the output of every quantized Conv/Linear against the same layer of the
// float model, on the same inputs (SQNR in dB).
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "core/results/quantization_outcome.h"

namespace quantscope {

// Each Conv/Linear layer's output in a float model (plain, or with observers inserted, which pass every
// value through), by layer name, as the layer's op made it, for one forward of `inputs`; for a layer
// whose output goes only into a ReLU, that ReLU's output (afterRelu). Layers called more than once or
// inside a branch or loop are left out.
struct FloatLayerOutputs {
  struct Output {
    torch::Tensor tensor;
    bool afterRelu = false;
  };
  int64_t samples = 0;   // asked for: how many of the first calibration samples (0: the first batch)
  torch::Tensor inputs;  // the samples they were computed on
  std::map<std::string, Output> byLayer;
};
// How many samples the per-layer output report runs on: as many of the first `available` as hold about a
// million input values, at least 8 (its cost follows the activations: 8 images for an ImageNet model,
// every sample of a small one).
int64_t layerOutputSamples(int64_t valuesPerSample, int64_t available);
void captureLayerOutputs(const torch::jit::Module& module, const torch::Tensor& inputs,
                         FloatLayerOutputs& outputs);

// `floatModel` is the model the quantized one was made from (after batch-norm folding); `layers` is the
// weight report of the two (reportWeightQuantization), whose packedAs names the int8 weight of each layer.
// Layers are paired by name. Fills LayerQuantization::outputSqnrDb for each quantized layer whose output
// can be compared and appends to its scheme where the output was taken (after a fused ReLU) or why it was
// not measured (e.g. it exists only inside a fused op of the int8 graph). `captured`, when it holds the
// float layers' outputs on these same inputs (taken during calibration), spares running the float model.
// Each Conv/Linear layer's input (the float op's first argument) in a float model, by layer name, for one
// forward of `inputs`. `module` should be frozen with its parameters kept (freeze_module with
// preserveParameters), so that branches on module flags are resolved and each op still reads its weight
// by name. Layers called more than once or inside a branch or loop are left out.
std::map<std::string, torch::Tensor> captureLayerInputs(const torch::jit::Module& module,
                                                        const torch::Tensor& inputs);

void addLayerOutputSqnr(const torch::jit::Module& floatModel, const torch::jit::Module& quantized,
                        const torch::Tensor& inputs, std::vector<LayerQuantization>& layers,
                        const FloatLayerOutputs* captured = nullptr);

}  // namespace quantscope
