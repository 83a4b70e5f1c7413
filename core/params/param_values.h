#pragma once
// Typed access to a technique's resolved parameter values. The registry has already checked each value
// against its spec, so a technique reads numbers and flags here instead of re-parsing strings itself.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/results/quantization_outcome.h"

namespace quantscope {

class TypedParams {
 public:
  explicit TypedParams(const ParamValues& values) : values_(values) {}

  const std::string& text(const std::string& name) const;  // Throws Error when absent.
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool boolean(const std::string& name) const;
  // "4,8" -> {"4", "8"}; empty text gives an empty list.
  std::vector<std::string> list(const std::string& name) const;
  // "conv1=4,fc2=float" -> {{"conv1", "4"}, {"fc2", "float"}}, in the order given.
  std::vector<std::pair<std::string, std::string>> layerMap(const std::string& name) const;

 private:
  const ParamValues& values_;
};

}  // namespace quantscope
