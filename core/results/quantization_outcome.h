#pragma once
// What a quantization technique returns: the new model and an account of what was done to it.
#include <map>
#include <string>
#include <vector>

#include "core/model/model.h"
#include "core/progress.h"
#include "core/search/mixed_precision_report.h"

namespace quantscope {

using ParamValues = std::map<std::string, std::string>;

struct LayerQuantization {
  std::string layer;   // qualified module name, or the graph op when the layer has no module
  std::string opKind;  // "Linear", "Conv2d", "LSTM", ...
  bool quantized = false;
  std::string packedAs;     // where the int8 weight lives in the quantized model (attribute path)
  std::string scheme;       // "qint8 per-tensor symmetric, scale 0.0123" or the reason it stayed float
  double weightSqnrDb = 0;  // SQNR of the dequantized weight against the float weight
  bool hasWeightSqnr = false;
  // SQNR of this layer's output against the float model's same layer, on calibration samples.
  double outputSqnrDb = 0;
  bool hasOutputSqnr = false;
  // Pruning: fraction of weights that are zero in the float weights and, once quantized, equal to the
  // zero point in the int8 weights; negative when not measured. Output channels physically removed.
  double sparsity = -1;
  double int8Sparsity = -1;
  int64_t channelsRemoved = 0;
  // Histograms of the float and the dequantized weight over the same bins (empty when not quantized).
  double histogramMin = 0, histogramMax = 0;
  std::vector<int64_t> floatHistogram, quantizedHistogram;
  // Mixed precision: the layer's weight and output-activation bits (0: not set by the technique, read as
  // the technique's int8; -1 weight bits: the layer stays float).
  int weightBits = 0;
  int activationBits = 0;
};

// One post-training accuracy step's effect on one layer (equalization, bias correction, AdaRound): what it
// changed and the layer's output SQNR against the float layer before and after it, on calibration samples.
struct AccuracyStepChange {
  std::string step;    // "equalization", "high-bias absorption", "bias correction", "adaround"
  std::string layer;   // qualified module name
  std::string change;  // e.g. "scaled 32 channels by 0.41..2.7 with features.1.conv", "bias shifted by 0.013"
  double outputSqnrBeforeDb = 0;
  double outputSqnrAfterDb = 0;
  bool hasOutputSqnr = false;
};

struct QuantizationOutcome {
  Model model;
  std::string technique;
  ParamValues params;
  std::string recipe;  // the qconfig recipe that picked the numerics: "fbgemm", "qnnpack", ...
  std::string engine;  // the quantized engine whose kernels run it: "onednn", "qnnpack"
  std::vector<LayerQuantization> layers;
  std::vector<std::string> notes;                 // anything the user should know about this run
  bool simulated = false;                         // true for fake-quantized (sub-8-bit) results
  TrainingCurve trainingCurve;                    // training techniques: every step and epoch, per series
  std::vector<ResultFigure> figures;              // technique-specific measured figures
  MixedPrecisionReport mixedPrecision;            // mixed: sensitivity and the search's configurations
  std::vector<AccuracyStepChange> accuracySteps;  // PTQ accuracy steps that ran, in order, per layer
};

}  // namespace quantscope
