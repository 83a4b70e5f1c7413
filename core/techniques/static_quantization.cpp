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

}  // namespace quantscope
