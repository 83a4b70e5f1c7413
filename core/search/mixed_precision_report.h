#pragma once
// What mixed precision measured besides the standard figures: each layer's sensitivity to each candidate
// bit-width, and every configuration the automatic search evaluated (size vs metric, Pareto front, the
// pick). Torch-free, so the window, the CLI and the JSON can show it.
#include <cstdint>
#include <string>
#include <vector>

namespace quantscope {

// One layer's weights at one candidate bit-width, every other weight float (activations int8 as in fx).
struct SensitivityRow {
  std::string layer;
  std::string bits;    // "4", "8": weight bits of that layer (activations at bits_activations)
  double metric = 0;   // the metric of the model with only this layer quantized (percent)
  double drop = 0;     // float metric minus `metric`, in points
  double sqnrDb = 0;   // the model output's SQNR against the float model
  double seconds = 0;  // time this row took (calibration, conversion, evaluation)
};

// One per-layer assignment the search built on the int8 kernels and evaluated.
struct SearchCandidate {
  std::string assignment;         // "conv1=8,conv2=4,fc1=float", every quantizable layer in graph order
  int64_t fileBytes = 0;          // the TorchScript file's size (serialized, sub-8-bit weights packed)
  int64_t packedWeightBytes = 0;  // theoretical weight bytes: numel * bits / 8, float layers at 4 bytes
  double metric = 0;              // percent
  double drop = 0;                // float metric minus `metric`, in points
  double sqnrDb = 0;
  bool withinBudget = false;  // meets max_acc_drop (accuracy search) or max_size_kb (size search)
  bool pareto = false;        // on the front of smaller file vs higher metric
  bool picked = false;        // the configuration the run returned
};

struct MixedPrecisionReport {
  std::string metricName;  // "top-1 accuracy" (labelled data) or "top-1 agreement with fp32"
  double floatMetric = 0;  // the float model's metric on the same samples
  int64_t samples = 0;     // samples the metric is measured on
  std::string search;      // "none", "accuracy", "size"
  std::string budget;      // "max_acc_drop=1 pt", "max_size_kb=60", empty for none
  std::vector<SensitivityRow> sensitivity;
  std::vector<SearchCandidate> candidates;
  std::string stoppedEarly;  // non-empty when a cancel cut sensitivity or search short: what was kept
  double sensitivitySeconds = 0;
  double searchSeconds = 0;

  bool empty() const { return sensitivity.empty() && candidates.empty(); }
};

// Marks the Pareto front (smaller file, higher metric) among `candidates`.
void markParetoFront(std::vector<SearchCandidate>& candidates);

}  // namespace quantscope
