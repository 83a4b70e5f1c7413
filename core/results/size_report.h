#pragma once
// Model size as it is on disk (the serialized archive) and in memory (parameter bytes by dtype).
#include <cstdint>
#include <map>
#include <string>

namespace quantscope {

class Model;

struct ModelSize {
  int64_t serializedBytes = 0;
  int64_t parameterBytes = 0;
  std::map<std::string, int64_t> parameterBytesByDtype;  // "float32" -> bytes, "qint8" -> bytes
};

struct SizeComparison {
  ModelSize original;
  ModelSize quantized;
  double serializedRatio = 0;  // original / quantized
  double parameterRatio = 0;
};

ModelSize measureModelSize(const Model& model);
SizeComparison compare_model_sizes(const Model& original, const Model& quantized);

}  // namespace quantscope
