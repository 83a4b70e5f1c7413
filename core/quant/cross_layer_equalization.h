#pragma once
// Cross-layer equalization and high-bias absorption (Nagel et al. 2019, "Data-Free Quantization Through
// Weight Equalization and Bias Correction"), data free, on the batch-norm-folded float TorchScript module
// before observers go in. Also what the accuracy steps share: which Conv/Linear layer feeds which (through
// which activation), and the batch-norm statistics that folding removes. Internal: includes LibTorch.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

// `equalize` (Bool) and `bias_correction` (Choice off|empirical|analytical), appended to
// postTrainingParams() so static, fx and mixed all take them.
std::vector<ParamSpec> accuracyStepParams();

// What lies between two consecutive layers.
enum class LinkActivation { None, Relu, Relu6, Other };

// Layer `first`'s output reaches layer `second`'s input through at most one elementwise activation.
// `exclusive`: first's output goes only to that activation (or straight to second) and the activation's
// output only to second, so rescaling first's output channels changes nothing else in the model.
struct LayerLink {
  std::string first, second;
  LinkActivation activation = LinkActivation::None;
  bool exclusive = false;
};
// Links between Conv/Linear layers of a float module, each layer called once at the top level of forward
// (a layer called twice or inside a branch is left out: its weights serve several places).
std::vector<LayerLink> consecutiveLayers(const torch::jit::Module& floatModule);

// A batch norm's affine parameters, which are the mean (beta) and standard deviation (|gamma|) of its
// output over the data it was trained on; after cross-layer equalization and high-bias absorption, of the
// folded layer's output (scaled by 1/s, shifted by -c).
struct BatchNormStats {
  torch::Tensor gamma, beta;  // per channel, float
};
// The batch norm that follows each Conv layer of an unfolded module (the batch norm reads the layer's output
// alone), by layer name; names match the module foldedFloatCopy() makes from the same model.
std::map<std::string, BatchNormStats> batchNormsAfterLayers(const torch::jit::Module& unfolded);

struct EqualizedPair {
  std::string first, second;
  int64_t channels = 0;
  double scaleMin = 1, scaleMax = 1;  // the product of the per-channel scales over all iterations
  // max/min of the per-channel weight ranges that quantization sees: first's output channels and
  // second's input channels, before and after.
  double firstRatioBefore = 1, firstRatioAfter = 1, secondRatioBefore = 1, secondRatioAfter = 1;
};
struct AbsorbedBias {
  std::string first, second;
  int64_t channels = 0;  // channels with c > 0
  double maxShift = 0;   // largest c
};
struct EqualizationResult {
  std::vector<EqualizedPair> pairs;
  std::vector<AbsorbedBias> absorbed;
  std::vector<std::string> skipped;  // "conv3 -> conv4: through ReLU6, ..." (why a link was left alone)
  int iterations = 0;
  // One run note: "Cross-layer equalization: 3 pairs rescaled (...); high-bias absorption on 2."
  std::string note() const;
};

// Rescales every exclusive Conv/Linear pair of `folded` (in place) through ReLU or nothing with
// s_i = sqrt(r1_i * r2_i) / r2_i, sweeping all pairs until no scale moves by more than 1e-4 (chains
// conv1-conv2-conv3 need several sweeps), then absorbs c = max(0, beta - 3|gamma|) of each pair whose
// first layer has batch-norm statistics into the second layer's bias. `stats` (batchNormsAfterLayers of
// the unfolded model) is updated to describe the equalized layers' outputs. Pairs through ReLU6 are left
// alone (its clamp at 6 does not commute with scaling; AIMET replaces ReLU6 by ReLU first, which changes
// the float model).
EqualizationResult equalizeCrossLayer(torch::jit::Module& folded,
                                      std::map<std::string, BatchNormStats>& stats);

// Replaces every ReLU6 (relu6, or hardtanh/clamp between 0 and 6) in the methods of `folded` by ReLU, as
// AIMET's equalization and the DFQ paper do, so that pairs through it can be equalized. `folded` must be a
// copy (foldedFloatCopy clones every type with its methods): the caller's model keeps its ReLU6. Returns
// how many ReLU6 calls forward makes. This changes the float function wherever an activation exceeds 6.
int replaceRelu6WithRelu(torch::jit::Module& folded);

}  // namespace quantscope
