#pragma once
// Side-by-side comparison of runs: the deltas spelled out, and the Pareto front of accuracy vs cost.
#include <string>
#include <vector>

#include "core/results/run_result.h"

namespace quantscope {

// "3.9x smaller, 4.1x faster, -0.3 pt top-1" for `candidate` against `baseline` (each run's quantized model).
std::string describeDelta(const RunResult& baseline, const RunResult& candidate);
// The same against the run's own original model.
std::string describeAgainstOriginal(const RunResult& run);

// When `a` and `b` are the same technique on the same model and data with the same parameters except
// the recipe, and one recipe keeps activations to 7 bits (fbgemm, x86) while the other uses 8 (onednn,
// qnnpack): the measured difference in words, e.g. "onednn recipe (8-bit activations) vs fbgemm (7-bit),
// measured here: SQNR 31.6 vs 28.6 dB (+3.0 dB), top-1 +0.28 pt". Empty otherwise.
std::string describeRecipeDifference(const RunResult& a, const RunResult& b);

struct TradeoffPoint {
  double cost = 0;     // size or latency: lower is better
  double quality = 0;  // accuracy or agreement: higher is better
};

// Indices of the points no other point beats on both cost and quality, sorted by cost.
std::vector<size_t> paretoFront(const std::vector<TradeoffPoint>& points);

}  // namespace quantscope
