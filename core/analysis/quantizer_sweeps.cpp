#include "core/analysis/quantizer_sweeps.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace quantscope {

std::vector<std::string> rankWorstLayers(const std::vector<SweepPoint>& enableOne,
                                         const std::vector<SweepPoint>& disableOne) {
  std::map<std::string, double> aloneSqnr;
  for (const auto& p : enableOne) aloneSqnr[p.layer] = p.measured.sqnrDb;
  std::vector<SweepPoint> ranked = disableOne;
  auto finite = [](double db) { return std::isinf(db) ? (db > 0 ? 1e9 : -1e9) : db; };
  std::stable_sort(ranked.begin(), ranked.end(), [&](const SweepPoint& a, const SweepPoint& b) {
    const double ma = std::round(a.measured.metric * 100), mb = std::round(b.measured.metric * 100);
    if (ma != mb) return ma > mb;
    if (a.measured.sqnrDb != b.measured.sqnrDb) return finite(a.measured.sqnrDb) > finite(b.measured.sqnrDb);
    const double sa = aloneSqnr.count(a.layer) ? finite(aloneSqnr[a.layer]) : 1e9;
    const double sb = aloneSqnr.count(b.layer) ? finite(aloneSqnr[b.layer]) : 1e9;
    return sa < sb;
  });
  std::vector<std::string> layers;
  for (const auto& p : ranked) layers.push_back(p.layer);
  return layers;
}

QuantizerSweeps sweepQuantizers(const AnalysisSession& session, torch::jit::Module& int8Model,
                                const Progress& progress) {
  QuantizerSweeps sweeps;
  const PlanEvaluator& evaluator = *session.sweepEvaluator;
  sweeps.baseline = session.measure(int8Model, evaluator);
  BitPlan allFloat = session.allInt8;
  for (auto& entry : allFloat) entry.second.weightBits = 0;
  const size_t n = session.layers.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string& layer = session.layers[i];
    if (progress.takeCancelRequest()) {
      sweeps.notes.push_back("Sweeps stopped by a cancel after " + std::to_string(i) + " of " +
                             std::to_string(n) + " layers.");
      break;
    }
    progress.update(
        "Analyzer sweeps: " + layer + " (" + std::to_string(i + 1) + " of " + std::to_string(n) + ")",
        double(i) / double(n));
    try {
      BitPlan alone = allFloat;
      alone[i].second.weightBits = 8;
      torch::jit::Module enabled = session.convert(alone);
      sweeps.enableOne.push_back({layer, session.measure(enabled, evaluator)});
      BitPlan without = session.allInt8;
      without[i].second.weightBits = 0;
      if (n > 1) {
        torch::jit::Module disabled = session.convert(without);
        sweeps.disableOne.push_back({layer, session.measure(disabled, evaluator)});
      }
    } catch (const CancelledError&) {
      throw;
    } catch (const std::exception& e) {
      sweeps.notes.push_back("Sweeps: layer " + layer + " skipped: " + e.what());
    }
  }
  sweeps.worstLayers = rankWorstLayers(sweeps.enableOne, sweeps.disableOne);
  sweeps.notes.push_back(
      "Sweeps: a float layer computes in float between int8 borders (its input and output stay quantized), "
      "as mixed precision runs it; LibTorch's graph passes cannot leave one layer's activations float "
      "inside the graph.");
  return sweeps;
}

}  // namespace quantscope
