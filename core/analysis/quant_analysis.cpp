#include "core/analysis/quant_analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/analysis/analysis_session.h"
#include "core/analysis/calibration_stability.h"
#include "core/analysis/four_way_comparison.h"
#include "core/analysis/quantization_ranges.h"
#include "core/analysis/quantizer_sweeps.h"
#include "core/analysis/recommendation.h"
#include "core/analysis/simulated_vs_real.h"
#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/layer_outputs.h"
#include "core/internal/model_impl.h"
#include "core/quant/fake_quant.h"
#include "core/quant/post_training_pipeline.h"
#include "core/runtime/runtime_info.h"

namespace quantscope {
namespace {

// The parameters of fx that define plain post-training quantization: recipe, engine and calibration.
const std::vector<std::string>& recipeParamNames() {
  static const std::vector<std::string> names{"qconfig", "engine", "observer", "calib_samples", "percentile"};
  return names;
}

ParamValues resolveRecipe(const ParamValues& given) {
  for (const auto& [key, value] : given) {
    if (std::find(recipeParamNames().begin(), recipeParamNames().end(), key) == recipeParamNames().end()) {
      std::string names;
      for (const auto& n : recipeParamNames()) names += (names.empty() ? "" : ", ") + n;
      throw Error("The analyzer has no parameter '" + key + "'.", "Its parameters: " + names + ".");
    }
  }
  ParamValues resolved = TechniqueRegistry::instance().resolveParams("fx", given);
  ParamValues recipe;
  for (const auto& name : recipeParamNames()) recipe[name] = resolved.at(name);
  return recipe;
}

class PartTimer {
 public:
  explicit PartTimer(QuantAnalysis& analysis) : analysis_(analysis) {}
  void done(const std::string& part) {
    const auto now = std::chrono::steady_clock::now();
    analysis_.seconds.emplace_back(part, std::chrono::duration<double>(now - start_).count());
    start_ = now;
  }

 private:
  QuantAnalysis& analysis_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

std::vector<ParamSpec> quantAnalysisParams() {
  std::vector<ParamSpec> params;
  for (const ParamSpec& spec : postTrainingParams()) {
    if (std::find(recipeParamNames().begin(), recipeParamNames().end(), spec.name) !=
        recipeParamNames().end())
      params.push_back(spec);
  }
  return params;
}

std::string Recommendation::paramText() const {
  std::string text;
  for (const auto& [key, value] : params) text += (text.empty() ? "" : " ") + key + "=" + value;
  return text;
}

AnalysisMeasurement AnalysisSession::measure(torch::jit::Module& module, const PlanEvaluator& on) const {
  const PlanMeasurement m = on.measure(module, /*withFileSize=*/false);
  return {m.metric, on.floatMetric() - m.metric, m.sqnrDb};
}

torch::jit::Module AnalysisSession::convert(const BitPlan& plan) const {
  return convertPlan(observed, folded, plan).module;
}

torch::jit::Module calibratedObserved(const AnalysisSession& session, const torch::Tensor& inputs) {
  torch::jit::Module observed = observeForPlan(session.folded, session.allInt8, session.settings);
  calibrate(observed, inputs, kAnalysisCalibrationBatch, Progress{});
  return observed;
}

QuantAnalysis analyzeQuantization(const Model& model, const Dataset& calibration, const Dataset* evaluation,
                                  const QuantAnalysisOptions& options, const Progress& progress) {
  if (options.stabilityRuns < 2)
    throw Error("Calibration stability needs at least 2 runs; " + std::to_string(options.stabilityRuns) +
                " were asked for.");
  if (options.evalSamples < 1 || options.sweepSamples < 1)
    throw Error("The analyzer needs at least one evaluation sample.");
  QuantAnalysis analysis;
  analysis.recipe = resolveRecipe(options.recipe);
  analysis.modelName = model.displayName();
  analysis.outlierFactor = options.outlierFactor;
  analysis.gapThresholdDb = options.gapThresholdDb;
  calibration.checkFits(model);
  const Dataset& measuredOn = evaluation ? *evaluation : calibration;
  if (evaluation) {
    evaluation->checkFits(model);
  } else {
    analysis.notes.push_back("No evaluation data was given: the metric is measured on the calibration data.");
  }
  analysis.dataName = measuredOn.info().name;
  analysis.calibrationName = calibration.info().name;

  RuntimeScope runtimeScope;  // the engine switches below end with the analysis
  configureRuntime(0);
  AnalysisSession session;
  session.engine = useQuantizedEngine(analysis.recipe.at("engine"));
  const RuntimeInfo runtime = currentRuntimeInfo();
  for (const auto& engine : runtime.availableEngines)
    if (engine != session.engine && (engine == "onednn" || engine == "qnnpack")) session.otherEngine = engine;
  analysis.engine = session.engine;
  analysis.otherEngine = session.otherEngine;
  session.recipe = &qconfigRecipe(analysis.recipe.at("qconfig"));
  analysis.perChannelWeights = session.recipe->perChannelWeights;
  const std::string observerName =
      analysis.recipe.at("observer") == "default" ? "histogram" : analysis.recipe.at("observer");
  session.settings.observer = parseObserverKind(observerName);
  session.settings.perChannelWeights = session.recipe->perChannelWeights;
  session.settings.reduceRangeActivations = session.recipe->reduceRangeActivations;
  session.settings.percentile = std::stod(analysis.recipe.at("percentile"));
  analysis.calibrationSamples =
      std::min<int64_t>(std::stoll(analysis.recipe.at("calib_samples")), calibration.info().size);
  session.calibrationInputs = calibration.impl().inputs.slice(0, 0, analysis.calibrationSamples);

  PartTimer timer(analysis);
  progress.update("Analyzer: folding batch norms and calibrating", 0.0);
  try {
    session.folded = foldedFloatCopy(model.impl().module);
  } catch (const std::exception& e) {
    throw Error("The analyzer failed in LibTorch's graph passes: " + shortTorchMessage(e));
  }
  session.layers = quantizableLayers(session.folded);
  if (session.layers.empty()) throw Error("The model has no Conv or Linear layer to analyze.");
  for (const auto& layer : session.layers) session.allInt8.emplace_back(layer, LayerBits{8, 8});
  session.observed = calibratedObserved(session, session.calibrationInputs);

  analysis.evalSamples = std::min<int64_t>(options.evalSamples, measuredOn.info().size);
  analysis.sweepSamples = std::min(options.sweepSamples, analysis.evalSamples);
  const torch::Tensor inputs = measuredOn.impl().inputs.slice(0, 0, analysis.evalSamples);
  const torch::Tensor labels = measuredOn.impl().labels.defined()
                                   ? measuredOn.impl().labels.slice(0, 0, analysis.evalSamples)
                                   : torch::Tensor();
  session.evaluator = std::make_unique<PlanEvaluator>(session.folded, inputs, labels);
  session.sweepEvaluator = std::make_unique<PlanEvaluator>(
      session.folded, inputs.slice(0, 0, analysis.sweepSamples),
      labels.defined() ? labels.slice(0, 0, analysis.sweepSamples) : torch::Tensor());
  analysis.metricName = session.evaluator->metricName();
  torch::jit::Module int8Model = session.convert(session.allInt8);
  timer.done("calibration and conversion");

  progress.update("Analyzer: fp32, weights only, activations only, full int8", 0.05);
  analysis.fourWay = compareFourWays(session, int8Model);
  timer.done("four-way comparison");

  QuantizerSweeps sweeps = sweepQuantizers(session, int8Model, progress.part(0.1, 0.6));
  analysis.sweepBaseline = sweeps.baseline;
  analysis.enableOne = std::move(sweeps.enableOne);
  analysis.disableOne = std::move(sweeps.disableOne);
  analysis.worstLayers = std::move(sweeps.worstLayers);
  analysis.notes.insert(analysis.notes.end(), sweeps.notes.begin(), sweeps.notes.end());
  timer.done("per-quantizer sweeps");

  progress.update("Analyzer: simulated vs real per layer", 0.6);
  const int64_t layerSamples = layerOutputSamples(session.calibrationInputs[0].numel(),
                                                  std::min<int64_t>(analysis.calibrationSamples, 32));
  SimulatedVsReal simVsReal = compareSimulatedWithReal(
      session, int8Model, session.calibrationInputs.slice(0, 0, layerSamples), options.gapThresholdDb);
  analysis.simulatedVsReal = std::move(simVsReal.layers);
  analysis.notes.insert(analysis.notes.end(), simVsReal.notes.begin(), simVsReal.notes.end());
  timer.done("simulated vs real");

  analysis.stability = measureCalibrationStability(session, calibration.impl().inputs, options.stabilityRuns,
                                                   options.seed, progress.part(0.7, 0.95));
  timer.done("calibration stability");

  progress.update("Analyzer: weight and activation ranges", 0.95);
  analysis.ranges = measureRanges(session, int8Model, options.outlierFactor);
  timer.done("ranges");

  analysis.recommendation = recommend(analysis);
  analysis.notes.push_back("Calibrated on " + std::to_string(analysis.calibrationSamples) + " samples of " +
                           analysis.calibrationName + " with " + observerName +
                           " activation observers, as fx does; " +
                           recipeNote(*session.recipe, session.engine));
  progress.update("Analyzed", 1.0);
  return analysis;
}

}  // namespace quantscope
