#pragma once
// Per-channel weight ranges of each layer (folded float weights, max - min per output channel) with outlier
// channels marked, and the activation range calibration chose for each layer's output (the int8 op's
// output scale and zero point over the quint8 grid). Internal: includes LibTorch.
#include <torch/script.h>

#include <vector>

#include "core/analysis/analysis_session.h"

namespace quantscope {

std::vector<LayerRanges> measureRanges(const AnalysisSession& session, const torch::jit::Module& int8Model,
                                       double outlierFactor);

}  // namespace quantscope
