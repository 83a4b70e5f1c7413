#pragma once
// Accuracy and fidelity metrics on plain matrices of model outputs (rows = samples).
#include <cstdint>
#include <vector>

namespace quantscope {

struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;  // row-major
  float at(int64_t row, int64_t col) const { return values[static_cast<size_t>(row * cols + col)]; }
};

struct AccuracyMetrics {
  bool available = false;  // false for unlabelled data
  int64_t samples = 0;
  double top1 = 0.0;  // fraction 0..1
  bool hasTop5 = false;
  double top5 = 0.0;
};

struct FidelityMetrics {
  bool available = false;
  int64_t samples = 0;
  double top1Agreement = 0.0;  // fraction of samples whose argmax matches the reference
  double sqnrDb = 0.0;         // 10 log10(sum ref^2 / sum (ref - out)^2); +inf when identical
  double maxAbsError = 0.0;
  double cosineSimilarity = 0.0;  // over all outputs flattened
};

int64_t argmaxOfRow(const Matrix& m, int64_t row);
AccuracyMetrics computeAccuracy(const Matrix& logits, const std::vector<int64_t>& labels);
FidelityMetrics computeFidelity(const Matrix& reference, const Matrix& candidate);
double signalToQuantizationNoiseDb(const std::vector<float>& reference, const std::vector<float>& candidate);

}  // namespace quantscope
