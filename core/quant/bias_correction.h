#pragma once
// Bias correction of a converted int8 model (Nagel et al. 2019): quantizing a layer's weights shifts the
// mean of its output, E[W_q x] != E[W x]; adding the difference to the layer's bias removes that shift.
// Works after Finalize on the packed params (unpacked, bias changed, repacked for the active engine), so the
// saved model still opens in stock PyTorch. Internal: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/quant/cross_layer_equalization.h"
#include "core/results/quantization_outcome.h"

namespace quantscope {

struct LayerBiasCorrection {
  std::string layer;
  bool corrected = false;
  std::string reason;  // why not, when not corrected
  double meanAbsShift = 0, maxAbsShift = 0;
  // Empirical: the per-channel mean output error E[float] - E[int8] the step measured (before) and the same
  // measured again on the corrected model (after), on the same samples.
  std::vector<double> channelErrorBefore, channelErrorAfter;
  std::string change() const;  // "bias shifted by 0.0021 on average (max 0.013); mean |error| 0.01 -> 1e-6"
};

struct BiasCorrectionResult {
  std::vector<LayerBiasCorrection> layers;
  int64_t samples = 0;
  std::string note(const std::string& kind) const;
};

// Empirical, layer by layer in graph order, as AIMET's correct_bias: E[float output] comes from the float
// model (`floatModel`, the model that was quantized: folded and, when asked, equalized) on `inputs`;
// E[int8 output] is the layer computed from its input in the int8 model (so the errors of earlier, already
// corrected int8 layers are in it and get corrected too) with its dequantized int8 weight, before the output
// is requantized (a fused ReLU would hide the shift). Both per output channel; their difference goes into
// the bias. `layers` is the weight report of the two models (packedAs names each layer's packed params).
BiasCorrectionResult correctBiasEmpirically(torch::jit::Module& quantized,
                                            const torch::jit::Module& floatModel,
                                            const std::vector<LayerQuantization>& layers,
                                            const torch::Tensor& inputs, const Progress& progress);

// Analytical: a layer whose input is a batch norm's output (through ReLU, ReLU6 or nothing) has input
// channels x_i ~ N(beta_i, gamma_i^2) before the activation, so E[x_i] is the mean of a clipped normal; the
// correction is -(W_q - W) E[x] (kernel positions summed, zero-padded borders ignored). Layers without such
// a batch norm are left as they are and say so. `stats` are the batch norms after each layer, as
// equalizeCrossLayer left them (or batchNormsAfterLayers when not equalized).
BiasCorrectionResult correctBiasAnalytically(torch::jit::Module& quantized,
                                             const torch::jit::Module& floatModel,
                                             const std::vector<LayerQuantization>& layers,
                                             const std::map<std::string, BatchNormStats>& stats);

// Expected value of clamp(x, low, high) for x ~ N(mean, std^2), per element (low/high may be -inf/inf).
torch::Tensor clippedNormalMean(const torch::Tensor& mean, const torch::Tensor& std, double low, double high);

}  // namespace quantscope
