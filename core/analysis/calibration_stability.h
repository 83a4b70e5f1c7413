#pragma once
// Calibration stability: the full int8 model's metric when calibrated on random subsets of the calibration
// data (seeded), each converted and measured the same way; mean and spread. Internal: includes LibTorch.
#include <torch/script.h>

#include "core/analysis/analysis_session.h"

namespace quantscope {

// Subsets of min(calib_samples, 4/5 of the data) samples, so that subsets differ even when the
// calibration data holds no more than calib_samples; seeds seed, seed+1, ...
CalibrationStability measureCalibrationStability(const AnalysisSession& session,
                                                 const torch::Tensor& calibrationData, int runs,
                                                 uint64_t seed, const Progress& progress);

}  // namespace quantscope
