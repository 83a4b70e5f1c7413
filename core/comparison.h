#pragma once
// Side-by-side comparison of runs: the deltas spelled out, and the Pareto front of accuracy vs cost.
#include <string>
#include <vector>

#include "core/workflow.h"

namespace quantscope {

// "3.9x smaller, 4.1x faster, -0.3 pt top-1" for `candidate` against `baseline` (each run's quantized model).
std::string describeDelta(const RunResult& baseline, const RunResult& candidate);
// The same against the run's own original model.
std::string describeAgainstOriginal(const RunResult& run);

struct TradeoffPoint {
  double cost = 0;     // size or latency: lower is better
  double quality = 0;  // accuracy or agreement: higher is better
};

// Indices of the points no other point beats on both cost and quality, sorted by cost.
std::vector<size_t> paretoFront(const std::vector<TradeoffPoint>& points);

}  // namespace quantscope
