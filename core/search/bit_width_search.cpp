#include "core/search/bit_width_search.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "core/errors.h"

namespace quantscope {
namespace {

// A small floor on the drop a step saves, so that among layers whose sensitivity rounds to zero the
// search still prefers the step that costs fewest bytes.
constexpr double kDropFloor = 1e-3;

std::string kib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f KiB", double(bytes) / 1024.0);
  return text;
}

class Search {
 public:
  Search(const SearchSpace& space, const SearchBudget& budget, const EvaluateAssignment& evaluate,
         const std::function<bool()>& cancelRequested)
      : space_(space), budget_(budget), evaluate_(evaluate), cancelRequested_(cancelRequested) {}

  SearchResult run() {
    if (budget_.goal == SearchGoal::Accuracy) {
      accuracyFirst();
    } else {
      sizeFirst();
    }
    return finish();
  }

 private:
  int64_t bytes(size_t layer, int option) const {
    const int bits = space_.options[size_t(option)];
    const int64_t n = space_.weightCounts[layer];
    return bits == 0 ? n * 4 : (n * bits + 7) / 8;
  }
  double drop(size_t layer, int option) const { return space_.drop[layer][size_t(option)]; }
  int highestBitsOption() const {
    int top = 0;
    for (size_t i = 0; i < space_.options.size(); ++i)
      if (space_.options[i] != 0) top = int(i);
    return top;
  }

  // Evaluates an assignment once (repeats come from the record); nothing when the search must stop.
  std::optional<SearchCandidate> tryAssignment(const std::vector<int>& a) {
    const auto seen = std::find(assignments_.begin(), assignments_.end(), a);
    if (seen != assignments_.end()) return result_.candidates[size_t(seen - assignments_.begin())];
    if (stopped_) return std::nullopt;
    if (int(result_.candidates.size()) >= budget_.maxEvaluations) {
      stopped_ = true;
      result_.stoppedEarly = "The search stopped at its limit of " + std::to_string(budget_.maxEvaluations) +
                             " evaluated configurations (max_evaluations).";
      return std::nullopt;
    }
    if (cancelRequested_ && cancelRequested_()) {
      stopped_ = true;
      cancelled_ = true;
      result_.stoppedEarly = "Cancelled after " + std::to_string(result_.candidates.size()) +
                             " evaluated configurations; the best one found so far is kept.";
      return std::nullopt;
    }
    SearchCandidate c = evaluate_(a);
    c.withinBudget = budget_.goal == SearchGoal::Accuracy ? c.drop <= budget_.maxDrop + 1e-9
                                                          : c.fileBytes <= budget_.maxBytes;
    result_.candidates.push_back(c);
    assignments_.push_back(a);
    return c;
  }

  void accuracyFirst() {
    std::vector<int> a(space_.layers.size(), 0);
    std::optional<SearchCandidate> current = tryAssignment(a);
    const int last = int(space_.options.size()) - 1;
    while (current && !current->withinBudget) {
      // Raise the layer whose next option saves the most drop per byte it adds.
      int best = -1;
      double bestScore = -1;
      for (size_t l = 0; l < a.size(); ++l) {
        if (a[l] >= last) continue;
        const double saved = std::max(drop(l, a[l]) - drop(l, a[l] + 1), 0.0) + kDropFloor;
        const double score = saved / double(std::max<int64_t>(1, bytes(l, a[l] + 1) - bytes(l, a[l])));
        if (score > bestScore) bestScore = score, best = int(l);
      }
      if (best < 0) break;
      ++a[size_t(best)];
      current = tryAssignment(a);
    }
    if (!current || !current->withinBudget) return;
    // Lower again, one step each, the layers that cost least drop per byte saved, where the budget allows.
    std::vector<size_t> order;
    for (size_t l = 0; l < a.size(); ++l)
      if (a[l] > 0) order.push_back(l);
    auto cost = [&](size_t l) {
      return (std::max(drop(l, a[l] - 1) - drop(l, a[l]), 0.0) + kDropFloor) /
             double(std::max<int64_t>(1, bytes(l, a[l]) - bytes(l, a[l] - 1)));
    };
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return cost(x) < cost(y); });
    for (size_t l : order) {
      std::vector<int> lower = a;
      --lower[l];
      const auto c = tryAssignment(lower);
      if (!c) return;
      if (c->withinBudget) a = lower;
    }
  }

  // Multiple-choice knapsack on the estimates: the assignment with the least summed drop whose weight
  // bytes fit `byteBudget` (bytes counted in units so the table stays small). Empty when nothing fits.
  std::vector<int> knapsack(int64_t byteBudget) const {
    if (byteBudget <= 0) return {};
    const int64_t unit = std::max<int64_t>(1, byteBudget / 20000);
    const size_t capacity = size_t(byteBudget / unit);
    const double inf = std::numeric_limits<double>::infinity();
    const size_t layers = space_.layers.size(), options = space_.options.size();
    // best[l][c]: least drop of layers 0..l-1 using c units; choice[l][c]: option of layer l-1 there.
    std::vector<std::vector<double>> best(layers + 1, std::vector<double>(capacity + 1, inf));
    std::vector<std::vector<int>> choice(layers + 1, std::vector<int>(capacity + 1, -1));
    best[0][0] = 0;
    for (size_t l = 0; l < layers; ++l) {
      for (size_t c = 0; c <= capacity; ++c) {
        if (best[l][c] == inf) continue;
        for (size_t o = 0; o < options; ++o) {
          const size_t cost = size_t((bytes(l, int(o)) + unit - 1) / unit);
          if (c + cost > capacity) continue;
          const double value = best[l][c] + drop(l, int(o));
          if (value < best[l + 1][c + cost]) best[l + 1][c + cost] = value, choice[l + 1][c + cost] = int(o);
        }
      }
    }
    size_t end = 0;
    for (size_t c = 0; c <= capacity; ++c)
      if (best[layers][c] < best[layers][end]) end = c;
    if (best[layers][end] == inf) return {};
    std::vector<int> a(layers);
    for (size_t l = layers; l > 0; --l) {
      a[l - 1] = choice[l][end];
      end -= size_t((bytes(l - 1, a[l - 1]) + unit - 1) / unit);
    }
    return a;
  }

  int64_t weightBytes(const std::vector<int>& a) const {
    int64_t total = 0;
    for (size_t l = 0; l < a.size(); ++l) total += bytes(l, a[l]);
    return total;
  }

  void sizeFirst() {
    const int top = highestBitsOption();
    std::vector<int> a(space_.layers.size(), top);
    std::optional<SearchCandidate> current = tryAssignment(a);
    // The file is the weights plus what is not weights (graph code, scales, biases): measured once, the
    // rest of the budget goes to the knapsack, and tightened when a proposal's file still comes out over.
    if (current) {
      int64_t overhead = current->fileBytes - weightBytes(a);
      for (int attempt = 0; attempt < 4; ++attempt) {
        const std::vector<int> proposal = knapsack(budget_.maxBytes - overhead);
        if (proposal.empty()) break;
        const auto measured = tryAssignment(proposal);
        if (!measured || measured->withinBudget) break;
        overhead = std::max(overhead + 1, measured->fileBytes - weightBytes(proposal));
      }
    }
    while (current && !current->withinBudget) {
      // Lower the layer that adds the least drop per byte it saves.
      int best = -1;
      double bestScore = 0;
      for (size_t l = 0; l < a.size(); ++l) {
        if (a[l] <= 0) continue;
        const double added = std::max(drop(l, a[l] - 1) - drop(l, a[l]), 0.0) + kDropFloor;
        const double score = added / double(std::max<int64_t>(1, bytes(l, a[l]) - bytes(l, a[l] - 1)));
        if (best < 0 || score < bestScore) bestScore = score, best = int(l);
      }
      if (best < 0) break;
      --a[size_t(best)];
      current = tryAssignment(a);
    }
    if (!current || !current->withinBudget) return;
    // Spend what is left of the budget on the layers whose raise saves the most drop per byte.
    std::vector<size_t> order;
    for (size_t l = 0; l < a.size(); ++l)
      if (a[l] + 1 < int(space_.options.size())) order.push_back(l);
    auto gain = [&](size_t l) {
      return std::max(drop(l, a[l]) - drop(l, a[l] + 1), 0.0) /
             double(std::max<int64_t>(1, bytes(l, a[l] + 1) - bytes(l, a[l])));
    };
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return gain(x) > gain(y); });
    for (size_t l : order) {
      if (gain(l) <= 0) break;  // raising a layer that loses nothing only costs bytes
      std::vector<int> higher = a;
      ++higher[l];
      if (current->fileBytes + bytes(l, higher[l]) - bytes(l, a[l]) > budget_.maxBytes) continue;
      const auto c = tryAssignment(higher);
      if (!c) return;
      if (c->withinBudget && c->metric >= current->metric) a = higher, current = c;
    }
  }

  SearchResult finish() {
    markParetoFront(result_.candidates);
    int pick = -1;
    for (size_t i = 0; i < result_.candidates.size(); ++i) {
      const SearchCandidate& c = result_.candidates[i];
      if (!c.withinBudget) continue;
      if (pick < 0) {
        pick = int(i);
        continue;
      }
      const SearchCandidate& p = result_.candidates[size_t(pick)];
      const bool better =
          budget_.goal == SearchGoal::Accuracy
              ? (c.fileBytes < p.fileBytes || (c.fileBytes == p.fileBytes && c.metric > p.metric))
              : (c.metric > p.metric ||
                 (c.metric == p.metric &&
                  (c.sqnrDb > p.sqnrDb || (c.sqnrDb == p.sqnrDb && c.fileBytes < p.fileBytes))));
      if (better) pick = int(i);
    }
    if (pick < 0) {
      if (result_.candidates.empty()) throw CancelledError();
      if (budget_.goal == SearchGoal::Size && !cancelled_) {
        int64_t smallest = result_.candidates.front().fileBytes;
        for (const auto& c : result_.candidates) smallest = std::min(smallest, c.fileBytes);
        throw Error("No bit assignment fits max_size_kb (" + kib(budget_.maxBytes) +
                        "): the smallest, with every layer at its lowest candidate bits, is " +
                        kib(smallest) + ".",
                    "Raise max_size_kb, or add a lower bit-width to candidate_bits.");
      }
      // Nothing met the budget before the search had to stop: keep the most accurate configuration.
      pick = 0;
      for (size_t i = 1; i < result_.candidates.size(); ++i)
        if (result_.candidates[i].metric > result_.candidates[size_t(pick)].metric) pick = int(i);
      result_.stoppedEarly += " No configuration met the budget; the most accurate one evaluated is kept.";
    }
    result_.candidates[size_t(pick)].picked = true;
    result_.picked = assignments_[size_t(pick)];
    return result_;
  }

  const SearchSpace& space_;
  const SearchBudget& budget_;
  const EvaluateAssignment& evaluate_;
  const std::function<bool()>& cancelRequested_;
  SearchResult result_;
  std::vector<std::vector<int>> assignments_;
  bool stopped_ = false;
  bool cancelled_ = false;
};

}  // namespace

SearchResult searchBitWidths(const SearchSpace& space, const SearchBudget& budget,
                             const EvaluateAssignment& evaluate,
                             const std::function<bool()>& cancelRequested) {
  if (space.layers.empty() || space.options.empty())
    throw Error("The search has no layer or no candidate bits.");
  return Search(space, budget, evaluate, cancelRequested).run();
}

}  // namespace quantscope
