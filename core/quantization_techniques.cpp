#include "core/quantization_techniques.h"

#include "core/technique_registry.h"

namespace quantscope {
namespace {

QuantizationOutcome runTechnique(const std::string& name, const Model& model, const ParamValues& params,
                                 const Dataset* calibrationData = nullptr,
                                 const std::map<std::string, Model>& models = {}) {
  TechniqueContext context;
  context.calibrationData = calibrationData;
  context.models = models;
  return TechniqueRegistry::instance().run(name, model, params, context);
}

std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

}  // namespace

QuantizationOutcome QuantizationTechniques::dynamic_quantization(const Model& model,
                                                                 const std::string& dtype) {
  return runTechnique("dynamic", model, {{"dtype", dtype}});
}

QuantizationOutcome QuantizationTechniques::static_quantization(const Model& model,
                                                                const std::string& qconfig,
                                                                const Dataset* calibration_data) {
  return runTechnique("static", model, {{"qconfig", qconfig}}, calibration_data);
}

QuantizationOutcome QuantizationTechniques::quantization_aware_training(const Model& model,
                                                                        const std::string& qconfig,
                                                                        const Dataset* training_data) {
  return runTechnique("qat", model, {{"qconfig", qconfig}}, training_data);
}

QuantizationOutcome QuantizationTechniques::fx_graph_mode_quantization(const Model& model,
                                                                       const std::string& example_inputs,
                                                                       const std::string& qconfig,
                                                                       const Dataset* calibration_data) {
  return runTechnique("fx", model, {{"example_inputs", example_inputs}, {"qconfig", qconfig}},
                      calibration_data);
}

QuantizationOutcome AdvancedQuantizationTechniques::mixed_precision_quantization(
    const Model& model, int bits_weights, int bits_activations, const Dataset* calibration_data,
    const ParamValues& options) {
  ParamValues params = options;
  params["bits_weights"] = std::to_string(bits_weights);
  params["bits_activations"] = std::to_string(bits_activations);
  return runTechnique("mixed", model, params, calibration_data);
}

QuantizationOutcome AdvancedQuantizationTechniques::pruning_aware_quantization(const Model& model,
                                                                               double pruning_rate,
                                                                               const Dataset* training_data) {
  return runTechnique("pruning", model, {{"pruning_rate", formatNumber(pruning_rate)}}, training_data);
}

QuantizationOutcome AdvancedQuantizationTechniques::knowledge_distillation_quantization(
    const Model& teacher, const Model& student, double temperature, const Dataset* training_data) {
  return runTechnique("distillation", teacher, {{"temperature", formatNumber(temperature)}}, training_data,
                      {{"student", student}});
}

}  // namespace quantscope
