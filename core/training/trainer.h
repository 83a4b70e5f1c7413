#pragma once
// QuantScope's one training loop: trains a TorchScript module's own parameters from C++ (gradients through
// the scripted graph, torch::optim), as pytorch/examples' cpp/mnist does for a C++ module. Every training
// technique (qat, pruning, distillation) runs it; what differs is the loss and the hooks. Internal.
#include <torch/script.h>

#include <functional>
#include <string>

#include "core/progress.h"
#include "core/training/training_curve.h"
#include "core/training/training_options.h"

namespace quantscope {

class Dataset;

// The training data split into what trains and what validates after each epoch (seeded, reproducible).
struct TrainingData {
  torch::Tensor trainInputs, trainLabels;            // labels undefined when the data has none
  torch::Tensor validationInputs, validationLabels;  // may be empty
  std::string name;
  bool labelled() const { return trainLabels.defined(); }
};

// Throws Error when there is nothing to train on, or (when `needsLabels`) the data has no labels.
TrainingData splitTrainingData(const Dataset& data, const TrainingOptions& options, bool needsLabels,
                               const std::string& technique);

struct TrainingHooks {
  // outputs (the model's first output, float), the batch's inputs (augmented), labels (undefined when
  // unlabelled) and sample indices into the training inputs -> scalar loss. Default: cross entropy with the
  // options' label smoothing.
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                              const torch::Tensor&)>
      loss;
  std::function<void(int epoch)> beforeEpoch;                       // e.g. freeze observers
  std::function<void(int64_t step, int64_t totalSteps)> afterStep;  // e.g. re-apply pruning masks
  // Agreement (%) of the module with a reference on the validation inputs, e.g. the teacher's; optional.
  std::function<double(torch::jit::Module&)> validationAgreement;
};

// Which epochs of options.epochs one call trains: a technique that changes the model between epochs (folds
// batch norms) trains in phases; the learning-rate schedule and step numbers span all of them.
struct EpochRange {
  int begin = 0;
  int end = -1;              // -1: options.epochs
  double elapsedBefore = 0;  // seconds earlier phases took, so the curve's clock runs on
};

// Trains `module` in place; streams a point per step and per epoch to `progress` under `series` and
// returns them. Each epoch's shuffle is seeded by (seed, epoch), so phases and reruns agree. Cancel is
// checked every step. Throws Error on a NaN/Inf loss. Progress fractions are of the given range.
TrainingCurve trainModule(torch::jit::Module& module, const TrainingData& data,
                          const TrainingOptions& options, const TrainingHooks& hooks,
                          const std::string& series, const Progress& progress, EpochRange range = {});

// Every parameter of the module as a leaf that records gradients (what the optimizer updates).
std::vector<torch::Tensor> trainableParameters(torch::jit::Module& module);

// The module's first output over `inputs` in eval mode, in batches, without gradients.
torch::Tensor predict(torch::jit::Module& module, const torch::Tensor& inputs, int64_t batchSize = 256);
// Top-1 accuracy (%) of `outputs` against `labels`; top-1 agreement (%) of two outputs.
double topOneAccuracy(const torch::Tensor& outputs, const torch::Tensor& labels);
double topOneAgreement(const torch::Tensor& outputs, const torch::Tensor& reference);
// Cross entropy with label smoothing, as torch.nn.functional.cross_entropy(label_smoothing=...).
torch::Tensor crossEntropy(const torch::Tensor& outputs, const torch::Tensor& labels, double smoothing);

}  // namespace quantscope
