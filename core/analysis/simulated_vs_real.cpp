#include "core/analysis/simulated_vs_real.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "core/analysis/four_way_comparison.h"
#include "core/analysis/int8_layer_ops.h"
#include "core/internal/layer_outputs.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"
#include "core/runtime/runtime_info.h"
#include "core/technique_registry.h"

namespace quantscope {
namespace {

double sqnrDb(const torch::Tensor& reference, const torch::Tensor& candidate) {
  const double signal = reference.to(torch::kDouble).pow(2).sum().item<double>();
  const double noise =
      (reference.to(torch::kDouble) - candidate.to(torch::kDouble)).pow(2).sum().item<double>();
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

// Output SQNR per layer of an int8 model, as the per-layer report measures it.
std::map<std::string, double> realLayerSqnr(const AnalysisSession& session,
                                            const torch::jit::Module& int8Model,
                                            const torch::Tensor& inputs) {
  std::vector<LayerQuantization> layers =
      reportWeightQuantization(session.folded, int8Model, convAndLinearTypes());
  addLayerOutputSqnr(session.folded, int8Model, inputs, layers);
  std::map<std::string, double> sqnr;
  for (const auto& layer : layers)
    if (layer.hasOutputSqnr) sqnr[layer.layer] = layer.outputSqnrDb;
  return sqnr;
}

bool gapAbove(double a, double b, double threshold) {
  if (std::isinf(a) && std::isinf(b) && (a > 0) == (b > 0)) return false;
  return std::abs(a - b) > threshold;
}

}  // namespace

SimulatedVsReal compareSimulatedWithReal(const AnalysisSession& session, const torch::jit::Module& int8Model,
                                         const torch::Tensor& inputs, double gapThresholdDb) {
  SimulatedVsReal result;
  torch::NoGradGuard noGrad;
  const std::map<std::string, double> real = realLayerSqnr(session, int8Model, inputs);

  std::map<std::string, double> other;
  if (!session.otherEngine.empty()) {
    try {
      useQuantizedEngine(session.otherEngine);  // packed for the engine active at Finalize, run on it too
      const torch::jit::Module otherModel = session.convert(session.allInt8);
      other = realLayerSqnr(session, otherModel, inputs);
      useQuantizedEngine(session.engine);
    } catch (const std::exception& e) {
      useQuantizedEngine(session.engine);
      result.notes.push_back("The " + session.otherEngine +
                             " kernels could not run this recipe: " + shortTorchMessage(e));
    }
  } else {
    result.notes.push_back("Only one quantized engine is available: no second engine to compare with.");
  }

  // The simulation: the float layers' outputs in the fake-quantized model, rounded to the grid the int8 op
  // writes its output on (the fake-quant model rounds that value only where the next op reads it).
  FloatLayerOutputs reference, simulated;
  captureLayerOutputs(session.folded, inputs, reference);
  torch::jit::Module fakeQuant = simulatedModel(session, SimulatedPart::Both);
  captureLayerOutputs(fakeQuant, inputs, simulated);
  const std::map<std::string, Int8LayerOp> ops = int8LayerOps(session.folded, int8Model);

  for (const auto& layer : session.layers) {
    LayerSimulatedVsReal row;
    row.layer = layer;
    const auto r = real.find(layer);
    if (r != real.end()) row.realDb = r->second, row.hasReal = true;
    const auto o = other.find(layer);
    if (o != other.end()) row.otherEngineDb = o->second, row.hasOtherEngine = true;
    const auto ref = reference.byLayer.find(layer);
    const auto sim = simulated.byLayer.find(layer);
    const auto op = ops.find(layer);
    if (ref == reference.byLayer.end() || sim == simulated.byLayer.end() || op == ops.end()) {
      row.note =
          "simulated output not measured (the layer runs more than once, inside a branch, or fused "
          "beyond a ReLU)";
    } else {
      torch::Tensor refOut = ref->second.tensor.to(torch::kFloat);
      torch::Tensor simOut = sim->second.tensor.to(torch::kFloat);
      const bool relu = op->second.fusedRelu || ref->second.afterRelu || sim->second.afterRelu;
      if (relu) refOut = torch::relu(refOut), simOut = torch::relu(simOut);
      simOut = torch::fake_quantize_per_tensor_affine(simOut, op->second.outputScale,
                                                      op->second.outputZeroPoint, 0, 255);
      row.simulatedDb = sqnrDb(refOut, simOut);
      row.hasSimulated = true;
    }
    if (!row.hasReal && row.note.empty()) row.note = "int8 output not measured on " + session.engine;
    char text[160];
    if (row.hasSimulated && row.hasReal && gapAbove(row.simulatedDb, row.realDb, gapThresholdDb)) {
      row.flagged = true;
      std::snprintf(text, sizeof(text), "%s kernels %+.1f dB from the simulation", session.engine.c_str(),
                    row.realDb - row.simulatedDb);
      row.note += (row.note.empty() ? "" : "; ") + std::string(text);
    }
    if (row.hasSimulated && row.hasOtherEngine &&
        gapAbove(row.simulatedDb, row.otherEngineDb, gapThresholdDb)) {
      row.flagged = true;
      std::snprintf(text, sizeof(text), "%s kernels %+.1f dB from the simulation",
                    session.otherEngine.c_str(), row.otherEngineDb - row.simulatedDb);
      row.note += (row.note.empty() ? "" : "; ") + std::string(text);
    }
    result.layers.push_back(std::move(row));
  }
  return result;
}

}  // namespace quantscope
