#pragma once
// Post-training calibration for LibTorch's graph-mode passes. Observers are TorchScript modules that
// record statistics during calibration forwards (min/max or a moving average; a histogram in a second
// pass); their quantization parameters are then computed here in C++ and stored on the observer, whose
// calculate_qparams() InsertQuantDeQuant calls. Numerics follow torch.ao.quantization.observer (1.13).
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/progress.h"

namespace quantscope {

enum class ObserverKind { MinMax, MovingAverageMinMax, Histogram, Percentile };

ObserverKind parseObserverKind(
    const std::string& name);  // minmax, moving_average_minmax, histogram, percentile

struct CalibrationObserverSpec {
  bool isWeight = false;
  int64_t dtype = 0;  // c10::ScalarType code: QUInt8 for activations, QInt8 for weights
  bool symmetric = false;
  bool perChannel = false;  // weights only, channel axis 0
  bool reduceRange = false;
  ObserverKind kind = ObserverKind::MinMax;
  double percentile = 99.99;  // Percentile kind: clip to this upper (and 100 - it lower) percentile
};

torch::jit::Module makeCalibrationObserver(const CalibrationObserverSpec& spec);

// Runs the calibration passes over `inputs` (batches of samples) through a module that InsertObservers
// prepared, then stores every observer's qparams. Throws Error when no observer saw data.
void calibrate(torch::jit::Module& observed, const torch::Tensor& inputs, int64_t batchSize,
               const Progress& progress);

// L2-optimal clipping range of a histogram, as HistogramObserver._non_linear_param_search.
std::pair<double, double> histogramL2Range(const std::vector<double>& histogram, double minVal, double maxVal,
                                           int64_t destinationBins);

}  // namespace quantscope
