#pragma once
// The documented module API, names and defaults included. Each function throws Error on bad input and
// NotAvailableError for a technique that is not built, never a fake result.
#include <string>

#include "core/results/quantization_outcome.h"

namespace quantscope {

class Dataset;

class QuantizationTechniques {
 public:
  static QuantizationOutcome dynamic_quantization(const Model& model, const std::string& dtype = "qint8");
  // Static techniques calibrate on `calibration_data` (required; a C++ addition to the documented API).
  static QuantizationOutcome static_quantization(const Model& model, const std::string& qconfig = "fbgemm",
                                                 const Dataset* calibration_data = nullptr);
  // Training techniques train on `training_data` (required, labelled; a C++ addition to the documented API).
  static QuantizationOutcome quantization_aware_training(const Model& model,
                                                         const std::string& qconfig = "fbgemm",
                                                         const Dataset* training_data = nullptr);
  static QuantizationOutcome fx_graph_mode_quantization(const Model& model, const std::string& example_inputs,
                                                        const std::string& qconfig = "fbgemm",
                                                        const Dataset* calibration_data = nullptr);
};

class AdvancedQuantizationTechniques {
 public:
  // Calibrates on `calibration_data` (required); `options` are the technique's other parameters
  // (layer_bits, search, max_acc_drop, ...; C++ additions to the documented API).
  static QuantizationOutcome mixed_precision_quantization(const Model& model, int bits_weights = 8,
                                                          int bits_activations = 8,
                                                          const Dataset* calibration_data = nullptr,
                                                          const ParamValues& options = {});
  static QuantizationOutcome pruning_aware_quantization(const Model& model, double pruning_rate = 0.5,
                                                        const Dataset* training_data = nullptr);
  // The student trains against the teacher; `training_data` may be unlabelled (teacher only).
  static QuantizationOutcome knowledge_distillation_quantization(const Model& teacher, const Model& student,
                                                                 double temperature = 2.0,
                                                                 const Dataset* training_data = nullptr);
};

}  // namespace quantscope
