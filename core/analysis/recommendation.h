#pragma once
// The analyzer's advice, from its numbers: which fix they point to, in words, and the technique and
// parameters that apply it. Torch-free.
#include "core/analysis/quant_analysis.h"

namespace quantscope {

// Rules (each finding quotes its numbers):
// - unbalanced weights: a layer has outlier channels (range > outlier factor x its median channel range);
//   with a per-tensor recipe -> equalize=true (or a per-channel recipe);
// - one layer dominates: keeping it float recovers >= half of full int8's loss (>= 0.5 pt), or >= 3 dB of
//   output SQNR and twice what any other layer recovers -> mixed with layer_bits=<layer>=float;
// - weights cost most: weights-only loses more than activations-only (metric, else SQNR by > 1 dB)
//   -> bias_correction=empirical adaround=true;
// - activations cost most -> observer=percentile;
// - unstable calibration: spread over the subsets > 0.5 pt or > 1 dB -> twice the calibration samples.
// Nothing lost (full int8 within 0.3 pt and >= 30 dB) -> plain fx with the analyzed recipe.
Recommendation recommend(const QuantAnalysis& analysis);

}  // namespace quantscope
