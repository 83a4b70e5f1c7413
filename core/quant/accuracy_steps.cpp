#include "core/quant/accuracy_steps.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/errors.h"
#include "core/internal/layer_outputs.h"
#include "core/internal/weight_report.h"
#include "core/quant/fake_quant.h"
#include "core/technique_registry.h"

namespace quantscope {
namespace {

std::string formatNumber(double value, const char* pattern = "%.3g") {
  char text[32];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

void setSqnr(AccuracyStepChange& step, const std::map<std::string, double>& before,
             const std::map<std::string, double>& after) {
  const auto b = before.find(step.layer), a = after.find(step.layer);
  if (b == before.end() || a == after.end()) return;
  step.outputSqnrBeforeDb = b->second;
  step.outputSqnrAfterDb = a->second;
  step.hasOutputSqnr = true;
}

}  // namespace

void AccuracyStepRecord::moveInto(QuantizationOutcome& outcome) {
  outcome.notes.insert(outcome.notes.empty() ? outcome.notes.end() : outcome.notes.end() - 1, notes.begin(),
                       notes.end());
  outcome.accuracySteps.insert(outcome.accuracySteps.end(), steps.begin(), steps.end());
  notes.clear();
  steps.clear();
}

AccuracyStepOptions accuracyStepOptions(const ParamValues& params) {
  AccuracyStepOptions options;
  const auto equalize = params.find("equalize");
  options.equalize = equalize != params.end() && equalize->second == "true";
  const auto relu6 = params.find("relu6_to_relu");
  options.relu6ToRelu = relu6 != params.end() && relu6->second == "true";
  if (options.relu6ToRelu && !options.equalize)
    throw Error("relu6_to_relu=true replaces ReLU6 for equalization: it needs equalize=true as well.");
  const auto bias = params.find("bias_correction");
  if (bias != params.end()) options.biasCorrection = bias->second;
  return options;
}

int64_t biasCorrectionSamples(int64_t valuesPerSample, int64_t available) {
  return std::min(available,
                  std::max<int64_t>(16, (int64_t{1} << 22) / std::max<int64_t>(1, valuesPerSample)));
}

EqualizedFloat equalizeIfAsked(const AccuracyStepOptions& options, const torch::jit::Module& original,
                               torch::jit::Module& folded, const torch::Tensor& samples) {
  EqualizedFloat result;
  if (options.equalize || options.biasCorrection == "analytical")
    result.batchNorms = batchNormsAfterLayers(dedupedFloatCopy(original));
  if (options.equalize && options.relu6ToRelu) {
    result.relu6Replaced = replaceRelu6WithRelu(folded);
    // How far the float model moved: its output against the original's, before any rescaling (which
    // keeps the function).
    torch::NoGradGuard noGrad;
    const torch::Tensor reference =
        const_cast<torch::jit::Module&>(original).forward({samples}).toTensor().to(torch::kDouble);
    const torch::Tensor replaced = folded.forward({samples}).toTensor().to(torch::kDouble);
    const double noise = (reference - replaced).pow(2).sum().item<double>();
    result.relu6OutputSqnrDb = noise > 0 ? 10.0 * std::log10(reference.pow(2).sum().item<double>() / noise)
                                         : std::numeric_limits<double>::infinity();
    result.relu6Samples = samples.size(0);
  }
  if (options.equalize) {
    result.equalization = equalizeCrossLayer(folded, result.batchNorms);
    result.equalized = true;
  }
  return result;
}

std::map<std::string, double> layerOutputSqnrs(const torch::jit::Module& floatModel,
                                               const torch::jit::Module& quantized,
                                               const torch::Tensor& samples) {
  std::vector<LayerQuantization> layers =
      reportWeightQuantization(floatModel, quantized, convAndLinearTypes());
  addLayerOutputSqnr(floatModel, quantized, samples, layers);
  std::map<std::string, double> sqnr;
  for (const auto& layer : layers)
    if (layer.hasOutputSqnr) sqnr[layer.layer] = layer.outputSqnrDb;
  return sqnr;
}

void recordEqualization(const EqualizedFloat& equalized, const std::map<std::string, double>& plain,
                        const std::map<std::string, double>& equalizedSqnr, AccuracyStepRecord& record) {
  if (!equalized.equalized) return;
  const EqualizationResult& r = equalized.equalization;
  for (const EqualizedPair& pair : r.pairs) {
    const std::string scales = formatNumber(1.0 / pair.scaleMax) + ".." + formatNumber(1.0 / pair.scaleMin);
    AccuracyStepChange first{"equalization", pair.first,
                             std::to_string(pair.channels) + " output channels scaled by " + scales +
                                 " with " + pair.second + "; channel range max/min " +
                                 formatNumber(pair.firstRatioBefore) + " -> " +
                                 formatNumber(pair.firstRatioAfter)};
    setSqnr(first, plain, equalizedSqnr);
    record.steps.push_back(first);
    AccuracyStepChange second{
        "equalization", pair.second,
        std::to_string(pair.channels) + " input channels scaled by " + formatNumber(pair.scaleMin) + ".." +
            formatNumber(pair.scaleMax) + " with " + pair.first + "; channel range max/min " +
            formatNumber(pair.secondRatioBefore) + " -> " + formatNumber(pair.secondRatioAfter)};
    setSqnr(second, plain, equalizedSqnr);
    record.steps.push_back(second);
  }
  for (const AbsorbedBias& absorbed : r.absorbed) {
    AccuracyStepChange step{"high-bias absorption", absorbed.second,
                            "took up to " + formatNumber(absorbed.maxShift) + " from " +
                                std::to_string(absorbed.channels) + " channels of " + absorbed.first +
                                "'s bias (c = max(0, beta - 3|gamma|))"};
    setSqnr(step, plain, equalizedSqnr);
    record.steps.push_back(step);
  }
  std::string relu6;
  if (equalized.relu6Replaced > 0) {
    relu6 = " ReLU6 replaced by ReLU in " + std::to_string(equalized.relu6Replaced) +
            " places first (relu6_to_relu): the float model with ReLU has output SQNR " +
            (std::isinf(equalized.relu6OutputSqnrDb) ? std::string("inf (no activation exceeded 6)")
                                                     : formatNumber(equalized.relu6OutputSqnrDb, "%.1f")) +
            " dB against the original on " + std::to_string(equalized.relu6Samples) +
            " calibration samples; per-layer SQNRs compare with the ReLU model.";
  }
  record.notes.push_back(
      r.note() + relu6 +
      " Output SQNR per layer before/after: the same recipe without equalization and with it.");
}

void correctBiasIfAsked(const AccuracyStepOptions& options, torch::jit::Module& quantized,
                        const torch::jit::Module& floatModel, const EqualizedFloat& equalized,
                        const torch::Tensor& calibration, const torch::Tensor& reportSamples,
                        const Progress& progress, AccuracyStepRecord& record) {
  if (options.biasCorrection == "off") return;
  const std::vector<LayerQuantization> layers =
      reportWeightQuantization(floatModel, quantized, convAndLinearTypes());
  const std::map<std::string, double> before = layerOutputSqnrs(floatModel, quantized, reportSamples);
  BiasCorrectionResult result;
  if (options.biasCorrection == "empirical") {
    const int64_t samples = biasCorrectionSamples(
        calibration.numel() / std::max<int64_t>(1, calibration.size(0)), calibration.size(0));
    result =
        correctBiasEmpirically(quantized, floatModel, layers, calibration.slice(0, 0, samples), progress);
  } else {
    result = correctBiasAnalytically(quantized, floatModel, layers, equalized.batchNorms);
  }
  const std::map<std::string, double> after = layerOutputSqnrs(floatModel, quantized, reportSamples);
  for (const LayerBiasCorrection& layer : result.layers) {
    AccuracyStepChange step{"bias correction", layer.layer, layer.change()};
    if (layer.corrected) setSqnr(step, before, after);
    record.steps.push_back(step);
  }
  record.notes.push_back(result.note(options.biasCorrection));
}

}  // namespace quantscope
