// The recipe: fold batch norms, measure sensitivity (when asked or when searching), search (when asked),
// then build the chosen assignment on the int8 kernels and describe it layer by layer. The machinery lives
// in core/quant/mixed_precision_model (observers per bit grid, packed weights) and core/search/.
#include "core/techniques/mixed_precision_quantization.h"

#include <chrono>
#include <cmath>
#include <set>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/model_impl.h"
#include "core/internal/qconfig_recipe.h"
#include "core/quant/accuracy_steps.h"
#include "core/quant/adaround.h"
#include "core/quant/fake_quant.h"
#include "core/quant/int8_outcome.h"
#include "core/quant/mixed_precision_model.h"
#include "core/quant/post_training_pipeline.h"
#include "core/results/size_report.h"
#include "core/runtime/runtime_info.h"
#include "core/search/bit_width_search.h"
#include "core/search/layer_sensitivity.h"

namespace quantscope {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

std::string joinedLayers(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Everything the run needs, read once from the parameters and the context.
struct MixedRun {
  const QConfigRecipe* recipe = nullptr;
  std::string observerName;
  MixedPrecisionSettings settings;
  torch::jit::Module folded;  // batch norms folded
  std::vector<std::string> layers;
  BitPlan requested;  // bits_weights/bits_activations and layer_bits
  std::vector<int> candidateBits;
  std::string search;
  torch::Tensor calibrationInputs;
  int64_t calibrationSamples = 0;
};

BitPlan planFromOptions(const MixedRun& run, const std::vector<int>& options,
                        const std::vector<int>& choice) {
  BitPlan plan;
  for (size_t l = 0; l < run.layers.size(); ++l) {
    plan.emplace_back(run.layers[l], LayerBits{options[size_t(choice[l])], run.settings.activationBits});
  }
  return plan;
}

MixedPrecisionModel buildPlan(const MixedRun& run, const BitPlan& plan, const Progress& progress,
                              const BeforeLowBitStorage& beforeLowBitStorage = {}) {
  torch::jit::Module observed = observeForPlan(run.folded, plan, run.settings);
  calibrate(observed, run.calibrationInputs, /*batchSize=*/32, progress);
  return convertPlan(observed, run.folded, plan, beforeLowBitStorage);
}

Int8ModelSource int8Source(const MixedRun& run, const Model& model, const ParamValues& params,
                           const std::string& engine, const BitPlan& plan,
                           const torch::jit::Module& quantized) {
  Int8ModelSource source;
  source.original = &model;
  source.floatReference = run.folded;
  source.quantized = quantized;
  source.technique = "mixed";
  source.params = params;
  source.recipe = run.recipe;
  source.engine = engine;
  source.record = {{"observer", run.observerName},
                   {"layer_bits", formatBitPlan(plan, run.settings.activationBits)}};
  return source;
}

void describeLayerBits(QuantizationOutcome& outcome, const BitPlan& plan, const MixedPrecisionModel& built) {
  for (auto& layer : outcome.layers) {
    const auto found =
        std::find_if(plan.begin(), plan.end(), [&](const auto& p) { return p.first == layer.layer; });
    if (found == plan.end()) continue;
    const LayerBits& bits = found->second;
    if (bits.isFloat()) {
      layer.weightBits = -1;
      layer.scheme = "stays float by the bit assignment; quantize/dequantize at its borders";
      continue;
    }
    layer.weightBits = bits.weightBits;
    layer.activationBits = bits.activationBits;
    for (const auto& stored : built.lowBitWeights) {
      if (stored.layer != layer.layer) continue;
      layer.scheme = std::to_string(stored.bits) + "-bit weights packed in the file (" +
                     std::to_string(stored.packedBytes) + " B for " + std::to_string(stored.values) +
                     " values), run on the int8 kernels at reduced range; " + layer.scheme;
    }
    if (bits.activationBits < 8) {
      layer.scheme += "; output activations on a " + std::to_string(bits.activationBits) +
                      "-bit grid (int8 kernel, clamped to " + std::to_string((1 << bits.activationBits) - 1) +
                      ")";
    }
  }
}

SearchSpace searchSpace(const MixedRun& run, const std::vector<SensitivityRow>& rows) {
  SearchSpace space;
  space.layers = run.layers;
  space.options = run.candidateBits;
  space.options.push_back(0);  // float
  for (const auto& layer : run.layers) {
    space.weightCounts.push_back(run.folded.attr(layer).toModule().attr("weight").toTensor().numel());
    std::vector<double> drops;
    for (int bits : space.options) {
      double drop = 0;
      if (bits != 0) {
        // A layer sensitivity could not measure counts as fragile, so the search raises it first.
        drop = 100;
        for (const auto& row : rows) {
          if (row.layer != layer || row.bits != std::to_string(bits)) continue;
          // The measured drop, plus the output noise as a percentage of the signal power: on a sample
          // the model fits perfectly many layers drop 0 pt, and the noise still tells them apart.
          drop = std::max(row.drop, 0.0) + 100.0 * std::pow(10.0, -row.sqnrDb / 10.0);
        }
      }
      drops.push_back(drop);
    }
    space.drop.push_back(drops);
  }
  return space;
}

}  // namespace

std::vector<ParamSpec> mixedPrecisionQuantizationParams() {
  std::vector<ParamSpec> params{
      {"bits_weights",
       ParamType::Int,
       "8",
       2,
       8,
       {},
       "Weight bits of every layer (symmetric, per channel as the recipe says). Below 8 the int8 kernels run "
       "the b-bit values exactly and the file stores them packed; the kernels are no faster than at 8."},
      {"bits_activations",
       ParamType::Int,
       "8",
       2,
       8,
       {},
       "Activation bits: each activation quantized to 2^b levels over its calibrated range and clamped "
       "there."},
      {"layer_bits",
       ParamType::LayerMap,
       "",
       0,
       0,
       {},
       "Per-layer overrides, layer names as in the Layers table: conv1=float,fc2=4,fc1=w4a6 (float keeps "
       "the layer float; 4: 4-bit weights; w4a6: weights and output activations)."},
      {"search",
       ParamType::Choice,
       "none",
       0,
       0,
       {"none", "accuracy", "size"},
       "none: bits_weights/bits_activations with layer_bits. accuracy: the smallest model within "
       "max_acc_drop. size: the best metric within max_size_kb. Each candidate is built and evaluated on the "
       "int8 kernels."},
      {"candidate_bits",
       ParamType::List,
       "4,8",
       2,
       8,
       {},
       "Weight bit-widths the sensitivity measures and the search chooses from (float is always a choice)."},
      {"max_acc_drop",
       ParamType::Float,
       "1.0",
       0,
       100,
       {},
       "Accuracy search: the largest metric drop from fp32 allowed, in points."},
      {"max_size_kb",
       ParamType::Float,
       "0",
       0,
       1e7,
       {},
       "Size search: the largest file allowed, in KiB (1024 bytes)."},
      {"max_evaluations",
       ParamType::Int,
       "40",
       1,
       1000,
       {},
       "Search: at most this many configurations built and evaluated."},
      {"sensitivity",
       ParamType::Bool,
       "false",
       0,
       0,
       {},
       "Measure every layer's sensitivity to each candidate bit-width (always measured when searching)."},
      {"search_data",
       ParamType::Choice,
       "test",
       0,
       0,
       {"test", "calibration"},
       "What sensitivity and search evaluate on. test: the data the run is measured on (as Neural "
       "Compressor tunes on its eval data; the accuracy shown is then the one the search selected for), or "
       "the calibration data when the run has none. calibration: keeps the test data unseen."},
      {"sensitivity_samples",
       ParamType::Int,
       "256",
       8,
       1000000,
       {},
       "Samples of the calibration data that sensitivity and search calibrate and evaluate on."},
  };
  for (auto& p : postTrainingParams()) params.push_back(std::move(p));
  return params;
}

QuantizationOutcome runMixedPrecisionQuantization(const Model& model, const ParamValues& params,
                                                  const TechniqueContext& context) {
  const Progress& progress = context.progress;
  if (!context.calibrationData) {
    throw Error("'mixed' quantization needs calibration data; none was given.",
                "Choose calibration data (e.g. the training split, or the test data).");
  }
  const Dataset& calibration = *context.calibrationData;
  calibration.checkFits(model);

  MixedRun run;
  run.recipe = &qconfigRecipe(params.at("qconfig"));
  run.observerName = params.at("observer") == "default" ? "histogram" : params.at("observer");
  run.settings.observer = parseObserverKind(run.observerName);
  run.settings.perChannelWeights = run.recipe->perChannelWeights;
  run.settings.reduceRangeActivations = run.recipe->reduceRangeActivations;
  run.settings.percentile = std::stod(params.at("percentile"));
  run.settings.activationBits = std::stoi(params.at("bits_activations"));
  run.search = params.at("search");
  run.candidateBits = parseBitList(params.at("candidate_bits"), "candidate_bits");
  run.calibrationSamples = std::min<int64_t>(std::stoll(params.at("calib_samples")), calibration.info().size);
  run.calibrationInputs = calibration.impl().inputs.slice(0, 0, run.calibrationSamples);
  if (run.search == "size" && std::stod(params.at("max_size_kb")) <= 0) {
    throw Error("search=size needs a budget: max_size_kb is 0.",
                "Set max_size_kb to the largest file you accept, in KiB.");
  }

  configureRuntime(0);
  useQuantizedEngine(params.at("engine"));
  const RuntimeInfo runtime = currentRuntimeInfo();
  progress.update("Folding batch norms", 0.01);
  try {
    run.folded = foldedFloatCopy(model.impl().module);
  } catch (const std::exception& e) {
    throw Error("'mixed' quantization failed in LibTorch's graph passes: " + shortTorchMessage(e));
  }
  // Equalization before sensitivity and search: every candidate is built from the equalized model.
  const AccuracyStepOptions steps = accuracyStepOptions(params);
  const EqualizedFloat equalized =
      equalizeIfAsked(steps, model.impl().module, run.folded,
                      run.calibrationInputs.slice(0, 0, std::min<int64_t>(run.calibrationSamples, 32)));
  run.layers = quantizableLayers(run.folded);
  if (run.layers.empty()) {
    throw Error("The model has no Conv or Linear layer for mixed precision; nothing was written.");
  }
  run.requested = parseBitPlan(params.at("layer_bits"), run.layers,
                               {std::stoi(params.at("bits_weights")), run.settings.activationBits});

  MixedPrecisionReport report;
  report.search = run.search;
  const bool measureSensitivityRows = run.search != "none" || params.at("sensitivity") == "true";
  const Dataset& evaluation =
      params.at("search_data") == "test" && context.evaluationData ? *context.evaluationData : calibration;
  const int64_t sensitivitySamples = std::stoll(params.at("sensitivity_samples"));
  const int64_t evalSamples = std::min<int64_t>(sensitivitySamples, evaluation.info().size);
  std::unique_ptr<PlanEvaluator> evaluator;
  std::vector<std::string> skipped;
  std::string sensitivityNote;
  BitPlan chosen = run.requested;
  if (measureSensitivityRows) {
    progress.update("Float outputs for sensitivity", 0.02);
    if (&evaluation != &calibration) evaluation.checkFits(model);
    const torch::Tensor labels = evaluation.impl().labels;
    evaluator =
        std::make_unique<PlanEvaluator>(run.folded, evaluation.impl().inputs.slice(0, 0, evalSamples),
                                        labels.defined() ? labels.slice(0, 0, evalSamples) : torch::Tensor());
    report.metricName = evaluator->metricName();
    report.floatMetric = evaluator->floatMetric();
    report.samples = evaluator->samples();

    // Sensitivity and search calibrate as the final model does, on at most sensitivity_samples samples.
    SensitivityJob job{
        run.folded,
        run.settings,
        run.calibrationInputs.slice(0, 0, std::min(run.calibrationSamples, sensitivitySamples)),
        evaluator.get(),
        run.layers,
        run.candidateBits};
    const auto start = std::chrono::steady_clock::now();
    const double sensitivityEnd = run.search == "none" ? 0.85 : 0.45;
    SensitivityResult sensitivity = measureSensitivity(job, progress.part(0.03, sensitivityEnd), skipped);
    report.sensitivitySeconds = secondsSince(start);
    report.sensitivity = sensitivity.rows;
    char baseline[200];
    std::snprintf(
        baseline, sizeof(baseline),
        "Sensitivity rows quantize one layer's weights each; activations are int8 where fx puts them "
        "in every row (with every weight float: %.2f %%, %.1f dB SQNR).",
        sensitivity.activationsOnly.metric, sensitivity.activationsOnly.sqnrDb);
    sensitivityNote = baseline;
    if (sensitivity.cancelled) {
      report.stoppedEarly = "Cancelled during sensitivity after " + std::to_string(sensitivity.layersDone) +
                            " of " + std::to_string(run.layers.size()) + " layers" +
                            (run.search == "none" ? "" : "; the search did not run") +
                            ": the result is bits_weights/bits_activations with layer_bits.";
    } else if (run.search != "none") {
      SearchBudget budget;
      budget.goal = run.search == "accuracy" ? SearchGoal::Accuracy : SearchGoal::Size;
      budget.maxDrop = std::stod(params.at("max_acc_drop"));
      budget.maxBytes = static_cast<int64_t>(std::llround(std::stod(params.at("max_size_kb")) * 1024.0));
      budget.maxEvaluations = std::stoi(params.at("max_evaluations"));
      report.budget = budget.goal == SearchGoal::Accuracy
                          ? "max_acc_drop=" + formatNumber(budget.maxDrop) + " pt"
                          : "max_size_kb=" + params.at("max_size_kb");
      const SearchSpace space = searchSpace(run, report.sensitivity);
      int evaluated = 0;
      const Progress searchProgress = progress.part(0.45, 0.85);
      auto evaluate = [&](const std::vector<int>& choice) {
        const BitPlan plan = planFromOptions(run, space.options, choice);
        const std::string assignment = formatBitPlan(plan, run.settings.activationBits);
        if (searchProgress.onUpdate) {
          searchProgress.onUpdate("Search: configuration " + std::to_string(++evaluated) + ": " + assignment,
                                  std::min(1.0, double(evaluated) / double(budget.maxEvaluations)));
        }
        // Calibrated as the final model will be, and sized as the file the run writes, record included.
        MixedPrecisionModel built = buildPlan(run, plan, Progress{});
        const PlanMeasurement m = evaluator->measure(built.module, /*withFileSize=*/false);
        SearchCandidate c;
        c.assignment = assignment;
        c.fileBytes = measureModelSize(int8Model(int8Source(run, model, params, runtime.quantizedEngine, plan,
                                                            built.module)))
                          .serializedBytes;
        c.packedWeightBytes = packedWeightBytes(run.folded, plan);
        c.metric = m.metric;
        c.drop = evaluator->floatMetric() - m.metric;
        c.sqnrDb = m.sqnrDb;
        return c;
      };
      const auto searchStart = std::chrono::steady_clock::now();
      SearchResult searched =
          searchBitWidths(space, budget, evaluate, [&] { return progress.takeCancelRequest(); });
      report.searchSeconds = secondsSince(searchStart);
      report.candidates = searched.candidates;
      if (!searched.stoppedEarly.empty()) report.stoppedEarly = searched.stoppedEarly;
      chosen = planFromOptions(run, space.options, searched.picked);
    }
  }

  // The chosen assignment, calibrated on the calibration samples as `fx` is. A cancel taken above was a
  // request to stop searching, so this last build runs to the end; a new cancel still stops it.
  progress.update("Calibrating the chosen assignment", 0.86);
  // AdaRound on the chosen assignment's int8 layers, each on its own grid (b-bit weights on theirs), before
  // the sub-8-bit weights are packed.
  AccuracyStepResult adaround;
  BeforeLowBitStorage adaroundStep;
  const torch::Tensor reportInputs =
      run.calibrationInputs.slice(0, 0, std::min<int64_t>(run.calibrationSamples, 32));
  if (adaroundRequested(params)) {
    adaroundStep = [&](torch::jit::Module& quantized) {
      AdaRoundSettings settings = adaroundSettings(params);
      for (const auto& [layer, bits] : chosen)
        if (!bits.isFloat() && bits.weightBits < 8) settings.weightBits[layer] = bits.weightBits;
      adaround = runAdaRoundStep(quantized, run.folded, run.calibrationInputs, reportInputs, nullptr,
                                 settings, progress.part(0.9, 0.95));
    };
  }
  MixedPrecisionModel built =
      buildPlan(run, chosen, progress.part(0.86, adaroundStep ? 0.9 : 0.95), adaroundStep);

  AccuracyStepRecord stepRecord;  // accuracySteps and notes of equalization and bias correction
  if (equalized.equalized) {
    // The chosen assignment built without equalization, for each layer's output SQNR before the step.
    MixedRun plainRun = run;
    plainRun.folded = foldedFloatCopy(model.impl().module);
    const MixedPrecisionModel plain = buildPlan(plainRun, chosen, Progress{});
    recordEqualization(equalized, layerOutputSqnrs(plainRun.folded, plain.module, reportInputs),
                       layerOutputSqnrs(run.folded, built.module, reportInputs), stepRecord);
  }
  correctBiasIfAsked(steps, built.module, run.folded, equalized, run.calibrationInputs, reportInputs,
                     progress.part(0.95, 0.96), stepRecord);

  progress.update("Comparing each layer's output with the float model", 0.96);
  Int8ModelSource described = int8Source(run, model, params, runtime.quantizedEngine, chosen, built.module);
  described.sampleInputs = reportInputs;
  QuantizationOutcome outcome = describeInt8Model(described);
  describeLayerBits(outcome, chosen, built);
  outcome.mixedPrecision = report;
  // Beside the file's size (measured by the run): what the weights take at their bits, and what the file
  // really stores for the sub-8-bit ones.
  int64_t storedPacked = 0;
  for (const auto& stored : built.lowBitWeights) storedPacked += stored.packedBytes + stored.scaleBytes;
  outcome.figures.push_back({"mixed precision", "weights at their bits (theoretical)",
                             double(packedWeightBytes(run.folded, chosen)), "B"});
  outcome.figures.push_back(
      {"mixed precision", "sub-8-bit weights as stored packed, with scales", double(storedPacked), "B"});

  const std::string recipeNote = outcome.notes.back();
  outcome.notes.pop_back();
  std::set<int> weightBits;
  std::vector<std::string> floatLayers;
  for (const auto& [layer, bits] : chosen) {
    if (bits.isFloat())
      floatLayers.push_back(layer);
    else
      weightBits.insert(bits.weightBits);
  }
  outcome.notes.push_back("Bits per layer: " + formatBitPlan(chosen, run.settings.activationBits) +
                          " (activations " + std::to_string(run.settings.activationBits) + "-bit).");
  if (!built.lowBitWeights.empty() || built.clampedActivations > 0) {
    outcome.notes.push_back(
        "Below 8 bits the int8 kernels compute the b-bit values exactly (weights on the b-bit grid, "
        "activations clamped to theirs): these layers are reduced-range int8, not simulated, and run no "
        "faster than at 8 bits; the size gain is real, the weights are stored packed in the file.");
  }
  if (!floatLayers.empty()) outcome.notes.push_back("Float layers: " + joinedLayers(floatLayers) + ".");
  if (measureSensitivityRows) {
    const bool onTest = &evaluation != &calibration;
    outcome.notes.push_back(
        "Sensitivity and search measured " + report.metricName + " on " + std::to_string(report.samples) +
        " samples of " + evaluation.info().name + " (fp32: " + formatNumber(report.floatMetric) + " %)" +
        (onTest ? ", the data this run is measured on: its accuracy is the one the search selected for "
                  "(search_data=calibration keeps the test data unseen)."
                : ", the calibration data."));
  }
  if (!sensitivityNote.empty()) outcome.notes.push_back(sensitivityNote);
  for (const auto& s : skipped) outcome.notes.push_back("Sensitivity skipped " + s);
  if (!report.stoppedEarly.empty()) outcome.notes.push_back(report.stoppedEarly);
  outcome.notes.push_back("Calibrated on " + std::to_string(run.calibrationSamples) + " samples of " +
                          calibration.info().name + " with " + run.observerName +
                          " activation observers; batch norms folded into convolutions.");
  if (!adaround.note.empty()) outcome.notes.push_back(adaround.note);
  outcome.accuracySteps.insert(outcome.accuracySteps.end(), adaround.changes.begin(), adaround.changes.end());
  outcome.notes.push_back(recipeNote);
  stepRecord.moveInto(outcome);
  progress.update("Quantized", 1.0);
  return outcome;
}

TechniqueDescriptor mixedPrecisionQuantizationTechnique() {
  TechniqueDescriptor d;
  d.name = "mixed";
  d.listPosition = 5;
  d.apiFunction = "mixed_precision_quantization";
  d.displayName = "Mixed-precision quantization";
  d.summary =
      "Any bit-width from 2 to 8 (or float) per layer on the int8 kernels, with the weights packed in the "
      "file; per-layer sensitivity, and a search for the smallest or the most accurate assignment within a "
      "budget.";
  d.params = mixedPrecisionQuantizationParams();
  d.layerTypes = convAndLinearTypes();
  d.available = true;
  d.needsCalibration = true;
  d.trains = false;
  d.run = runMixedPrecisionQuantization;
  return d;
}

namespace {
const TechniqueRegistration registration(mixedPrecisionQuantizationTechnique);
}  // namespace

}  // namespace quantscope
