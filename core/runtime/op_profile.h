#pragma once
// "Did it really run int8?": where a model's time goes, per operator, measured with LibTorch's profiler,
// and whether each operator runs on quantized (int8) tensors or on float ones.
#include <string>
#include <vector>

#include "core/model/input_spec.h"

namespace quantscope {

class Model;

enum class OpPrecision { Int8, Float, Conversion, Mixed };
std::string toString(OpPrecision precision);

struct OpTime {
  std::string op;  // "quantized::conv2d_relu", "aten::max_pool2d", ...
  OpPrecision precision = OpPrecision::Float;
  int64_t calls = 0;   // per forward
  double totalMs = 0;  // per forward
  double share = 0;    // of all top-level op time, 0..1
};

struct OpProfile {
  std::vector<OpTime> ops;  // most time first
  double int8Share = 0, floatShare = 0, conversionShare = 0, mixedShare = 0;
  int runs = 0;
};

// Profiles `runs` forwards (after one warm-up) at the current thread count.
OpProfile profileOperators(const Model& model, const InputSpec& input, int runs = 10);

}  // namespace quantscope
