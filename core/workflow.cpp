#include "core/workflow.h"

#include <QDateTime>
#include <algorithm>
#include <chrono>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/model_impl.h"
#include "core/technique_registry.h"

namespace quantscope {

Matrix runModel(const Model& model, const Dataset& data, int64_t batchSize, const Progress& progress) {
  torch::InferenceMode inference;
  activateEngineOf(model);
  const torch::Tensor& inputs = data.impl().inputs;
  const int64_t n = inputs.size(0);
  Matrix out;
  out.rows = n;
  for (int64_t start = 0; start < n; start += batchSize) {
    progress.update("Evaluating " + model.displayName(), static_cast<double>(start) / static_cast<double>(n));
    const int64_t count = std::min(batchSize, n - start);
    torch::Tensor output;
    try {
      output = firstTensorOutput(forwardOrExplain(model, inputs.slice(0, start, start + count)));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("Running '" + model.displayName() + "' on data '" + data.info().name + "' (batch of " +
                  std::to_string(count) + ") failed: " + shortTorchMessage(e));
    }
    if (!output.defined()) throw Error("The model '" + model.displayName() + "' returned no tensor.");
    output = output.detach().to(torch::kFloat).reshape({count, -1}).contiguous();
    if (out.cols == 0) out.cols = output.size(1);
    out.values.insert(out.values.end(), output.data_ptr<float>(), output.data_ptr<float>() + output.numel());
  }
  return out;
}

RunResult describeOutcome(const QuantizationOutcome& outcome) {
  RunResult result;
  result.technique = outcome.technique;
  result.params = outcome.params;
  result.recipe = outcome.recipe;
  result.engine = outcome.engine;
  result.layers = outcome.layers;
  result.notes = outcome.notes;
  result.simulated = outcome.simulated;
  result.trainingCurve = outcome.trainingCurve;
  result.figures = outcome.figures;
  result.mixedPrecision = outcome.mixedPrecision;
  result.accuracySteps = outcome.accuracySteps;
  return result;
}

QuantizationOutcome prepare_model_for_quantization(const Model& model, const std::string& technique,
                                                   const ParamValues& kwargs, const Dataset* calibrationData,
                                                   const Progress& progress,
                                                   const std::map<std::string, Model>& models) {
  TechniqueContext context;
  context.calibrationData = calibrationData;
  context.models = models;
  context.progress = progress;
  return TechniqueRegistry::instance().run(technique, model, kwargs, context);
}

namespace {

void addDataNotes(const Dataset* data, std::vector<std::string>& notes) {
  if (!data) return;
  for (const auto& note : data->info().notes) {
    if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
  }
}

std::string nowUtc() { return QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString(); }

}  // namespace

RunResult quantize_only(const Model& model, const std::string& technique, const ParamValues& kwargs,
                        const Dataset* calibrationData, const Progress& progress,
                        std::optional<Model>* quantizedModel) {
  const RuntimeScope runtimeScope;
  if (model.inputSpec()) model.checkInput(*model.inputSpec());
  const auto started = std::chrono::steady_clock::now();
  const QuantizationOutcome outcome =
      prepare_model_for_quantization(model, technique, kwargs, calibrationData, progress);
  RunResult result = describeOutcome(outcome);
  result.quantizeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.modelPath = model.sourcePath();
  result.sizes = compare_model_sizes(model, outcome.model);
  result.runtime = currentRuntimeInfo();
  addDataNotes(calibrationData, result.notes);
  result.finishedAt = nowUtc();
  if (quantizedModel) *quantizedModel = outcome.model;
  return result;
}

RunResult quantize_and_evaluate(const Model& model, const Dataset& test_data, const std::string& technique,
                                const ParamValues& kwargs, const RunOptions& options,
                                const Progress& progress, std::optional<Model>* quantizedModel) {
  const RuntimeScope runtimeScope;  // the run's engine and threads end with it
  configureRuntime(options.benchmark.threads);
  const InputSpec spec = model.requireInputSpec();
  test_data.checkFits(model);

  const bool trains = TechniqueRegistry::instance().find(technique).trains;
  if (trains && !options.calibrationData) {
    throw Error(
        "'" + technique +
            "' trains the model and needs training data separate from the test data; none "
            "was given.",
        "Choose training data (e.g. digits:train): a model trained on its test data would score too well.");
  }
  // Training dominates a training technique's run: it gets most of the progress bar.
  const double quantizeShare = trains ? 0.8 : 0.2;
  const auto started = std::chrono::steady_clock::now();
  TechniqueContext context;
  context.calibrationData = options.calibrationData ? options.calibrationData : &test_data;
  context.evaluationData = &test_data;
  context.models = options.models;
  context.progress = progress.part(0.0, quantizeShare);
  QuantizationOutcome outcome = TechniqueRegistry::instance().run(technique, model, kwargs, context);
  RunResult result = describeOutcome(outcome);
  // The rest of the bar: evaluation, sizes, benchmarks and profile, at the fractions they always had.
  const auto at = [quantizeShare](double f) {
    return quantizeShare + (f - 0.2) / 0.8 * (1.0 - quantizeShare);
  };
  result.quantizeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The benchmark must use the thread count asked for, and the engine the technique packed weights for.
  result.runtime = configureRuntime(options.benchmark.threads);
  activateEngineOf(outcome.model);
  result.runtime = currentRuntimeInfo();

  const Matrix reference = runModel(model, test_data, options.evalBatchSize, progress.part(at(0.2), at(0.3)));
  const Matrix candidate =
      runModel(outcome.model, test_data, options.evalBatchSize, progress.part(at(0.3), at(0.4)));
  if (test_data.info().labelled) {
    result.originalAccuracy = computeAccuracy(reference, test_data.labels());
    result.quantizedAccuracy = computeAccuracy(candidate, test_data.labels());
  }
  result.fidelity = computeFidelity(reference, candidate);
  progress.update("Measuring sizes", at(0.4));
  result.sizes = compare_model_sizes(model, outcome.model);

  const InputSpec benchSpec = spec.withBatch(options.benchmarkBatch);
  result.originalLatency = benchmark_inference_speed(model, benchSpec, options.benchmarkRuns,
                                                     options.benchmark, progress.part(at(0.42), at(0.71)));
  result.quantizedLatency = benchmark_inference_speed(outcome.model, benchSpec, options.benchmarkRuns,
                                                      options.benchmark, progress.part(at(0.71), at(0.97)));
  progress.update("Profiling operators of the quantized model", at(0.97));
  result.quantizedOps = profileOperators(outcome.model, benchSpec, std::min(10, options.benchmarkRuns));

  result.modelPath = model.sourcePath();
  result.datasetName = test_data.info().name;
  result.datasetSize = test_data.info().size;
  if (!options.calibrationData && TechniqueRegistry::instance().find(technique).needsCalibration) {
    result.notes.push_back(
        "Calibrated on the test data itself (no separate calibration data was given): the "
        "accuracy shown may be slightly optimistic.");
  }
  addDataNotes(&test_data, result.notes);
  addDataNotes(options.calibrationData, result.notes);
  for (const auto& warning : result.runtime.warnings) result.notes.push_back("Warning: " + warning);
  result.finishedAt = nowUtc();
  if (quantizedModel) *quantizedModel = outcome.model;
  progress.update("Done", 1.0);
  return result;
}

}  // namespace quantscope
