#pragma once
// Per-layer sensitivity: for each quantizable layer and each candidate weight bit-width, the metric of the
// model with only that layer quantized (on the int8 kernels) and every other layer float. One calibration
// per layer serves all its bit-widths (observers keep their statistics; qparams are recomputed per grid).
// Internal: includes LibTorch.
#include <torch/script.h>

#include <functional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/quant/mixed_precision_model.h"
#include "core/search/mixed_precision_report.h"
#include "core/search/plan_evaluator.h"

namespace quantscope {

struct SensitivityJob {
  torch::jit::Module folded;  // batch norms folded
  MixedPrecisionSettings settings;
  torch::Tensor calibrationInputs;
  const PlanEvaluator* evaluator = nullptr;
  std::vector<std::string> layers;
  std::vector<int> candidateBits;
};

struct SensitivityResult {
  std::vector<SensitivityRow> rows;
  int layersDone = 0;
  bool cancelled = false;  // a cancel request was taken: `rows` holds the layers finished before it
};

// Reports progress per layer; a cancel stops after the current row and keeps the rows so far. A layer the
// passes cannot quantize alone gets no rows (its reason in `skipped`).
SensitivityResult measureSensitivity(const SensitivityJob& job, const Progress& progress,
                                     std::vector<std::string>& skipped);

}  // namespace quantscope
