#pragma once
// The post-training static int8 pipeline shared by `static` and `fx` (and the recipe parameters every
// technique that converts through LibTorch's graph passes takes). It mirrors
// torch.ao.quantization.quantize_jit: fold conv-bn, insert observers, calibrate, insert quant-dequant,
// finalize (fusing conv+relu, prepacking weights). A technique file chooses the scope and its own
// parameters; this file is the engine.
#include <string>
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

// qconfig (the numerics recipe) and engine (the int8 kernels): every technique that makes a static int8
// model through the graph passes takes these two.
std::vector<ParamSpec> recipeAndEngineParams();
// The recipe and engine plus the calibration parameters (observer, calib_samples, percentile).
std::vector<ParamSpec> postTrainingParams();

enum class PostTrainingScope {
  WholeGraph,  // fx: int8 flows through relu/add/pool/flatten/cat, quantize/dequantize only at the borders
  EachModule,  // static: each Conv/Linear quantized at its own borders, as eager-mode PyTorch does
};

struct PostTrainingRequest {
  const Model* model = nullptr;
  const ParamValues* params = nullptr;  // postTrainingParams() plus `embeddings`
  const TechniqueContext* context = nullptr;
  PostTrainingScope scope = PostTrainingScope::WholeGraph;
  std::string technique;  // named in notes and errors
};

QuantizationOutcome quantizePostTraining(const PostTrainingRequest& request);

}  // namespace quantscope
