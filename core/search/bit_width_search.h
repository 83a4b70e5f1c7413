#pragma once
// The automatic per-layer bit-width search. Torch-free: it proposes assignments from the sensitivity
// ranking and a byte-cost model, and every assignment it considers is verified by `evaluate` (a real
// conversion and evaluation in the technique; a synthetic model in tests). Every evaluated configuration is
// kept, for the Pareto chart.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/search/mixed_precision_report.h"

namespace quantscope {

struct SearchSpace {
  std::vector<std::string> layers;    // graph order
  std::vector<int64_t> weightCounts;  // per layer: number of weight values
  std::vector<int> options;           // ascending precision: candidate bits, then 0 (float)
  // Per layer and option index: how much the metric suffers with only that layer at that option (points;
  // the technique adds the output noise to the measured drop); float is 0. Only the ranking uses it:
  // budgets are checked on evaluated configurations.
  std::vector<std::vector<double>> drop;
};

enum class SearchGoal { Accuracy, Size };

struct SearchBudget {
  SearchGoal goal = SearchGoal::Accuracy;
  double maxDrop = 1.0;  // Accuracy: points below the float metric
  int64_t maxBytes = 0;  // Size: file bytes
  int maxEvaluations = 40;
};

// Option index per layer -> the measured candidate (assignment, bytes, metric, drop, sqnr).
using EvaluateAssignment = std::function<SearchCandidate(const std::vector<int>& optionPerLayer)>;

struct SearchResult {
  std::vector<SearchCandidate> candidates;  // in evaluation order; Pareto and pick marked
  std::vector<int> picked;                  // option index per layer of the pick (empty: none)
  std::string stoppedEarly;                 // why the search ended before converging, if it did
};

// Accuracy: from every layer at its lowest option, raise the layer with the best drop saved per byte until
// the budget holds, then try lowering layers back one step each (kept when the budget still holds); pick the
// smallest file within the budget. Size: the multiple-choice knapsack of the estimated drops under the
// budget (less the measured non-weight bytes), then, from every layer at the highest bit-width, lower the
// layer with the least drop added per byte saved until the file fits, and raise the most sensitive layers
// while it still fits; pick the best measured metric that fits (ties: the higher output SQNR).
// `cancelRequested` is asked before each evaluation: when it says yes, the best configuration so far is
// picked. Throws Error when no configuration can meet a size budget, CancelledError when cancelled before any
// configuration was evaluated.
SearchResult searchBitWidths(const SearchSpace& space, const SearchBudget& budget,
                             const EvaluateAssignment& evaluate,
                             const std::function<bool()>& cancelRequested);

}  // namespace quantscope
