#pragma once
// Post-training calibration for LibTorch's graph-mode passes. Observers are TorchScript modules that
// record statistics during calibration forwards (min/max or a moving average; a histogram that grows with
// the range, in the same single pass); their quantization parameters are then computed here in C++ and
// stored on the observer, whose calculate_qparams() InsertQuantDeQuant calls. Numerics follow
// torch.ao.quantization.observer (1.13).
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
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
  // Below 8: the b-bit grid inside the int8 type, as quant_min/quant_max: [0, 2^b-1] for quint8
  // activations, [-2^(b-1), 2^(b-1)-1] for qint8 weights (reduce_range then has no further effect).
  int bits = 8;
};

torch::jit::Module makeCalibrationObserver(const CalibrationObserverSpec& spec);
bool isCalibrationObserver(const torch::jit::Module& module);

// A qconfig of calibration observers: activations quint8 affine (`activationKind`), weights qint8 symmetric
// (oneDNN needs zero-point-0 weights; PyTorch's default weight observers agree), each on its bit grid.
struct CalibrationQConfigSpec {
  bool perChannelWeights = true;
  bool reduceRangeActivations = false;
  ObserverKind activationKind = ObserverKind::Histogram;
  double percentile = 99.99;
  int weightBits = 8;
  int activationBits = 8;
};
torch::jit::QConfig makeCalibrationQConfig(const CalibrationQConfigSpec& spec);

struct FloatLayerOutputs;

// Runs one calibration pass over `inputs` (batches of samples) through a module that InsertObservers
// prepared, then stores every observer's qparams. Throws Error when no observer saw data. With
// `firstBatchOutputs`, the float layers' outputs on the first batch are kept there as well (the reference
// of the per-layer output report; the observers pass every value through unchanged).
void calibrate(torch::jit::Module& observed, const torch::Tensor& inputs, int64_t batchSize,
               const Progress& progress, FloatLayerOutputs* firstBatchOutputs = nullptr);
// Recomputes every calibrated observer's qparams from the statistics it kept, e.g. after its `bits`
// attribute changed: one calibration serves every bit-width of a layer.
void computeObserverQParams(torch::jit::Module& observed);
// The b-bit grid of an activation observer below 8 bits, by the qparams it computed: after Finalize the
// int8 ops carry these scale/zero-point constants, and their outputs are clamped to [qmin, qmax].
struct ActivationGrid {
  float scale = 0;
  int64_t zeroPoint = 0;
  int64_t qmin = 0, qmax = 255;
};
std::vector<ActivationGrid> reducedActivationGrids(const torch::jit::Module& observed);
// The [quant_min, quant_max] an observer of this dtype, range reduction and bit-width quantizes to.
std::pair<int64_t, int64_t> quantRange(int64_t dtype, bool reduceRange, int bits);

// L2-optimal clipping range of a histogram, as HistogramObserver._non_linear_param_search.
std::pair<double, double> histogramL2Range(const std::vector<double>& histogram, double minVal, double maxVal,
                                           int64_t destinationBins);

}  // namespace quantscope
