#include "core/quantization_techniques.h"

#include "core/technique_registry.h"

namespace quantscope {
namespace {

QuantizationOutcome runTechnique(const std::string& name, const Model& model, const ParamValues& params,
                                 const Dataset* calibrationData = nullptr) {
  TechniqueContext context;
  context.calibrationData = calibrationData;
  return TechniqueRegistry::instance().run(name, model, params, context);
}

}  // namespace

QuantizationOutcome QuantizationTechniques::dynamic_quantization(const Model& model, const std::string& dtype) {
  return runTechnique("dynamic", model, {{"dtype", dtype}});
}

QuantizationOutcome QuantizationTechniques::static_quantization(const Model& model, const std::string& qconfig,
                                                                const Dataset* calibration_data) {
  return runTechnique("static", model, {{"qconfig", qconfig}}, calibration_data);
}

QuantizationOutcome QuantizationTechniques::quantization_aware_training(const Model& model,
                                                                        const std::string& qconfig) {
  return runTechnique("qat", model, {{"qconfig", qconfig}});
}

QuantizationOutcome QuantizationTechniques::fx_graph_mode_quantization(const Model& model,
                                                                       const std::string& example_inputs,
                                                                       const std::string& qconfig,
                                                                       const Dataset* calibration_data) {
  return runTechnique("fx", model, {{"example_inputs", example_inputs}, {"qconfig", qconfig}}, calibration_data);
}

QuantizationOutcome AdvancedQuantizationTechniques::mixed_precision_quantization(const Model& model,
                                                                                 int bits_weights,
                                                                                 int bits_activations) {
  return runTechnique("mixed", model,
                      {{"bits_weights", std::to_string(bits_weights)},
                       {"bits_activations", std::to_string(bits_activations)}});
}

QuantizationOutcome AdvancedQuantizationTechniques::pruning_aware_quantization(const Model& model,
                                                                               double pruning_rate) {
  return runTechnique("pruning", model, {{"pruning_rate", std::to_string(pruning_rate)}});
}

QuantizationOutcome AdvancedQuantizationTechniques::knowledge_distillation_quantization(const Model& teacher,
                                                                                        const Model& /*student*/,
                                                                                        double temperature) {
  return runTechnique("distillation", teacher, {{"temperature", std::to_string(temperature)}});
}

}  // namespace quantscope
