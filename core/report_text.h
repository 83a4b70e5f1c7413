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
std::string formatRunResult(const RunResult& result);

}  // namespace quantscope
