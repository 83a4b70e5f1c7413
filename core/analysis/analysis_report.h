#pragma once
// The quant analyzer's result as text (the CLI) and JSON (--json, exports). Torch-free.
#include <QJsonObject>
#include <string>

#include "core/analysis/quant_analysis.h"

namespace quantscope {

std::string formatQuantAnalysis(const QuantAnalysis& analysis);
// Infinite SQNRs (identical outputs) are written as null.
QJsonObject toJson(const QuantAnalysis& analysis);

}  // namespace quantscope
