#pragma once
// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization"): after
// conversion, each int8 Conv/Linear layer's weights are rounded up or down as learned on calibration
// data instead of to the nearest grid point. Per layer, with the float weight W, the scale s and zero point
// z the finalized int8 layer uses, and the layer's input rows x taken from the float model:
//   W~ = s * (clamp(floor(W/s) + h(V) + z, qmin, qmax) - z),  h(V) = clamp(sigmoid(V)(zeta-gamma)+gamma, 0,
//   1) minimise  sum_channels mean_rows (W x - W~ x)^2  +  lambda * sum(1 - |2h(V)-1|^beta)
// with V starting where h(V) = W/s - floor(W/s), beta annealed from 20 to 2 after a warm-up without the
// regularizer, Adam; then h is rounded to 0/1 and the layer's packed int8 weights are replaced (same scale,
// zero point and bias). Internal to the core: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "core/internal/layer_outputs.h"
#include "core/progress.h"
#include "core/results/quantization_outcome.h"
#include "core/technique_registry.h"

namespace quantscope {

// `adaround` (Bool, off), `adaround_iters` (Int) and `adaround_reg` (Float): appended to the post-training
// parameters, so static, fx and mixed all take them.
std::vector<ParamSpec> adaroundParams();

struct AdaRoundSettings {
  int iterations = 500;          // Adam steps per layer
  double regularization = 0.01;  // lambda, the rounding regularizer's weight (AIMET's default)
  double learningRate = 1e-2;
  double warmUp = 0.2;  // fraction of the iterations without the regularizer
  double betaStart = 20, betaEnd = 2;
  // Input rows per layer (a Linear's input vectors, a convolution's input patches), sampled evenly over the
  // calibration samples: about this many (a whole number per sample), kept as they are or, once there are
  // more rows than a row is long, as their Gram matrix; memory stays bounded whatever the number of samples.
  int64_t maxRows = 4096;
  int64_t batchSize = 8;  // calibration samples per float forward while the inputs are captured
  uint64_t seed = 0;      // which rows are sampled
  // Layers whose weights are on a grid narrower than int8 (mixed precision's b-bit weights): name -> bits.
  std::map<std::string, int> weightBits;
};
// The settings the parameters ask for; false when `adaround` is absent or off.
bool adaroundRequested(const ParamValues& params);
AdaRoundSettings adaroundSettings(const ParamValues& params);

// One layer's result. The objective is measured on the same sampled input rows for both roundings, as the
// mean squared error per output value of W~ x against W x.
struct AdaRoundLayer {
  std::string layer;
  int64_t weights = 0;
  int64_t flipped = 0;  // int weights now different from the nearest rounding
  int64_t rows = 0;     // input rows the objective was measured on
  double mseNearest = 0, mseLearned = 0;
  bool keptNearest = false;  // the learned rounding was not better on the objective: nearest kept
  std::string skipped;       // why the layer was left as it was (empty when it was optimized)
};

// Replaces, in place, the packed int8 weights of each quantized Conv2d/Linear layer of `quantized` listed in
// `layers` (reportWeightQuantization of `folded` and `quantized`) with the learned rounding. `folded` is the
// float model the int8 one was converted from (batch norms folded). The inputs are the float model's: each
// layer learns to reproduce the float layer on float inputs, as the paper's default. (Using the int8
// model's own inputs to each layer, AIMET's alternative, would also absorb the error of earlier layers, but
// needs a forward of the partly rounded int8 model per layer; not done here.) The weights are packed for the
// quantized engine active at the call.
std::vector<AdaRoundLayer> adaroundWeights(torch::jit::Module& quantized, const torch::jit::Module& folded,
                                           const std::vector<LayerQuantization>& layers,
                                           const torch::Tensor& calibrationInputs,
                                           const AdaRoundSettings& settings, const Progress& progress);

// The whole step as the post-training pipelines run it: AdaRound on `quantized`, each layer's output SQNR
// against the float layer before and after (on `reportInputs`, whose float layer outputs `captured` may
// hold), one AccuracyStepChange per layer and a run note.
struct AccuracyStepResult {
  std::vector<AccuracyStepChange> changes;
  std::string note;
};
AccuracyStepResult runAdaRoundStep(torch::jit::Module& quantized, const torch::jit::Module& folded,
                                   const torch::Tensor& calibrationInputs, const torch::Tensor& reportInputs,
                                   const FloatLayerOutputs* captured, const AdaRoundSettings& settings,
                                   const Progress& progress);

}  // namespace quantscope
