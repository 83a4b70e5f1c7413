#include "core/runtime/benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/runtime/runtime_info.h"

namespace quantscope {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = q / 100.0 * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<size_t>(std::floor(rank));
  const size_t upper = std::min(lower + 1, values.size() - 1);
  return values[lower] + (rank - static_cast<double>(lower)) * (values[upper] - values[lower]);
}

LatencyStats summarizeLatencies(const std::vector<double>& millis, int64_t batchSize) {
  LatencyStats stats;
  if (millis.empty()) return stats;
  stats.available = true;
  stats.runs = static_cast<int>(millis.size());
  const double n = static_cast<double>(millis.size());
  stats.meanMs = std::accumulate(millis.begin(), millis.end(), 0.0) / n;
  double squares = 0;
  for (double m : millis) squares += (m - stats.meanMs) * (m - stats.meanMs);
  stats.stddevMs = millis.size() > 1 ? std::sqrt(squares / (n - 1)) : 0.0;
  stats.medianMs = percentile(millis, 50);
  stats.p10Ms = percentile(millis, 10);
  stats.p90Ms = percentile(millis, 90);
  stats.p99Ms = percentile(millis, 99);
  stats.minMs = *std::min_element(millis.begin(), millis.end());
  stats.maxMs = *std::max_element(millis.begin(), millis.end());
  stats.throughputSamplesPerSecond =
      stats.medianMs > 0 ? static_cast<double>(batchSize) * 1000.0 / stats.medianMs : 0;
  return stats;
}

LatencyStats benchmark_inference_speed(const Model& model, const InputSpec& input_shape, int num_runs,
                                       const BenchmarkOptions& options, const Progress& progress) {
  if (num_runs < 1) throw Error("The benchmark needs at least 1 run, got " + std::to_string(num_runs) + ".");
  if (options.threads < 1) throw Error("The benchmark needs at least 1 thread.");
  configureRuntime(options.threads);
  activateEngineOf(model);
  model.checkInput(input_shape);
  torch::InferenceMode inference;
  torch::manual_seed(0);
  const torch::Tensor input = makeInput(input_shape, /*random=*/true);
  const int total = options.warmupRuns + num_runs;
  std::vector<double> millis;
  millis.reserve(static_cast<size_t>(num_runs));
  for (int i = 0; i < total; ++i) {
    progress.update("Benchmarking " + model.displayName(), static_cast<double>(i) / total);
    const auto start = std::chrono::steady_clock::now();
    forwardOrExplain(model, input);
    const auto stop = std::chrono::steady_clock::now();
    if (i >= options.warmupRuns)
      millis.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  LatencyStats stats = summarizeLatencies(millis, input_shape.shape.empty() ? 1 : input_shape.shape[0]);
  stats.warmupRuns = options.warmupRuns;
  stats.threads = options.threads;
  stats.inputShape = input_shape.shape;
  return stats;
}

}  // namespace quantscope
