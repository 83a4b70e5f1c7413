#include "core/search/layer_sensitivity.h"

#include <chrono>

namespace quantscope {

SensitivityResult measureSensitivity(const SensitivityJob& job, const Progress& progress,
                                     std::vector<std::string>& skipped) {
  SensitivityResult result;
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
    BitPlan alone;
    for (const auto& other : job.layers) alone.emplace_back(other, LayerBits{other == layer ? 8 : 0, 8});
    alone[i].second.activationBits = job.settings.activationBits;
    try {
      auto start = std::chrono::steady_clock::now();
      torch::jit::Module observed = observeForPlan(job.folded, alone, job.settings, /*wholeGraph=*/false);
      calibrate(observed, job.calibrationInputs, /*batchSize=*/64, Progress{});
      double calibrationSeconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (int bits : job.candidateBits) {
        start = std::chrono::steady_clock::now();
        setObserverBits(observed, /*weights=*/true, bits);
        computeObserverQParams(observed);
        alone[i].second.weightBits = bits;
        MixedPrecisionModel model = convertPlan(observed, job.folded, alone);
        const PlanMeasurement m = job.evaluator->measure(model.module);
        SensitivityRow row;
        row.layer = layer;
        row.bits = std::to_string(bits);
        row.metric = m.metric;
        row.drop = job.evaluator->floatMetric() - m.metric;
        row.sqnrDb = m.sqnrDb;
        // The layer's one calibration is shared by its bit-widths: each row carries its share.
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() +
                      calibrationSeconds / double(job.candidateBits.size());
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
