#pragma once
// Where each Conv/Linear layer runs in an int8 model and with which output quantization: the int8 op that
// reads the layer's packed weight, its output scale and zero point, and whether it fused a ReLU.
// Internal: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>

namespace quantscope {

struct Int8LayerOp {
  std::string kind;  // "quantized::conv2d_relu", ...
  double outputScale = 0;
  int64_t outputZeroPoint = 0;
  bool fusedRelu = false;
};

// By layer name; layers whose op is not found once at the graph's top level are left out.
std::map<std::string, Int8LayerOp> int8LayerOps(const torch::jit::Module& folded,
                                                const torch::jit::Module& int8Model);

}  // namespace quantscope
