#pragma once
// Sub-8-bit weights stored packed in TorchScript files that stock torch.jit.load opens. A quantized layer's
// int8 weight, restricted to b bits, is saved as a dense b-bit bitstream with float32 scales; the module
// holding it rebuilds the int8 packed params in its TorchScript __setstate__ when the file is loaded.
// Internal to the core: includes LibTorch.
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

namespace quantscope {

// Signed integers in [-2^(bits-1), 2^(bits-1)-1] (int8 tensor, any shape) as a dense little-endian bitstream:
// value i takes bits [i*bits, (i+1)*bits) of the stream, bit j of the stream is bit j%8 of byte j/8.
// ceil(numel*bits/8) bytes (uint8 tensor). Throws Error for bits outside 2..8 or values off the grid.
torch::Tensor packSignedBits(const torch::Tensor& values, int bits);
// The inverse: `count` values (int8, flat) from a bitstream packSignedBits wrote.
torch::Tensor unpackSignedBits(const torch::Tensor& packed, int64_t count, int bits);

// Runs a registered operator by name on a boxed stack, e.g. quantized::conv2d_stride on packed params.
torch::jit::Stack callRegisteredOp(const std::string& op, torch::jit::Stack stack);

struct LowBitWeight {
  std::string packedAttribute;  // root attribute holding the packed params, e.g.
                                // "quantized_forward._jit_pass_packed_weight_3"
  std::string layer;            // the layer's name for messages and for naming the new submodule, e.g. "fc1"
  int bits = 8;                 // 2..8 (8: still stored packed, 1 byte per value, with float32 scales)
};

struct LowBitStorage {
  std::string layer;
  int bits;
  int64_t values;       // weight values stored
  int64_t packedBytes;  // bytes of the packed bitstream: ceil(values*bits/8)
  int64_t scaleBytes;   // float32 scales, plus int64 zero points when any is non-zero
};

// Rewrites `quantized` in place: each listed packed-params attribute is replaced by a submodule
// "lowbit_<layer>" (dots in the layer name become '_') that holds the live packed params plus the state
// to rebuild them: b-bit packed weight bytes, float32 scales (zero points only if any is non-zero), bias,
// and for convolutions stride/padding/dilation/groups. Every GetAttr of the old attribute, in every method
// of the root, is redirected to `submodule.packed_params`; the old attribute is removed from the root's
// class and object so it is no longer serialized.
// Weight int values are clamped to the b-bit grid first, and the live packed params are rebuilt by the
// submodule's own __setstate__ from exactly the state that is saved, so the in-memory model computes what
// the saved file computes. Handles Linear (incl. dynamic), Conv1d, Conv2d and Conv3d packed params with
// qint8 weights (fused _relu users share them). Throws Error (message + hint) for anything else, for an
// attribute that does not exist or is not read by the graph, and for bits outside 2..8; then `quantized`
// is left unchanged. The live packed params are prepacked for the quantized engine active at the call:
// activate the model's engine first (as the file is prepacked for the engine active at torch.jit.load).
// Methods that read a rewritten attribute are re-registered as new functions (a method that has run
// keeps its optimized plan of the old graph otherwise), as LibTorch's freezing does.
std::vector<LowBitStorage> storeLowBitWeights(torch::jit::Module& quantized,
                                              const std::vector<LowBitWeight>& weights);

}  // namespace quantscope
