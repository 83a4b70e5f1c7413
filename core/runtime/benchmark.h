#pragma once
// Latency measurement: warm-up runs, a fixed thread count, inference mode, percentiles.
#include <cstdint>
#include <vector>

#include "core/model/input_spec.h"
#include "core/progress.h"

namespace quantscope {

class Model;

struct BenchmarkOptions {
  int warmupRuns = 10;
  int threads = 2;
};

struct LatencyStats {
  bool available = false;
  int runs = 0;
  int warmupRuns = 0;
  int threads = 0;
  std::vector<int64_t> inputShape;
  double meanMs = 0, medianMs = 0, p10Ms = 0, p90Ms = 0, p99Ms = 0, minMs = 0, maxMs = 0, stddevMs = 0;
  double throughputSamplesPerSecond = 0;  // batch size / median latency
};

// Percentile with linear interpolation between closest ranks (numpy's default); `q` in 0..100.
double percentile(std::vector<double> values, double q);
LatencyStats summarizeLatencies(const std::vector<double>& millis, int64_t batchSize);

LatencyStats benchmark_inference_speed(const Model& model, const InputSpec& input_shape, int num_runs = 100,
                                       const BenchmarkOptions& options = {}, const Progress& progress = {});

}  // namespace quantscope
