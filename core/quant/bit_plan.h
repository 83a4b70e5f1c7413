#pragma once
// A mixed-precision assignment: weight and output-activation bits for every quantizable layer, or float.
// Torch-free: the registry validates `layer_bits` with it and results print it.
#include <string>
#include <utility>
#include <vector>

namespace quantscope {

struct LayerBits {
  int weightBits = 8;  // 2..8; 0: the layer stays float
  int activationBits = 8;
  bool isFloat() const { return weightBits == 0; }
  bool operator==(const LayerBits& o) const {
    return weightBits == o.weightBits && activationBits == o.activationBits;
  }
};

// Every quantizable layer in graph order with its bits.
using BitPlan = std::vector<std::pair<std::string, LayerBits>>;

constexpr int kMinBits = 2;
constexpr int kMaxBits = 8;

// `defaults` for every layer, then the overrides of `text`: "conv1=float,fc2=4,fc1=w4a6" (4: 4-bit weights,
// activations as the default; w4a6: both). Throws Error for an unknown layer (listing the valid names),
// bits outside 2..8, a layer named twice, or a malformed entry.
BitPlan parseBitPlan(const std::string& text, const std::vector<std::string>& layers, LayerBits defaults);
// "conv1=8,conv2=4,fc1=float"; a layer's activation bits are written (w4a6) only when they differ from
// `defaultActivationBits`.
std::string formatBitPlan(const BitPlan& plan, int defaultActivationBits);
// Parses "4,8" into sorted distinct bit-widths; throws Error for bits outside 2..8 or an empty list.
std::vector<int> parseBitList(const std::string& text, const std::string& parameter);

}  // namespace quantscope
