#include "core/techniques/fx_graph_mode_quantization.h"

#include "core/model/input_spec.h"
#include "core/quant/embedding_quantization.h"
#include "core/quant/post_training_pipeline.h"

namespace quantscope {

std::vector<ParamSpec> graphModeQuantizationParams() {
  std::vector<ParamSpec> params{
      {"example_inputs",
       ParamType::Text,
       "",
       0,
       0,
       {},
       "Example input shape (e.g. 1x3x224x224) to validate the model with; empty: the "
       "model's input spec."}};
  for (auto& p : postTrainingParams()) params.push_back(std::move(p));
  params.push_back(embeddingsParam());
  return params;
}

QuantizationOutcome runGraphModeQuantization(const Model& model, const ParamValues& params,
                                             const TechniqueContext& context) {
  if (!params.at("example_inputs").empty()) {
    model.checkInput(InputSpec::parse(params.at("example_inputs"),
                                      model.inputSpec() ? toString(model.inputSpec()->dtype) : "float"));
  }
  return quantizePostTraining({&model, &params, &context, PostTrainingScope::WholeGraph, "fx"});
}

TechniqueDescriptor graphModeQuantizationTechnique() {
  TechniqueDescriptor d;
  d.name = "fx";
  d.listPosition = 4;
  d.apiFunction = "fx_graph_mode_quantization";
  d.displayName = "Graph-mode (FX) quantization";
  d.summary =
      "Quantizes the whole graph: conv-bn folding, conv+relu fusion, int8 through relu/add/pool; calibrated "
      "on sample data.";
  d.params = graphModeQuantizationParams();
  d.layerTypes = convAndLinearTypes();
  d.available = true;
  d.needsCalibration = true;
  d.trains = false;
  d.run = runGraphModeQuantization;
  return d;
}

namespace {
const TechniqueRegistration registration(graphModeQuantizationTechnique);
}  // namespace

}  // namespace quantscope
