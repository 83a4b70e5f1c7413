#pragma once
// What one run measured and reported: the technique's outcome (layers, notes, curves, figures) with the
// sizes, accuracy, fidelity and latency of the original and the quantized model. The data model the
// window's runs table, the CLI's --json, reports and project files share; workflow.h makes it.
#include <string>
#include <vector>

#include "core/results/metrics.h"
#include "core/results/quantization_outcome.h"
#include "core/results/size_report.h"
#include "core/runtime/benchmark.h"
#include "core/runtime/op_profile.h"
#include "core/runtime/runtime_info.h"

namespace quantscope {

struct RunResult {
  std::string technique;
  ParamValues params;
  std::string recipe;
  std::string engine;
  std::string modelPath;
  std::string datasetName;
  int64_t datasetSize = 0;
  SizeComparison sizes;
  AccuracyMetrics originalAccuracy;
  AccuracyMetrics quantizedAccuracy;
  FidelityMetrics fidelity;
  LatencyStats originalLatency;
  LatencyStats quantizedLatency;
  OpProfile quantizedOps;  // where the quantized model's time goes, int8 or float
  std::vector<LayerQuantization> layers;
  std::vector<std::string> notes;
  bool simulated = false;
  TrainingCurve trainingCurve;
  std::vector<ResultFigure> figures;
  MixedPrecisionReport mixedPrecision;
  std::vector<AccuracyStepChange> accuracySteps;  // equalization, bias correction, AdaRound: per layer
  double quantizeSeconds = 0;
  std::string finishedAt;  // ISO 8601, UTC
  RuntimeInfo runtime;
};

}  // namespace quantscope
