#include "core/search/layer_sensitivity.h"

#include <chrono>

namespace quantscope {

SensitivityResult measureSensitivity(const SensitivityJob& job, const Progress& progress,
                                     std::vector<std::string>& skipped) {
  SensitivityResult result;
  BitPlan plan;
  for (const auto& layer : job.layers) plan.emplace_back(layer, LayerBits{8, job.settings.activationBits});
  if (progress.onUpdate) progress.onUpdate("Sensitivity: calibrating", 0.0);
  torch::jit::Module observed = observeForPlan(job.folded, plan, job.settings);
  calibrate(observed, job.calibrationInputs, /*batchSize=*/64, Progress{});
  BitPlan weightsFloat = plan;
  for (auto& entry : weightsFloat) entry.second.weightBits = 0;
  {
    MixedPrecisionModel baseline = convertPlan(observed, job.folded, weightsFloat);
    result.activationsOnly = job.evaluator->measure(baseline.module, /*withFileSize=*/false);
  }
  const double total = double(job.layers.size());
  for (size_t i = 0; i < job.layers.size(); ++i) {
    const std::string& layer = job.layers[i];
    if (progress.takeCancelRequest()) {
      result.cancelled = true;
      return result;
    }
    if (progress.onUpdate) {
      progress.onUpdate("Sensitivity: " + layer + " (" + std::to_string(i + 1) + " of " +
                            std::to_string(job.layers.size()) + ")",
                        double(i) / total);
    }
    try {
      for (int bits : job.candidateBits) {
        const auto start = std::chrono::steady_clock::now();
        BitPlan alone = weightsFloat;
        alone[i].second.weightBits = bits;
        applyLayerBits(observed, alone, job.settings.activationBits);
        computeObserverQParams(observed);
        MixedPrecisionModel model = convertPlan(observed, job.folded, alone);
        const PlanMeasurement m = job.evaluator->measure(model.module, /*withFileSize=*/false);
        SensitivityRow row;
        row.layer = layer;
        row.bits = std::to_string(bits);
        row.metric = m.metric;
        row.drop = job.evaluator->floatMetric() - m.metric;
        row.sqnrDb = m.sqnrDb;
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        result.rows.push_back(row);
      }
    } catch (const CancelledError&) {
      throw;
    } catch (const std::exception& e) {
      skipped.push_back(layer + ": " + e.what());
    }
    ++result.layersDone;
  }
  return result;
}

}  // namespace quantscope
