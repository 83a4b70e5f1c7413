#include "core/results/size_report.h"

#include "core/internal/model_impl.h"

namespace quantscope {

ModelSize measureModelSize(const Model& model) {
  ModelSize size;
  size.serializedBytes = static_cast<int64_t>(model.serialize().size());
  for (const auto& p : collectParameters(model.impl().module)) {
    size.parameterBytes += p.bytes;
    size.parameterBytesByDtype[p.dtype] += p.bytes;
  }
  return size;
}

SizeComparison compare_model_sizes(const Model& original, const Model& quantized) {
  SizeComparison comparison;
  comparison.original = measureModelSize(original);
  comparison.quantized = measureModelSize(quantized);
  auto ratio = [](int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  comparison.serializedRatio =
      ratio(comparison.original.serializedBytes, comparison.quantized.serializedBytes);
  comparison.parameterRatio = ratio(comparison.original.parameterBytes, comparison.quantized.parameterBytes);
  return comparison;
}

}  // namespace quantscope
