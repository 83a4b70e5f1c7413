#include "core/search/plan_evaluator.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "core/training/trainer.h"

namespace quantscope {

PlanEvaluator::PlanEvaluator(torch::jit::Module floatModel, torch::Tensor inputs, torch::Tensor labels)
    : inputs_(std::move(inputs)), labels_(std::move(labels)) {
  floatOutputs_ = predict(floatModel, inputs_);
  const bool labelled = labels_.defined() && labels_.numel() == inputs_.size(0) &&
                        labels_.max().item<int64_t>() < floatOutputs_.size(1);
  if (!labelled) labels_ = torch::Tensor();
  metricName_ = labels_.defined() ? "top-1 accuracy" : "top-1 agreement with fp32";
  floatMetric_ = metricOf(floatOutputs_);
}

double PlanEvaluator::metricOf(const torch::Tensor& outputs) const {
  return labels_.defined() ? topOneAccuracy(outputs, labels_) : topOneAgreement(outputs, floatOutputs_);
}

PlanMeasurement PlanEvaluator::measure(torch::jit::Module& quantized, bool withFileSize) const {
  const torch::Tensor outputs = predict(quantized, inputs_);
  PlanMeasurement m;
  m.metric = metricOf(outputs);
  const double signal = floatOutputs_.pow(2).sum().item<double>();
  const double noise = (floatOutputs_ - outputs).pow(2).sum().item<double>();
  m.sqnrDb = noise == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(signal / noise);
  if (withFileSize) m.fileBytes = serializedBytes(quantized);
  return m;
}

int64_t serializedBytes(const torch::jit::Module& module) {
  std::ostringstream out;
  module.save(out);
  return static_cast<int64_t>(out.str().size());
}

}  // namespace quantscope
