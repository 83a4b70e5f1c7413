#include "core/quant/post_training_pipeline.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/calibration.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/internal/qconfig_recipe.h"
#include "core/quant/accuracy_steps.h"
#include "core/quant/adaround.h"
#include "core/quant/embedding_quantization.h"
#include "core/quant/fake_quant.h"
#include "core/quant/int8_outcome.h"
#include "core/runtime/runtime_info.h"

namespace quantscope {

std::vector<ParamSpec> recipeAndEngineParams() {
  return {
      qconfigParam(
          "Numerics recipe as get_default_qconfig: fbgemm/x86 per-channel weights and 7-bit activations, "
          "qnnpack per-tensor weights, onednn per-channel weights and 8-bit activations. Kernels run on the "
          "best engine."),
      engineParam(),
  };
}

std::vector<ParamSpec> postTrainingParams() {
  std::vector<ParamSpec> params = recipeAndEngineParams();
  params.insert(params.end(),
                {
                    {"observer",
                     ParamType::Choice,
                     "default",
                     0,
                     0,
                     {"default", "minmax", "moving_average_minmax", "histogram", "percentile"},
                     "How activation ranges are chosen. default: the recipe's (histogram, as PyTorch). "
                     "histogram minimizes "
                     "the L2 quantization error; percentile clips outliers; minmax keeps every value."},
                    {"calib_samples",
                     ParamType::Int,
                     "256",
                     1,
                     1000000,
                     {},
                     "Calibration samples taken from the calibration data (all of it when it has fewer)."},
                    {"percentile",
                     ParamType::Float,
                     "99.99",
                     90.0,
                     100.0,
                     {},
                     "Upper percentile kept by the percentile observer."},
                });
  for (auto& p : accuracyStepParams()) params.push_back(std::move(p));
  for (auto& p : adaroundParams()) params.push_back(std::move(p));
  return params;
}

namespace {

constexpr int64_t kCalibrationBatch = 32;

// The qconfig of every module the scope quantizes: the whole graph, or each Conv/Linear module alone.
torch::jit::QConfigDict qconfigsFor(const torch::jit::Module& folded, const torch::jit::QConfig& qconfig,
                                    PostTrainingScope scope) {
  torch::jit::QConfigDict qconfigs;
  if (scope == PostTrainingScope::WholeGraph) {
    qconfigs[""] = qconfig;
    return qconfigs;
  }
  for (const auto& sub : folded.named_modules()) {
    if (std::count(convAndLinearTypes().begin(), convAndLinearTypes().end(), shortTypeName(sub.value)))
      qconfigs[sub.name] = qconfig;
  }
  if (qconfigs.empty()) {
    throw Error("The model has no Conv or Linear module for static quantization; nothing was written.");
  }
  return qconfigs;
}

torch::jit::QConfig calibrationQConfig(const QConfigRecipe& recipe, ObserverKind observer,
                                       const ParamValues& params) {
  CalibrationQConfigSpec spec;
  spec.perChannelWeights = recipe.perChannelWeights;
  spec.reduceRangeActivations = recipe.reduceRangeActivations;
  spec.activationKind = observer;
  spec.percentile = std::stod(params.at("percentile"));
  return makeCalibrationQConfig(spec);
}

// The folded float model (the report's reference) and its int8 conversion, calibrated on `inputs`.
struct ConvertedModules {
  torch::jit::Module folded;
  torch::jit::Module quantized;
};

// `folded` (batch norms folded, equalized when asked) through observers, calibration on `inputs` and
// conversion.
torch::jit::Module convertThroughGraphPasses(const torch::jit::Module& folded,
                                             const torch::jit::QConfig& qconfig, PostTrainingScope scope,
                                             const torch::Tensor& inputs, const std::string& engine,
                                             const Progress& progress, FloatLayerOutputs* floatLayerOutputs) {
  const torch::jit::QConfigDict qconfigs = qconfigsFor(folded, qconfig, scope);
  progress.update("Inserting observers", 0.05);
  torch::jit::Module observed =
      torch::jit::InsertObservers(const_cast<torch::jit::Module&>(folded), "forward", qconfigs,
                                  /*inplace=*/false, torch::jit::QuantType::STATIC);
  calibrate(observed, inputs, kCalibrationBatch, progress.part(0.05, 0.85), floatLayerOutputs);
  progress.update("Inserting quantize/dequantize", 0.87);
  torch::jit::Module withQuantOps =
      torch::jit::InsertQuantDeQuant(observed, "forward", /*inplace=*/false,
                                     /*debug=*/false, torch::jit::QuantType::STATIC);
  progress.update("Fusing and packing int8 kernels for " + engine, 0.92);
  return torch::jit::Finalize(withQuantOps, torch::jit::QuantType::STATIC);
}

}  // namespace

QuantizationOutcome quantizePostTraining(const PostTrainingRequest& request) {
  const Model& model = *request.model;
  const ParamValues& params = *request.params;
  const TechniqueContext& context = *request.context;
  const std::string& technique = request.technique;
  const Progress& progress = context.progress;
  if (!context.calibrationData) {
    throw Error("'" + technique + "' quantization needs calibration data; none was given.",
                "Choose calibration data (e.g. the training split, or the test data).");
  }
  const QConfigRecipe& recipe = qconfigRecipe(params.at("qconfig"));
  const std::string observerName = params.at("observer") == "default" ? "histogram" : params.at("observer");
  const ObserverKind observer = parseObserverKind(observerName);
  const EmbeddingWeights embeddings = embeddingWeightsOf(params);
  const Dataset& calibration = *context.calibrationData;
  calibration.checkFits(model);
  const int64_t samples = std::min<int64_t>(std::stoll(params.at("calib_samples")), calibration.info().size);
  configureRuntime(0);
  useQuantizedEngine(params.at("engine"));  // weights are packed for the engine active at Finalize
  const RuntimeInfo runtime = currentRuntimeInfo();

  // The per-layer output report compares on the first calibration samples, whose float layer outputs the
  // calibration pass keeps.
  const int64_t reportSamples =
      layerOutputSamples(calibration.impl().inputs[0].numel(), std::min<int64_t>(samples, kCalibrationBatch));
  FloatLayerOutputs floatLayerOutputs;
  floatLayerOutputs.samples = reportSamples;
  ConvertedModules modules;
  const AccuracyStepOptions steps = accuracyStepOptions(params);
  EqualizedFloat equalized;
  std::map<std::string, double> plainSqnr;  // equalize: each layer's output SQNR without it
  const torch::Tensor calibrationInputs = calibration.impl().inputs.slice(0, 0, samples);
  const torch::Tensor reportInputs = calibration.impl().inputs.slice(0, 0, reportSamples);
  try {
    progress.update("Folding batch norms", 0.02);
    modules.folded = foldedFloatCopy(model.impl().module);
    const torch::jit::QConfig qconfig = calibrationQConfig(recipe, observer, params);
    equalized = equalizeIfAsked(steps, model.impl().module, modules.folded, reportInputs);
    if (equalized.equalized) {
      // The same recipe without equalization, for each layer's output SQNR before the step.
      const torch::jit::Module plainFolded = foldedFloatCopy(model.impl().module);
      const torch::jit::Module plain =
          convertThroughGraphPasses(plainFolded, qconfig, request.scope, calibrationInputs,
                                    runtime.quantizedEngine, Progress{}, nullptr);
      plainSqnr = layerOutputSqnrs(plainFolded, plain, reportInputs);
    }
    modules.quantized = convertThroughGraphPasses(modules.folded, qconfig, request.scope, calibrationInputs,
                                                  runtime.quantizedEngine, progress, &floatLayerOutputs);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("'" + technique +
                "' quantization failed in LibTorch's graph passes: " + shortTorchMessage(e));
  }
  auto graph = modules.quantized.get_method("forward").graph();
  torch::jit::ConstantPropagation(graph);
  const EmbeddingRewrite embeddingRewrite = quantizeEmbeddings(modules.quantized, embeddings);
  torch::jit::EliminateDeadCode(graph);
  AccuracyStepResult adaround;
  if (adaroundRequested(params)) {
    adaround =
        runAdaRoundStep(modules.quantized, modules.folded, calibration.impl().inputs.slice(0, 0, samples),
                        calibration.impl().inputs.slice(0, 0, reportSamples), &floatLayerOutputs,
                        adaroundSettings(params), progress.part(0.93, 0.97));
  }

  AccuracyStepRecord stepRecord;  // accuracySteps and notes of equalization and bias correction
  if (equalized.equalized)
    recordEqualization(equalized, plainSqnr,
                       layerOutputSqnrs(modules.folded, modules.quantized, reportInputs), stepRecord);
  try {
    correctBiasIfAsked(steps, modules.quantized, modules.folded, equalized, calibrationInputs, reportInputs,
                       progress.part(0.93, 0.97), stepRecord);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("'" + technique + "' bias correction failed: " + shortTorchMessage(e));
  }

  progress.update("Comparing each layer's output with the float model", 0.97);
  Int8ModelSource described;
  described.original = &model;
  described.floatReference = modules.folded;
  described.quantized = modules.quantized;
  described.technique = technique;
  described.params = params;
  described.recipe = &recipe;
  described.engine = runtime.quantizedEngine;
  described.record = {{"observer", observerName}, {"embeddings", toString(embeddings)}};
  described.sampleInputs = calibration.impl().inputs.slice(0, 0, reportSamples);
  described.floatLayerOutputs = std::move(floatLayerOutputs);
  QuantizationOutcome outcome = describeInt8Model(described);
  describeEmbeddingLayers(outcome.layers, embeddings);
  if (const std::string note = embeddingNote(embeddingRewrite, embeddings); !note.empty())
    outcome.notes.insert(outcome.notes.end() - 1, note);
  // The recipe line comes last, as it always did.
  const std::string recipeNote = outcome.notes.back();
  outcome.notes.pop_back();
  outcome.notes.push_back("Calibrated on " + std::to_string(samples) + " samples of " +
                          calibration.info().name + " with " + observerName +
                          " activation observers; batch norms folded into convolutions.");
  if (!adaround.note.empty()) outcome.notes.push_back(adaround.note);
  outcome.accuracySteps.insert(outcome.accuracySteps.end(), adaround.changes.begin(), adaround.changes.end());
  outcome.notes.push_back(recipeNote);
  stepRecord.moveInto(outcome);
  progress.update("Quantized", 1.0);
  return outcome;
}

}  // namespace quantscope
