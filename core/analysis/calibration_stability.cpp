#include "core/analysis/calibration_stability.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace quantscope {
namespace {

std::pair<double, double> meanAndSpread(const std::vector<double>& values) {
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, values.size() > 1 ? std::sqrt(squares / double(values.size() - 1)) : 0.0};
}

}  // namespace

CalibrationStability measureCalibrationStability(const AnalysisSession& session,
                                                 const torch::Tensor& calibrationData, int runs,
                                                 uint64_t seed, const Progress& progress) {
  CalibrationStability stability;
  const int64_t available = calibrationData.size(0);
  stability.subsetSize =
      std::max<int64_t>(1, std::min<int64_t>(session.calibrationInputs.size(0), available * 4 / 5));
  std::vector<double> metrics, sqnrs;
  for (int run = 0; run < runs; ++run) {
    progress.update("Analyzer: calibration subset " + std::to_string(run + 1) + " of " + std::to_string(runs),
                    double(run) / double(runs));
    const uint64_t runSeed = seed + uint64_t(run);
    std::vector<int64_t> order(static_cast<size_t>(available));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 random(runSeed);
    std::shuffle(order.begin(), order.end(), random);
    order.resize(static_cast<size_t>(stability.subsetSize));
    const torch::Tensor subset = calibrationData.index_select(0, torch::tensor(order, torch::kLong));
    const torch::jit::Module observed = calibratedObserved(session, subset);
    torch::jit::Module int8Model = convertPlan(observed, session.folded, session.allInt8).module;
    const AnalysisMeasurement m = session.measure(int8Model, *session.evaluator);
    stability.seeds.push_back(runSeed);
    stability.runs.push_back(m);
    metrics.push_back(m.metric);
    sqnrs.push_back(m.sqnrDb);
  }
  std::tie(stability.metricMean, stability.metricSpread) = meanAndSpread(metrics);
  std::tie(stability.sqnrMean, stability.sqnrSpread) = meanAndSpread(sqnrs);
  return stability;
}

}  // namespace quantscope
