#include "core/search/mixed_precision_report.h"

namespace quantscope {

void markParetoFront(std::vector<SearchCandidate>& candidates) {
  for (auto& c : candidates) {
    c.pareto = true;
    for (const auto& other : candidates) {
      const bool noWorse = other.fileBytes <= c.fileBytes && other.metric >= c.metric;
      const bool better = other.fileBytes < c.fileBytes || other.metric > c.metric;
      if (noWorse && better) {
        c.pareto = false;
        break;
      }
    }
  }
}

}  // namespace quantscope
