#pragma once
// Measures a candidate quantized model against the float model on a fixed sample: the metric (top-1
// accuracy where the data has labels, else top-1 agreement with the float model), the output SQNR and the
// serialized file size. The float outputs are computed once and reused for every candidate.
// Internal: includes LibTorch.
#include <torch/script.h>

#include <string>

namespace quantscope {

struct PlanMeasurement {
  double metric = 0;  // percent
  double sqnrDb = 0;
  int64_t fileBytes = 0;
};

class PlanEvaluator {
 public:
  PlanEvaluator(torch::jit::Module floatModel, torch::Tensor inputs, torch::Tensor labels);

  const std::string& metricName() const { return metricName_; }
  double floatMetric() const { return floatMetric_; }
  int64_t samples() const { return inputs_.size(0); }
  // withFileSize: also serialize the model to count its bytes (the search needs them, sensitivity not).
  PlanMeasurement measure(torch::jit::Module& quantized, bool withFileSize = true) const;

 private:
  double metricOf(const torch::Tensor& outputs) const;

  torch::Tensor inputs_, labels_, floatOutputs_;
  std::string metricName_;
  double floatMetric_ = 0;
};

// Bytes of `module` saved as a TorchScript archive.
int64_t serializedBytes(const torch::jit::Module& module);

}  // namespace quantscope
