#pragma once
// Fake quantization for training, on LibTorch's graph passes. InsertObservers places observer modules
// exactly where post-training `fx` quantization puts int8; QuantScope's observers also fake-quantize what
// they observe (LibTorch's fake_quantize ops, whose backward is the straight-through estimator PyTorch
// uses); InsertObservers routes each observed value through its observer, so the model trains against int8
// numerics. Conversion runs the same InsertQuantDeQuant/Finalize as `fx`, with the learned ranges.
// Internal: includes LibTorch.
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/internal/qconfig_recipe.h"

namespace quantscope {

// A copy of `module` ready for the graph passes: each module use its own copy (a ReLU module called twice
// becomes two), batch norms folded into the convolutions before them.
torch::jit::Module foldedFloatCopy(const torch::jit::Module& module);
// The same without folding: batch norms stay.
torch::jit::Module dedupedFloatCopy(const torch::jit::Module& module);

// A copy of `folded` (batch norms already folded, eval mode) with fake-quant observers inserted and active.
// Numerics as the recipe's QAT qconfig: activations quint8 affine with a moving-average range (0.01),
// reduce_range as the recipe says; weights qint8 symmetric, per-channel or per-tensor, ranged on the
// current weights at every forward (so the int8 weights are exactly the fake-quantized ones).
torch::jit::Module insertFakeQuant(const torch::jit::Module& folded, const QConfigRecipe& recipe);

// One observer module (what insertFakeQuant puts at each place): weights qint8 symmetric, per-channel on
// axis 0 or per-tensor; activations quint8 affine, 0..127 with reduce_range.
torch::jit::Module makeFakeQuantObserver(bool isWeight, bool perChannel, bool reduceRange);

std::vector<torch::jit::Module> fakeQuantObservers(const torch::jit::Module& module);
// PyTorch's disable_observer / enable_observer for activation ranges (weights always follow the weights).
void setActivationObserversEnabled(const torch::jit::Module& module, bool enabled);
// On: the model computes with fake-quantized weights and activations; off: plain float (ranges still kept).
void setFakeQuantEnabled(const torch::jit::Module& module, bool enabled);

// A real int8 model made from a fake-quant model: same observers' ranges, same passes as `fx`. Runs one
// forward on `sampleInput` first so that weight ranges match the final weights. Leaves `observed` as it was.
torch::jit::Module convertFakeQuant(const torch::jit::Module& observed, const torch::Tensor& sampleInput);

}  // namespace quantscope
