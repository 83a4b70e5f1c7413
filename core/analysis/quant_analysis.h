#pragma once
// The quant analyzer: a technique-independent analysis of how int8 quantization of a model loses accuracy,
// for one model, data and recipe (the `fx` parameters: qconfig, engine, observer, calib_samples, percentile).
// Where the loss comes from (weights or activations), which layers cause it, whether the simulation agrees
// with the real kernels, whether calibration is stable, how the ranges look, and what to do about it.
// Torch-free: the window, the CLI and the JSON use these plain structs.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/progress.h"
#include "core/results/quantization_outcome.h"
#include "core/technique_registry.h"

namespace quantscope {

class Model;
class Dataset;

// The model's figure on the evaluation samples, against the float model's outputs.
struct AnalysisMeasurement {
  double metric = 0;  // percent: top-1 accuracy (labelled data) or top-1 agreement with fp32
  double drop = 0;    // fp32 metric minus `metric`, in points
  double sqnrDb = 0;  // model output against the fp32 output (infinity for fp32 itself)
};

// One row of the four-way comparison.
struct FourWayRow {
  std::string name;  // "fp32", "weights only", "activations only", "full int8"
  std::string how;   // "float", "simulated (fake quantization)", "int8 kernels (onednn)"
  bool simulated = false;
  AnalysisMeasurement measured;
};

// One configuration of a per-quantizer sweep, on the int8 kernels.
struct SweepPoint {
  std::string layer;
  AnalysisMeasurement measured;
};

// One layer's output SQNR against the float layer under fake quantization and on the int8 kernels of
// both engines.
struct LayerSimulatedVsReal {
  std::string layer;
  double simulatedDb = 0;
  double realDb = 0;         // the chosen engine
  double otherEngineDb = 0;  // the other engine (onednn / qnnpack)
  bool hasSimulated = false, hasReal = false, hasOtherEngine = false;
  bool flagged = false;  // a measured gap between simulated and either real figure above the threshold
  std::string note;      // why a figure is missing, or which gap was flagged
};

// A layer's weight range per output channel (max - min of the folded float weights) and the activation
// range the calibration chose for its output.
struct LayerRanges {
  std::string layer;
  std::vector<double> channelRanges;
  double medianChannelRange = 0;
  std::vector<int> outlierChannels;  // range > outlier factor x the median channel range
  double activationMin = 0, activationMax = 0;
  bool hasActivationRange = false;
};

struct CalibrationStability {
  int64_t subsetSize = 0;
  std::vector<uint64_t> seeds;
  std::vector<AnalysisMeasurement> runs;    // one per random calibration subset
  double metricMean = 0, metricSpread = 0;  // spread: sample standard deviation, in points
  double sqnrMean = 0, sqnrSpread = 0;
};

struct Recommendation {
  std::string summary;                // the advice in words
  std::vector<std::string> findings;  // each rule that fired, with the numbers behind it
  std::string technique;              // what to run: "fx", "mixed"
  ParamValues params;                 // its parameters (beyond the analyzed recipe)
  std::string paramText() const;      // "equalize=true qconfig=qnnpack"
};

struct QuantAnalysisOptions {
  ParamValues recipe;          // fx parameters; missing ones take fx's defaults
  int64_t evalSamples = 512;   // evaluation samples for the four-way rows and the stability runs
  int64_t sweepSamples = 256;  // evaluation samples for each sweep configuration
  int stabilityRuns = 5;
  uint64_t seed = 1;
  double outlierFactor = 5.0;  // a channel is an outlier when its range exceeds this x the layer's median
  double gapThresholdDb = 3.0;
};

struct QuantAnalysis {
  std::string modelName;
  std::string dataName;  // what the metric is measured on
  std::string calibrationName;
  int64_t evalSamples = 0, sweepSamples = 0, calibrationSamples = 0;
  std::string metricName;  // "top-1 accuracy" or "top-1 agreement with fp32"
  ParamValues recipe;      // the resolved fx parameters analyzed
  bool perChannelWeights = false;
  std::string engine, otherEngine;
  double outlierFactor = 5.0, gapThresholdDb = 3.0;

  std::vector<FourWayRow> fourWay;
  std::vector<SweepPoint> enableOne;     // only this layer quantized, the others float
  std::vector<SweepPoint> disableOne;    // only this layer float, the others int8
  AnalysisMeasurement sweepBaseline;     // full int8 on the sweep samples, what both curves are read against
  std::vector<std::string> worstLayers;  // ranked: most metric (then SQNR) recovered by keeping it float
  std::vector<LayerSimulatedVsReal> simulatedVsReal;
  CalibrationStability stability;
  std::vector<LayerRanges> ranges;
  Recommendation recommendation;
  std::vector<std::string> notes;
  std::vector<std::pair<std::string, double>> seconds;  // time per part
};

// The recipe parameters the analyzer takes: fx's.
std::vector<ParamSpec> quantAnalysisParams();

// Runs every part. `evaluation` may be null: the calibration data is then measured on (a note says so).
// Progress per part; cancel throws CancelledError. Bad input throws Error.
QuantAnalysis analyzeQuantization(const Model& model, const Dataset& calibration, const Dataset* evaluation,
                                  const QuantAnalysisOptions& options, const Progress& progress = {});

}  // namespace quantscope
