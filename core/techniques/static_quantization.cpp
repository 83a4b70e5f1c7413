#include "core/techniques/static_quantization.h"

#include "core/quant/embedding_quantization.h"
#include "core/quant/post_training_pipeline.h"

namespace quantscope {

std::vector<ParamSpec> staticQuantizationParams() {
  std::vector<ParamSpec> params = postTrainingParams();
  params.push_back(embeddingsParam());
  return params;
}

QuantizationOutcome runStaticQuantization(const Model& model, const ParamValues& params,
                                          const TechniqueContext& context) {
  return quantizePostTraining({&model, &params, &context, PostTrainingScope::EachModule, "static"});
}

TechniqueDescriptor staticQuantizationTechnique() {
  TechniqueDescriptor d;
  d.name = "static";
  d.listPosition = 2;
  d.apiFunction = "static_quantization";
  d.displayName = "Static (post-training) quantization";
  d.summary =
      "Each Conv/Linear becomes int8 with quantize/dequantize at its borders (eager semantics); activation "
      "ranges calibrated on sample data.";
  d.params = staticQuantizationParams();
  d.layerTypes = convAndLinearTypes();
  d.available = true;
  d.needsCalibration = true;
  d.trains = false;
  d.run = runStaticQuantization;
  return d;
}

namespace {
const TechniqueRegistration registration(staticQuantizationTechnique);
}  // namespace

}  // namespace quantscope
