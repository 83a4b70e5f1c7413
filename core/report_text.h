#pragma once
// Plain-text renderings of core results, for the CLI and the example program.
#include <string>

#include "core/model.h"
#include "core/workflow.h"

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
std::string formatRunResult(const RunResult& result);

}  // namespace quantscope
