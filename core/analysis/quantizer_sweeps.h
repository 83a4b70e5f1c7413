#pragma once
// Per-quantizer sweeps on the int8 kernels, from the session's one calibration: each layer quantized alone
// (the others float), and each layer float alone (the others int8), converted per configuration as mixed
// precision does (a BitPlan with float layers). Internal: includes LibTorch.
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/analysis/analysis_session.h"

namespace quantscope {

struct QuantizerSweeps {
  std::vector<SweepPoint> enableOne, disableOne;
  AnalysisMeasurement baseline;          // full int8 on the sweep samples
  std::vector<std::string> worstLayers;  // ranked by what keeping the layer float recovers
  std::vector<std::string> notes;
};

// A cancel request ends the sweeps after the current layer, keeping the layers done (a note says so).
QuantizerSweeps sweepQuantizers(const AnalysisSession& session, torch::jit::Module& int8Model,
                                const Progress& progress);

// Ranks layers worst first: the metric recovered by keeping the layer float (rounded to 0.01 pt), then
// the output SQNR recovered, then the SQNR the layer costs when it is quantized alone.
std::vector<std::string> rankWorstLayers(const std::vector<SweepPoint>& enableOne,
                                         const std::vector<SweepPoint>& disableOne);

}  // namespace quantscope
