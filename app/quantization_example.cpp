// The C++ counterpart of the documented module's quantization example: every technique, called through
// the public core API exactly as a library user would. Techniques not built yet must say so clearly.
#include <QCoreApplication>
#include <iostream>

#include "core/dataset.h"
#include "core/errors.h"
#include "core/quantization_techniques.h"
#include "core/report_text.h"
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
              << formatBytes(sizes.original.serializedBytes) << " -> " << formatBytes(sizes.quantized.serializedBytes)
              << " (" << sizes.serializedRatio << "x smaller)\n";
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

    show("QuantizationTechniques::dynamic_quantization(model, \"qint8\")",
         [&] { return QuantizationTechniques::dynamic_quantization(model); }, model);
    const Dataset calibration = Dataset::load(DataSource{"digits:train"}, spec);
    show("QuantizationTechniques::static_quantization(model, \"fbgemm\", &calibration)",
         [&] { return QuantizationTechniques::static_quantization(model, "fbgemm", &calibration); }, model);
    show("QuantizationTechniques::quantization_aware_training(model, \"fbgemm\")",
         [&] { return QuantizationTechniques::quantization_aware_training(model); }, model);
    show("QuantizationTechniques::fx_graph_mode_quantization(model, example_inputs, \"fbgemm\", &calibration)",
         [&] { return QuantizationTechniques::fx_graph_mode_quantization(model, spec.shapeString(), "fbgemm", &calibration); },
         model);
    show("AdvancedQuantizationTechniques::mixed_precision_quantization(model, 8, 8)",
         [&] { return AdvancedQuantizationTechniques::mixed_precision_quantization(model); }, model);
    show("AdvancedQuantizationTechniques::pruning_aware_quantization(model, 0.5)",
         [&] { return AdvancedQuantizationTechniques::pruning_aware_quantization(model); }, model);
    show("AdvancedQuantizationTechniques::knowledge_distillation_quantization(teacher, student, 2.0)",
         [&] { return AdvancedQuantizationTechniques::knowledge_distillation_quantization(model, model); }, model);

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
