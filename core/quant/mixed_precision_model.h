#pragma once
// Mixed precision on LibTorch's graph passes: observers where `fx` puts them, each layer's own observers
// set to its bit grid (quant_min/quant_max inside int8); float layers are converted like the others and
// then run as float ops between int8 borders. The converted model runs on the int8 kernels; below 8 bits
// weights are stored packed and activations clamped to their grid, so the model computes exactly the
// b-bit values. Internal: includes LibTorch.
#include <torch/script.h>

#include <functional>
#include <string>
#include <vector>

#include "core/internal/calibration.h"
#include "core/quant/bit_plan.h"
#include "core/quant/low_bit_weights.h"

namespace quantscope {

struct MixedPrecisionSettings {
  bool perChannelWeights = true;
  bool reduceRangeActivations = false;  // 8-bit activations only: 7-bit when the recipe asks
  ObserverKind observer = ObserverKind::Histogram;
  double percentile = 99.99;
  int activationBits = 8;  // everything between the layers (the input, add, pool, ...)
};

// Conv1d/2d/3d and Linear modules of `folded`, in the order the model defines them.
std::vector<std::string> quantizableLayers(const torch::jit::Module& folded);

// Theoretical weight bytes of `plan`: numel * bits / 8 per quantized layer, 4 bytes a value for float ones.
int64_t packedWeightBytes(const torch::jit::Module& folded, const BitPlan& plan);

// A copy of `folded` with observers as `fx` places them, each layer's observers on the bit grid `plan`
// gives it (float layers observed at 8 bits, turned float by convertPlan). Throws Error when every layer is
// float, or when a layer's own activation bits cannot be honoured.
torch::jit::Module observeForPlan(const torch::jit::Module& folded, const BitPlan& plan,
                                  const MixedPrecisionSettings& settings);
// Sets the bits of each layer's weight and output observers in an observed module (e.g. to measure another
// assignment from the same calibration: then call computeObserverQParams).
void applyLayerBits(torch::jit::Module& observed, const BitPlan& plan, int activationBits);

struct MixedPrecisionModel {
  torch::jit::Module module;
  std::vector<LowBitStorage> lowBitWeights;  // layers whose weights are stored packed below 8 bits
  int clampedActivations = 0;                // int8 ops whose outputs are clamped to a b-bit grid
};

// A step on the converted model before its sub-8-bit weights are stored packed, while every int8 layer
// still has its packed params (weights on their b-bit scales), e.g. AdaRound.
using BeforeLowBitStorage = std::function<void(torch::jit::Module& quantized)>;

// The int8 model of a calibrated `observed` module (left unchanged): InsertQuantDeQuant and Finalize, then
// b-bit clamps and packed b-bit weights. `folded` is the float model `observed` was made from.
MixedPrecisionModel convertPlan(const torch::jit::Module& observed, const torch::jit::Module& folded,
                                const BitPlan& plan, const BeforeLowBitStorage& beforeLowBitStorage = {});

}  // namespace quantscope
