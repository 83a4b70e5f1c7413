#include "core/results/comparison.h"

#include <algorithm>
#include <cstdio>

#include "core/errors.h"
#include "core/internal/qconfig_recipe.h"

namespace quantscope {
namespace {

std::string ratioPhrase(double before, double after, const char* better, const char* worse) {
  if (before <= 0 || after <= 0) return {};
  char text[64];
  if (after <= before)
    std::snprintf(text, sizeof(text), "%.2fx %s", before / after, better);
  else
    std::snprintf(text, sizeof(text), "%.2fx %s", after / before, worse);
  return text;
}

std::string deltaPhrase(double before, double after, const char* what) {
  char text[64];
  std::snprintf(text, sizeof(text), "%+.2f pt %s", (after - before) * 100.0, what);
  return text;
}

std::string describe(int64_t sizeBefore, int64_t sizeAfter, const LatencyStats& latencyBefore,
                     const LatencyStats& latencyAfter, const AccuracyMetrics& accuracyBefore,
                     const AccuracyMetrics& accuracyAfter) {
  std::vector<std::string> parts;
  parts.push_back(
      ratioPhrase(static_cast<double>(sizeBefore), static_cast<double>(sizeAfter), "smaller", "larger"));
  if (latencyBefore.available && latencyAfter.available) {
    parts.push_back(ratioPhrase(latencyBefore.medianMs, latencyAfter.medianMs, "faster", "slower"));
  }
  if (accuracyBefore.available && accuracyAfter.available) {
    parts.push_back(deltaPhrase(accuracyBefore.top1, accuracyAfter.top1, "top-1"));
  }
  std::string text;
  for (const auto& part : parts) {
    if (!part.empty()) text += (text.empty() ? "" : ", ") + part;
  }
  return text;
}

}  // namespace

std::string describeDelta(const RunResult& baseline, const RunResult& candidate) {
  return describe(baseline.sizes.quantized.serializedBytes, candidate.sizes.quantized.serializedBytes,
                  baseline.quantizedLatency, candidate.quantizedLatency, baseline.quantizedAccuracy,
                  candidate.quantizedAccuracy);
}

std::string describeAgainstOriginal(const RunResult& run) {
  return describe(run.sizes.original.serializedBytes, run.sizes.quantized.serializedBytes,
                  run.originalLatency, run.quantizedLatency, run.originalAccuracy, run.quantizedAccuracy);
}

std::string describeRecipeDifference(const RunResult& a, const RunResult& b) {
  if (a.technique != b.technique || a.modelPath != b.modelPath || a.datasetName != b.datasetName ||
      a.datasetSize != b.datasetSize || !a.fidelity.available || !b.fidelity.available)
    return {};
  ParamValues aParams = a.params, bParams = b.params;
  aParams.erase("qconfig");
  bParams.erase("qconfig");
  if (aParams != bParams) return {};
  bool aReduced = false, bReduced = false;
  try {
    aReduced = qconfigRecipe(a.recipe).reduceRangeActivations;
    bReduced = qconfigRecipe(b.recipe).reduceRangeActivations;
  } catch (const Error&) {
    return {};  // a technique without a recipe
  }
  if (aReduced == bReduced) return {};
  const RunResult& full = aReduced ? b : a;
  const RunResult& reduced = aReduced ? a : b;
  char text[256];
  std::snprintf(text, sizeof(text),
                "%s recipe (8-bit activations) vs %s (7-bit), measured here: SQNR %.1f vs %.1f dB (%+.1f dB)",
                full.recipe.c_str(), reduced.recipe.c_str(), full.fidelity.sqnrDb, reduced.fidelity.sqnrDb,
                full.fidelity.sqnrDb - reduced.fidelity.sqnrDb);
  std::string phrase = text;
  if (full.quantizedAccuracy.available && reduced.quantizedAccuracy.available)
    phrase += ", " + deltaPhrase(reduced.quantizedAccuracy.top1, full.quantizedAccuracy.top1, "top-1");
  return phrase + ".";
}

std::vector<size_t> paretoFront(const std::vector<TradeoffPoint>& points) {
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (i == j) continue;
      const bool noWorse = points[j].cost <= points[i].cost && points[j].quality >= points[i].quality;
      const bool better = points[j].cost < points[i].cost || points[j].quality > points[i].quality;
      dominated = noWorse && better;
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return points[a].cost < points[b].cost; });
  return front;
}

}  // namespace quantscope
