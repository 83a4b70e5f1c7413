#pragma once
// Plain-text renderings of core results, for the CLI and the example program.
#include <string>

#include "core/model/model.h"
#include "core/results/run_result.h"

namespace quantscope {

std::string formatBytes(int64_t bytes);
std::string formatPercent(double fraction);  // 0.9917 -> "99.17 %"
std::string formatSqnr(double db);           // inf -> "inf (identical)"
std::string formatModelInfo(const ModelInfo& info);
std::string formatLatency(const LatencyStats& stats);
std::string formatLayerReport(const std::vector<LayerQuantization>& layers);
std::string formatOpProfile(const OpProfile& profile);
// One end-of-epoch point as one line: "epoch 3 [qat]: loss 0.1234, train 97.1 %, val 98.0 %, 1.2 s" (epoch
// counted from 1; unmeasured figures left out).
std::string formatTrainingPoint(const TrainingPoint& point);
// The last end-of-epoch point of each series, one line each; empty when there is no curve.
std::string formatTrainingSummary(const TrainingCurve& curve);
// Technique figures by group, "" when there are none.
std::string formatFigures(const std::vector<ResultFigure>& figures);
// Per-layer sparsity (pruning) where measured, "" when no layer has it.
std::string formatSparsity(const std::vector<LayerQuantization>& layers);
// A layer's mixed-precision bits: "w4 a8", "w8", "float" (weight bits -1), "-" when the technique set none.
std::string formatLayerBits(const LayerQuantization& layer);
// The layers of mixed precision's sensitivity rows in the order given, and the candidate bit-widths in
// increasing order: the rows and columns of its table and heat map.
struct SensitivityGrid {
  std::vector<std::string> layers, bits;
};
SensitivityGrid sensitivityGrid(const MixedPrecisionReport& report);
// Mixed precision's sensitivity table (a row per layer, a column per candidate bit-width: drop in points
// and output SQNR) and the search's configurations (size, metric, drop, SQNR, within budget / Pareto /
// picked); "" when the report is empty.
std::string formatMixedPrecision(const MixedPrecisionReport& report);
// The post-training accuracy steps per layer (step, layer, output SQNR before -> after, what changed); ""
// when none ran.
std::string formatAccuracySteps(const std::vector<AccuracyStepChange>& steps);
std::string formatRunResult(const RunResult& result);

}  // namespace quantscope
