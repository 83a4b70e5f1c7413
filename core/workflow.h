#pragma once
// The seed's helpers: quantize a model with a named technique, then measure both models the same way
// (the orchestration; what a run measured is RunResult, in core/results/run_result.h).
#include <map>
#include <optional>
#include <string>

#include "core/results/metrics.h"
#include "core/results/run_result.h"
#include "core/runtime/benchmark.h"

namespace quantscope {

class Dataset;

struct RunOptions {
  int64_t evalBatchSize = 64;
  int64_t benchmarkBatch = 0;  // 0: the model's input spec batch
  int benchmarkRuns = 100;
  BenchmarkOptions benchmark;
  const Dataset* calibrationData = nullptr;  // defaults to the test data's first samples when needed
  // Extra models a technique takes by name, e.g. {"student", model} for distillation.
  std::map<std::string, Model> models;
};

// What a technique's outcome says about the run, before anything is measured: technique, params, recipe,
// engine, layers, notes, training curve and figures. Sizes, accuracy and latency are left empty.
RunResult describeOutcome(const QuantizationOutcome& outcome);

// Runs `model` over the data set in batches; rows are samples, columns the flattened first output.
Matrix runModel(const Model& model, const Dataset& data, int64_t batchSize = 64,
                const Progress& progress = {});

QuantizationOutcome prepare_model_for_quantization(const Model& model,
                                                   const std::string& technique = "dynamic",
                                                   const ParamValues& kwargs = {},
                                                   const Dataset* calibrationData = nullptr,
                                                   const Progress& progress = {},
                                                   const std::map<std::string, Model>& models = {});

// Quantizes without evaluating: what the technique reported, both models' sizes, how long quantization
// took and when it finished. Accuracy, fidelity and latency stay unmeasured (not available).
RunResult quantize_only(const Model& model, const std::string& technique, const ParamValues& kwargs = {},
                        const Dataset* calibrationData = nullptr, const Progress& progress = {},
                        std::optional<Model>* quantizedModel = nullptr);

// Quantizes, then evaluates and benchmarks original and quantized model on identical inputs. The
// quantized model is returned through `quantizedModel` when the caller wants to save it.
RunResult quantize_and_evaluate(const Model& model, const Dataset& test_data, const std::string& technique,
                                const ParamValues& kwargs = {}, const RunOptions& options = {},
                                const Progress& progress = {},
                                std::optional<Model>* quantizedModel = nullptr);

}  // namespace quantscope
