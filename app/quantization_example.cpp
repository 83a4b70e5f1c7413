// The C++ counterpart of the documented module's quantization example: every technique, called through
// the public core API exactly as a library user would.
#include <QCoreApplication>
#include <cstdio>
#include <iostream>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/quantization_techniques.h"
#include "core/results/report_text.h"
#include "core/technique_registry.h"
#include "core/workflow.h"

using namespace quantscope;

namespace {

int failures = 0;

void show(const std::string& call, const std::function<QuantizationOutcome()>& run, const Model& original) {
  std::cout << "== " << call << "\n";
  try {
    const QuantizationOutcome outcome = run();
    const SizeComparison sizes = compare_model_sizes(original, outcome.model);
    std::cout << "   " << outcome.recipe << " recipe on " << outcome.engine << " kernels; archive "
              << formatBytes(sizes.original.serializedBytes) << " -> "
              << formatBytes(sizes.quantized.serializedBytes) << " (" << sizes.serializedRatio
              << "x smaller)\n";
    for (const auto& point : outcome.trainingCurve) {
      if (!point.endOfEpoch) continue;
      std::printf("   [%s] epoch %d: loss %.4f, train %.2f %%, validation %.2f %%\n", point.series.c_str(),
                  point.epoch + 1, point.loss, point.trainAccuracy, point.validationAccuracy);
    }
    for (const auto& c : outcome.mixedPrecision.candidates) {
      if (!c.picked) continue;
      std::printf("   search picked %s of %zu configurations: %s, %.2f %% (%+.2f pt)\n", c.assignment.c_str(),
                  outcome.mixedPrecision.candidates.size(), formatBytes(c.fileBytes).c_str(), c.metric,
                  -c.drop);
    }
    for (const auto& layer : outcome.layers) {
      if (layer.weightBits > 0) std::printf("   %s: %d-bit weights\n", layer.layer.c_str(), layer.weightBits);
    }
    if (const std::string steps = formatAccuracySteps(outcome.accuracySteps); !steps.empty())
      std::cout << steps;
    for (const auto& figure : outcome.figures) {
      std::printf("   %s: %.4g %s\n", figure.name.c_str(), figure.value, figure.unit.c_str());
    }
  } catch (const NotAvailableError& e) {
    std::cout << "   not available yet: " << e.what() << "\n";
  } catch (const Error& e) {
    std::cout << "   FAILED: " << e.fullMessage() << "\n";
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  try {
    configureRuntime(2);
    const Model model = Model::load(argc > 1 ? argv[1] : builtinDigitsModelPath());
    const InputSpec spec = model.requireInputSpec();
    std::cout << "Model " << model.displayName() << ", input " << spec.toString() << "\n\n";

    show(
        "QuantizationTechniques::dynamic_quantization(model, \"qint8\")",
        [&] { return QuantizationTechniques::dynamic_quantization(model); }, model);
    const Dataset calibration = Dataset::load(DataSource{"digits:train"}, spec);
    const Dataset& training = calibration;  // the training techniques fine-tune on the same split
    show(
        "QuantizationTechniques::static_quantization(model, \"fbgemm\", &calibration)",
        [&] { return QuantizationTechniques::static_quantization(model, "fbgemm", &calibration); }, model);
    // The post-training accuracy steps are parameters of static, fx and mixed; the registry takes any of a
    // technique's parameters by name.
    show(
        "TechniqueRegistry::instance().run(\"static\", model, {{\"qconfig\", \"qnnpack\"}, {\"equalize\", "
        "\"true\"}, {\"bias_correction\", \"empirical\"}}, context)",
        [&] {
          TechniqueContext context;
          context.calibrationData = &calibration;
          return TechniqueRegistry::instance().run(
              "static", model,
              {{"qconfig", "qnnpack"}, {"equalize", "true"}, {"bias_correction", "empirical"}}, context);
        },
        model);
    show(
        "TechniqueRegistry::instance().run(\"fx\", model, {{\"adaround\", \"true\"}, {\"adaround_iters\", "
        "\"200\"}}, context)",
        [&] {
          TechniqueContext context;
          context.calibrationData = &calibration;
          return TechniqueRegistry::instance().run(
              "fx", model, {{"adaround", "true"}, {"adaround_iters", "200"}}, context);
        },
        model);
    show(
        "QuantizationTechniques::quantization_aware_training(model, \"fbgemm\", &training)",
        [&] { return QuantizationTechniques::quantization_aware_training(model, "fbgemm", &training); },
        model);
    show(
        "QuantizationTechniques::fx_graph_mode_quantization(model, example_inputs, \"fbgemm\", &calibration)",
        [&] {
          return QuantizationTechniques::fx_graph_mode_quantization(model, spec.shapeString(), "fbgemm",
                                                                    &calibration);
        },
        model);
    show(
        "AdvancedQuantizationTechniques::mixed_precision_quantization(model, 4, 8, &calibration)",
        [&] {
          return AdvancedQuantizationTechniques::mixed_precision_quantization(model, 4, 8, &calibration);
        },
        model);
    show(
        "AdvancedQuantizationTechniques::mixed_precision_quantization(model, 8, 8, &calibration, "
        "{{\"search\", \"accuracy\"}, {\"max_acc_drop\", \"1\"}, {\"candidate_bits\", \"2,4,8\"}})",
        [&] {
          return AdvancedQuantizationTechniques::mixed_precision_quantization(
              model, 8, 8, &calibration,
              {{"search", "accuracy"}, {"max_acc_drop", "1"}, {"candidate_bits", "2,4,8"}});
        },
        model);
    show(
        "AdvancedQuantizationTechniques::pruning_aware_quantization(model, 0.5, &training)",
        [&] { return AdvancedQuantizationTechniques::pruning_aware_quantization(model, 0.5, &training); },
        model);
    // The teacher is the model; the student is the small untrained model shipped for the demo.
    const Model student = Model::load(resourcesDirectory() + "/digits_student.pt");
    show(
        "AdvancedQuantizationTechniques::knowledge_distillation_quantization(teacher, student, 2.0, "
        "&training)",
        [&] {
          return AdvancedQuantizationTechniques::knowledge_distillation_quantization(model, student, 2.0,
                                                                                     &training);
        },
        model);

    std::cout << "\n== benchmark_inference_speed(model, " << spec.shapeString() << ", 50)\n   "
              << formatLatency(benchmark_inference_speed(model, spec, 50)) << "\n";

    std::cout << "\n== quantize_and_evaluate(model, digits test split, \"dynamic\")\n";
    const Dataset test = Dataset::load(DataSource{"digits:test"}, spec);
    RunOptions options;
    options.benchmarkRuns = 50;
    std::cout << formatRunResult(quantize_and_evaluate(model, test, "dynamic", {}, options));
  } catch (const Error& e) {
    std::cerr << "error: " << e.fullMessage() << "\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
