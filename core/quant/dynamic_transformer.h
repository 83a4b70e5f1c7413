#pragma once
// Dynamic quantization of nn.TransformerEncoderLayer. LibTorch's graph passes quantize linear1/linear2 only
// on the layer's slow path, while inference takes the fused float kernel
// (aten::_transformer_encoder_layer_fwd) with the float weights, so nothing runs int8. This rewrite gives
// each layer a forward of its own in which all four projections -- attention input (q/k/v) and output, and
// the feed-forward linear1/linear2 -- call LibTorch's int8 dynamic kernels (quantized::linear_dynamic,
// quantized::linear_relu_dynamic), and routes the calls to the layer there. Internal: includes LibTorch.
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/results/quantization_outcome.h"

namespace quantscope {

struct TransformerQuantization {
  bool perChannel = false;   // one weight scale per output row
  bool reduceRange = false;  // 7-bit activations (the fbgemm/x86 recipes)
};

struct RoutedTransformerLayers {
  std::vector<std::string> layers;   // module paths of the layers now on the int8 forward ("enc.layers.0")
  std::vector<bool> reluFused;       // per routed layer: linear1 runs quantized::linear_relu_dynamic
  std::vector<std::string> skipped;  // "path: why it stays on LibTorch's own forward"
  // Each packed int8 projection and the attribute path it gets in the frozen model
  // ("enc.layers.0.self_attn.in_proj._packed_params").
  std::vector<std::pair<std::string, c10::IValue>> packedWeights;
};

// Before the graph passes, on the float module (a clone: its types are changed). Encoders that contain a
// routed layer stop converting padded batches to nested tensors (the int8 forward takes dense batches and
// applies the padding mask itself, as PyTorch's non-fused path does).
RoutedTransformerLayers routeTransformerLayersToInt8(torch::jit::Module& module,
                                                     const TransformerQuantization& settings);

// After freezing, which turns the packed weights into graph constants: they go back into attributes of the
// frozen module, named after their layers, where the size account and the per-layer report find packed
// weights. Returns how many were moved.
int keepTransformerWeightsAsAttributes(torch::jit::Module& frozen, const RoutedTransformerLayers& routed);

// Says in the per-layer report which projections of the routed layers run int8, and why skipped layers
// stay float; adds a note.
void describeRoutedTransformerLayers(const RoutedTransformerLayers& routed, QuantizationOutcome& outcome);

}  // namespace quantscope
