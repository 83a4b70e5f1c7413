#pragma once
// RunResult <-> JSON, for the CLI's --json, saved reports and project files; reading and writing JSON files.
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <string>

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

// The JSON files QuantScope reads and writes (projects, runs): one reader and one writer, so every file gets
// the same checks and messages. `what` names the file in messages ("QuantScope project file").
QJsonDocument readJsonFile(const QString& path, const std::string& what);  // throws quantscope::Error
void writeJsonFile(const QJsonDocument& document, const QString& path,
                   const std::string& what);  // atomic; throws quantscope::Error

}  // namespace quantscope
