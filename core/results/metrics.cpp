#include "core/results/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/errors.h"

namespace quantscope {

int64_t argmaxOfRow(const Matrix& m, int64_t row) {
  const auto begin = m.values.begin() + row * m.cols;
  return std::max_element(begin, begin + m.cols) - begin;
}

AccuracyMetrics computeAccuracy(const Matrix& logits, const std::vector<int64_t>& labels) {
  AccuracyMetrics result;
  if (labels.empty() || logits.rows == 0) return result;
  if (static_cast<int64_t>(labels.size()) != logits.rows) {
    throw Error("Internal: " + std::to_string(labels.size()) + " labels for " + std::to_string(logits.rows) +
                " outputs.");
  }
  result.available = true;
  result.samples = logits.rows;
  result.hasTop5 = logits.cols >= 5;
  int64_t top1 = 0, top5 = 0;
  std::vector<int64_t> order(static_cast<size_t>(logits.cols));
  for (int64_t r = 0; r < logits.rows; ++r) {
    const int64_t label = labels[static_cast<size_t>(r)];
    if (argmaxOfRow(logits, r) == label) ++top1;
    if (result.hasTop5) {
      // The label is in the top 5 when fewer than 5 classes score strictly higher.
      const float labelScore =
          label < logits.cols ? logits.at(r, label) : -std::numeric_limits<float>::infinity();
      int64_t higher = 0;
      for (int64_t c = 0; c < logits.cols; ++c) higher += logits.at(r, c) > labelScore ? 1 : 0;
      if (label < logits.cols && higher < 5) ++top5;
    }
  }
  result.top1 = static_cast<double>(top1) / static_cast<double>(logits.rows);
  result.top5 = result.hasTop5 ? static_cast<double>(top5) / static_cast<double>(logits.rows) : 0.0;
  return result;
}

double signalToQuantizationNoiseDb(const std::vector<float>& reference, const std::vector<float>& candidate) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double r = reference[i], d = r - static_cast<double>(candidate[i]);
    signal += r * r;
    noise += d * d;
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

FidelityMetrics computeFidelity(const Matrix& reference, const Matrix& candidate) {
  if (reference.rows != candidate.rows || reference.cols != candidate.cols) {
    throw Error("The quantized model's outputs (" + std::to_string(candidate.rows) + "x" +
                std::to_string(candidate.cols) + ") do not match the original's (" +
                std::to_string(reference.rows) + "x" + std::to_string(reference.cols) + ").");
  }
  FidelityMetrics result;
  if (reference.rows == 0) return result;
  result.available = true;
  result.samples = reference.rows;
  int64_t agree = 0;
  for (int64_t r = 0; r < reference.rows; ++r)
    agree += argmaxOfRow(reference, r) == argmaxOfRow(candidate, r);
  result.top1Agreement = static_cast<double>(agree) / static_cast<double>(reference.rows);
  result.sqnrDb = signalToQuantizationNoiseDb(reference.values, candidate.values);
  double dot = 0, refNorm = 0, candNorm = 0;
  for (size_t i = 0; i < reference.values.size(); ++i) {
    const double a = reference.values[i], b = candidate.values[i];
    result.maxAbsError = std::max(result.maxAbsError, std::abs(a - b));
    dot += a * b;
    refNorm += a * a;
    candNorm += b * b;
  }
  result.cosineSimilarity = (refNorm > 0 && candNorm > 0) ? dot / std::sqrt(refNorm * candNorm) : 0.0;
  return result;
}

}  // namespace quantscope
