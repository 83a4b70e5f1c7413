#pragma once
// The post-training accuracy steps `equalize` and `bias_correction` as the PTQ techniques (static, fx,
// mixed) run them: cross-layer equalization on the folded float module before observers, bias correction on
// the converted int8 model after Finalize, and their per-layer account (QuantizationOutcome::accuracySteps:
// what changed, the layer's output SQNR before and after the step on calibration samples) and run notes.
// Internal: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/quant/bias_correction.h"
#include "core/quant/cross_layer_equalization.h"
#include "core/results/quantization_outcome.h"

namespace quantscope {

// The steps' per-layer entries and run notes, until the outcome they go into exists.
struct AccuracyStepRecord {
  std::vector<AccuracyStepChange> steps;
  std::vector<std::string> notes;
  // Appends the notes before the outcome's last note (the recipe line stays last) and sets its steps.
  void moveInto(QuantizationOutcome& outcome);
};

struct AccuracyStepOptions {
  bool equalize = false;
  bool relu6ToRelu = false;            // with equalize: ReLU6 replaced by ReLU first
  std::string biasCorrection = "off";  // off | empirical | analytical
  bool any() const { return equalize || biasCorrection != "off"; }
};
AccuracyStepOptions accuracyStepOptions(const ParamValues& params);

// What the float side of the steps leaves for the int8 side.
struct EqualizedFloat {
  bool equalized = false;
  EqualizationResult equalization;
  int relu6Replaced = 0;  // relu6_to_relu: ops replaced, and how far the float model moved
  double relu6OutputSqnrDb = 0;
  int64_t relu6Samples = 0;
  std::map<std::string, BatchNormStats> batchNorms;  // after each layer, as the folded layers now produce
};

// Reads the batch norms of `original` (they are gone from `folded`) when a step needs them, and equalizes
// `folded` in place when asked (replacing ReLU6 first when asked, with the float output SQNR of the result
// against `original` on `samples`).
EqualizedFloat equalizeIfAsked(const AccuracyStepOptions& options, const torch::jit::Module& original,
                               torch::jit::Module& folded, const torch::Tensor& samples);

// Each quantized layer's output SQNR (dB) against the float model's same layer, on `samples`.
std::map<std::string, double> layerOutputSqnrs(const torch::jit::Module& floatModel,
                                               const torch::jit::Module& quantized,
                                               const torch::Tensor& samples);

// The equalization and absorption entries: `plain` is the per-layer SQNR of the same recipe without
// equalization, `equalized` with it (before any bias correction).
void recordEqualization(const EqualizedFloat& equalized, const std::map<std::string, double>& plain,
                        const std::map<std::string, double>& equalizedSqnr, AccuracyStepRecord& record);

// Bias correction when asked, on `quantized` in place (packed params rewritten), with its entries and note.
// `floatModel` is the float model quantized (folded, equalized when asked); `calibration` the samples the
// empirical kind measures on; `reportSamples` those the per-layer SQNR uses.
void correctBiasIfAsked(const AccuracyStepOptions& options, torch::jit::Module& quantized,
                        const torch::jit::Module& floatModel, const EqualizedFloat& equalized,
                        const torch::Tensor& calibration, const torch::Tensor& reportSamples,
                        const Progress& progress, AccuracyStepRecord& record);

// How many calibration samples empirical bias correction measures on: as many of `available` as hold about
// four million input values, at least 16.
int64_t biasCorrectionSamples(int64_t valuesPerSample, int64_t available);

}  // namespace quantscope
