#pragma once
// Per-layer sensitivity: for each quantizable layer and each candidate weight bit-width, the metric of the
// model with only that layer's weights quantized (on the int8 kernels) and every other layer's weights
// float; activations are int8 where `fx` puts them, the same in every row (LibTorch 1.13's graph passes
// cannot quantize one layer alone inside repeated blocks, PyTorch's quantize_jit neither), so rows differ
// only by the layer's weights. The baseline (every weight float) is measured too. One calibration serves
// every row: observers keep their statistics and qparams are recomputed per grid.
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
  PlanMeasurement activationsOnly;  // every weight float, activations int8: what every row includes
  int layersDone = 0;
  bool cancelled = false;  // a cancel request was taken: `rows` holds the layers finished before it
};

// Reports progress per layer; a cancel stops after the current row and keeps the rows so far. A layer the
// passes cannot quantize alone gets no rows (its reason in `skipped`).
SensitivityResult measureSensitivity(const SensitivityJob& job, const Progress& progress,
                                     std::vector<std::string>& skipped);

}  // namespace quantscope
