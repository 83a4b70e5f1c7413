#pragma once
// What every part of the quant analyzer shares: the folded float model, one calibrated observed module
// (fx's observers; calibrated once, converted per configuration), the evaluator and the recipe.
// Internal: includes LibTorch.
#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

#include "core/analysis/quant_analysis.h"
#include "core/internal/calibration.h"
#include "core/internal/qconfig_recipe.h"
#include "core/quant/mixed_precision_model.h"
#include "core/search/plan_evaluator.h"

namespace quantscope {

// fx's calibration batch: the analyzer's int8 model is the one fx makes from the same samples.
constexpr int64_t kAnalysisCalibrationBatch = 32;

struct AnalysisSession {
  torch::jit::Module folded;  // batch norms folded, each module use its own copy
  std::vector<std::string> layers;
  const QConfigRecipe* recipe = nullptr;
  MixedPrecisionSettings settings;  // 8 bits everywhere: the recipe's observers
  std::string engine, otherEngine;
  torch::Tensor calibrationInputs;
  torch::jit::Module observed;  // calibrated on calibrationInputs
  BitPlan allInt8;
  std::unique_ptr<PlanEvaluator> evaluator;       // evalSamples
  std::unique_ptr<PlanEvaluator> sweepEvaluator;  // sweepSamples (the first of the same samples)

  AnalysisMeasurement measure(torch::jit::Module& module, const PlanEvaluator& on) const;
  // The model with the layers `plan` marks float kept float, every other layer int8 (the active engine).
  torch::jit::Module convert(const BitPlan& plan) const;
};

// A calibrated observed module of `folded` on `inputs`, fx's observers.
torch::jit::Module calibratedObserved(const AnalysisSession& session, const torch::Tensor& inputs);

}  // namespace quantscope
