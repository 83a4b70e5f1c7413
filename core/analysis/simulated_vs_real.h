#pragma once
// Each layer's output SQNR against the float layer, three ways: fake-quantized (the simulation), on the int8
// kernels of the chosen engine, and on the other engine's. A gap above the threshold between simulation
// and either engine points at the kernels (or the engine), which a simulation-only tool cannot see.
// Internal: includes LibTorch.
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/analysis/analysis_session.h"

namespace quantscope {

struct SimulatedVsReal {
  std::vector<LayerSimulatedVsReal> layers;
  std::vector<std::string> notes;
};

SimulatedVsReal compareSimulatedWithReal(const AnalysisSession& session, const torch::jit::Module& int8Model,
                                         const torch::Tensor& inputs, double gapThresholdDb);

}  // namespace quantscope
