#pragma once
// RunResult <-> JSON, for the CLI's --json, saved reports and the GUI's project files.
#include <QJsonObject>

#include "core/results/run_result.h"

namespace quantscope {

QJsonObject toJson(const RunResult& result);
QJsonObject toJson(const LatencyStats& stats);
QJsonObject toJson(const SizeComparison& sizes);
QJsonObject toJson(const AccuracyMetrics& accuracy);
QJsonObject toJson(const FidelityMetrics& fidelity);
QJsonObject toJson(const RuntimeInfo& runtime);
QJsonObject toJson(const OpProfile& profile);
RunResult runResultFromJson(const QJsonObject& json);

}  // namespace quantscope
