#include "core/analysis/recommendation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace quantscope {
namespace {

std::string format(const char* pattern, double a, double b = 0, double c = 0) {
  char text[256];
  std::snprintf(text, sizeof(text), pattern, a, b, c);
  return text;
}

const FourWayRow* row(const QuantAnalysis& analysis, const std::string& name) {
  for (const auto& r : analysis.fourWay)
    if (r.name == name) return &r;
  return nullptr;
}

double finiteDb(double db) { return std::isinf(db) ? (db > 0 ? 200.0 : -200.0) : db; }

}  // namespace

Recommendation recommend(const QuantAnalysis& analysis) {
  Recommendation advice;
  const FourWayRow* weights = row(analysis, "weights only");
  const FourWayRow* activations = row(analysis, "activations only");
  const FourWayRow* full = row(analysis, "full int8");
  if (!weights || !activations || !full) {
    advice.summary = "No recommendation: the four-way comparison is incomplete.";
    return advice;
  }
  const double int8Drop = full->measured.drop;
  const double int8Sqnr = finiteDb(full->measured.sqnrDb);

  // Unbalanced per-channel weight ranges.
  std::vector<const LayerRanges*> unbalanced;
  for (const auto& r : analysis.ranges)
    if (!r.outlierChannels.empty()) unbalanced.push_back(&r);
  std::sort(unbalanced.begin(), unbalanced.end(), [](const LayerRanges* a, const LayerRanges* b) {
    return a->outlierChannels.size() > b->outlierChannels.size();
  });
  std::string unbalancedText;
  if (!unbalanced.empty()) {
    const LayerRanges& top = *unbalanced.front();
    const double widest = *std::max_element(top.channelRanges.begin(), top.channelRanges.end());
    unbalancedText = std::to_string(unbalanced.size()) + " layer(s) have outlier weight channels (range > " +
                     format("%.0fx", analysis.outlierFactor) + " the layer's median channel range), e.g. " +
                     top.layer + ": " + std::to_string(top.outlierChannels.size()) + " of " +
                     std::to_string(top.channelRanges.size()) + " channels, widest " +
                     format("%.3g vs median %.3g", widest, top.medianChannelRange) + ".";
    advice.findings.push_back(unbalancedText + (analysis.perChannelWeights
                                                    ? " The recipe scales each channel on its own, so they "
                                                      "cost little here."
                                                    : " The per-tensor recipe gives every channel the widest "
                                                      "channel's scale."));
  }

  // One layer dominating the sweeps.
  std::string dominant;
  if (!analysis.disableOne.empty()) {
    const AnalysisMeasurement& base = analysis.sweepBaseline;
    std::vector<SweepPoint> byGain = analysis.disableOne;
    std::sort(byGain.begin(), byGain.end(), [](const SweepPoint& a, const SweepPoint& b) {
      return finiteDb(a.measured.sqnrDb) > finiteDb(b.measured.sqnrDb);
    });
    const SweepPoint* best = nullptr;
    for (const auto& p : analysis.disableOne)
      if (!analysis.worstLayers.empty() && p.layer == analysis.worstLayers.front()) best = &p;
    if (best) {
      const double recovered = best->measured.metric - base.metric;
      const double gainDb = finiteDb(best->measured.sqnrDb) - finiteDb(base.sqnrDb);
      double secondGainDb = 0;
      for (const auto& p : byGain) {
        if (p.layer == best->layer) continue;
        secondGainDb = finiteDb(p.measured.sqnrDb) - finiteDb(base.sqnrDb);
        break;
      }
      const bool byMetric = base.drop >= 0.5 && recovered >= 0.5 * base.drop;
      const bool bySqnr = gainDb >= 3.0 && gainDb >= 2.0 * std::max(0.0, secondGainDb);
      if (byMetric || bySqnr) {
        dominant = best->layer;
        advice.findings.push_back("Keeping " + dominant + " float recovers " +
                                  format("%.2f of the %.2f pt full int8 loses and %.1f dB of output SQNR",
                                         recovered, base.drop, gainDb) +
                                  format(" (the next layer: %.1f dB).", secondGainDb));
      }
    }
  }

  // Which half costs more.
  const double wDrop = weights->measured.drop, aDrop = activations->measured.drop;
  const double wDb = finiteDb(weights->measured.sqnrDb), aDb = finiteDb(activations->measured.sqnrDb);
  const bool weightsCostMost = wDrop > aDrop + 0.1 || (std::abs(wDrop - aDrop) <= 0.1 && wDb + 1.0 < aDb);
  const bool activationsCostMost = aDrop > wDrop + 0.1 || (std::abs(wDrop - aDrop) <= 0.1 && aDb + 1.0 < wDb);
  advice.findings.push_back(format("Weights only (simulated) loses %.2f pt at %.1f dB; ", wDrop, wDb) +
                            format("activations only (simulated) %.2f pt at %.1f dB; ", aDrop, aDb) +
                            format("full int8 %.2f pt at %.1f dB.", int8Drop, int8Sqnr));

  // Calibration stability.
  const CalibrationStability& s = analysis.stability;
  const bool unstable = s.runs.size() > 1 && (s.metricSpread > 0.5 || s.sqnrSpread > 1.0);
  if (unstable) {
    advice.findings.push_back(
        format("Calibration is unstable: over %.0f random subsets the metric spreads "
               "%.2f pt and the SQNR %.2f dB (standard deviation).",
               double(s.runs.size()), s.metricSpread, s.sqnrSpread));
  }

  const bool fine = int8Drop <= 0.3 && int8Sqnr >= 30.0;
  ParamValues base = analysis.recipe;
  if (unstable)
    base["calib_samples"] = std::to_string(std::max<int64_t>(64, analysis.calibrationSamples * 2));
  const std::string moreData =
      unstable ? " Also calibrate on more samples (calib_samples=" + base["calib_samples"] + ")." : "";

  advice.technique = "fx";
  advice.params = base;
  if (fine && !unstable) {
    advice.summary = format(
        "Plain int8 is fine: full int8 loses %.2f pt at %.1f dB output SQNR. Run fx with "
        "this recipe.",
        int8Drop, int8Sqnr);
  } else if (!unbalanced.empty() && !analysis.perChannelWeights) {
    advice.params["equalize"] = "true";
    advice.summary = "Equalize: " + unbalancedText +
                     " Cross-layer equalization rescales them before the per-tensor recipe rounds (fx with "
                     "equalize=true); a per-channel recipe (qconfig=onednn) is the other fix." +
                     moreData;
  } else if (!dominant.empty()) {
    advice.technique = "mixed";
    advice.params["layer_bits"] = dominant + "=float";
    advice.summary = "Keep " + dominant +
                     " float: it dominates the sweeps (mixed with layer_bits=" + dominant +
                     "=float; every other layer stays int8)." + moreData;
  } else if (weightsCostMost && !fine) {
    advice.params["bias_correction"] = "empirical";
    advice.params["adaround"] = "true";
    advice.summary =
        "Weights cost the most: correct the bias and learn the rounding (fx with "
        "bias_correction=empirical adaround=true)." +
        moreData;
  } else if (activationsCostMost && !fine) {
    advice.params["observer"] = "percentile";
    advice.summary =
        "Activations cost the most: clip their outliers (fx with observer=percentile)." + moreData;
  } else if (unstable) {
    advice.summary =
        "Calibrate on more data: the result depends on which samples calibrate it (fx with "
        "calib_samples=" +
        base["calib_samples"] + ").";
  } else {
    advice.summary = format(
        "No single cause stands out: full int8 loses %.2f pt at %.1f dB. Try fx with "
        "bias_correction=empirical.",
        int8Drop, int8Sqnr);
    advice.params["bias_correction"] = "empirical";
  }
  return advice;
}

}  // namespace quantscope
