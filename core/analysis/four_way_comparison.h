#pragma once
// fp32, weights-only, activations-only and full int8 side by side: which half of quantization costs the
// accuracy. Weights-only and activations-only are fake-quantized (simulated) with the same ranges the
// calibration chose; full int8 runs on the int8 kernels. Internal: includes LibTorch.
#include <torch/script.h>

#include <vector>

#include "core/analysis/analysis_session.h"

namespace quantscope {

enum class SimulatedPart { Weights, Activations, Both };

// A fake-quantized copy of the session's float model: weight ranges from the weights (symmetric, per
// channel as the recipe says), activation ranges copied from the session's calibrated observers; only the
// chosen part rounds.
torch::jit::Module simulatedModel(const AnalysisSession& session, SimulatedPart part);

std::vector<FourWayRow> compareFourWays(const AnalysisSession& session, torch::jit::Module& int8Model);

}  // namespace quantscope
