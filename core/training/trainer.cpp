#include "core/training/trainer.h"

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>

#include "core/data/batch_loader.h"
#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const std::vector<torch::Tensor>& params,
                                                       const TrainingOptions& o) {
  if (o.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.learningRate).momentum(o.momentum).weight_decay(o.weightDecay));
  }
  if (o.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(o.learningRate).weight_decay(o.weightDecay));
  }
  throw Error("Unknown optimizer '" + o.optimizer + "'.", "Use adam or sgd.");
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace

// Batch-norm folding and Module::clone compute new parameter tensors with autograd on; they become plain
// leaves again here.
std::vector<torch::Tensor> trainableParameters(torch::jit::Module& module) {
  std::vector<torch::Tensor> params;
  for (const auto& sub : module.named_modules()) {
    torch::jit::Module owner = sub.value;
    for (const auto& p : owner.named_parameters(/*recurse=*/false)) {
      torch::Tensor t = p.value;
      if (!t.is_leaf()) {
        t = t.detach();
        owner.register_parameter(p.name, t, /*is_buffer=*/false);
      }
      t.requires_grad_(true);
      params.push_back(t);
    }
  }
  if (params.empty()) throw Error("The model has no parameters to train.");
  return params;
}

TrainingData splitTrainingData(const Dataset& data, const TrainingOptions& options, bool needsLabels,
                               const std::string& technique) {
  if (data.info().size == 0) throw Error("The training data '" + data.info().name + "' has no samples.");
  if (needsLabels && !data.info().labelled) {
    throw Error(
        "'" + technique + "' trains with labels, and the training data '" + data.info().name + "' has none.",
        "Choose labelled training data (e.g. digits:train, an image folder, or a tensor file with 'y').");
  }
  if (data.info().dtype != ElementType::Float32) {
    throw Error("'" + technique + "' needs float inputs to train through fake quantization; the data '" +
                data.info().name + "' holds integer tokens.");
  }
  Dataset source = options.trainSamples > 0 ? data.shuffled(options.seed).head(options.trainSamples) : data;
  const auto [train, validation] = source.split(options.validationFraction, options.seed);
  if (train.info().size == 0)
    throw Error("No training samples are left after holding out the validation part.");
  TrainingData split;
  split.name = data.info().name;
  split.trainInputs = train.impl().inputs;
  split.trainLabels = train.impl().labels;
  split.validationInputs = validation.impl().inputs;
  split.validationLabels = validation.impl().labels;
  return split;
}

torch::Tensor crossEntropy(const torch::Tensor& outputs, const torch::Tensor& labels, double smoothing) {
  const torch::Tensor logProbabilities = torch::log_softmax(outputs, 1);
  const torch::Tensor nll = -logProbabilities.gather(1, labels.unsqueeze(1)).squeeze(1);
  if (smoothing == 0.0) return nll.mean();
  return ((1.0 - smoothing) * nll - smoothing * logProbabilities.mean(1)).mean();
}

torch::Tensor predict(torch::jit::Module& module, const torch::Tensor& inputs, int64_t batchSize) {
  torch::NoGradGuard noGrad;
  const bool wasTraining = module.is_training();
  module.eval();
  std::vector<torch::Tensor> outputs;
  for (int64_t start = 0; start < inputs.size(0); start += batchSize) {
    const torch::Tensor batch = inputs.slice(0, start, std::min(inputs.size(0), start + batchSize));
    outputs.push_back(
        firstTensorOutput(module.forward({batch})).to(torch::kFloat).reshape({batch.size(0), -1}));
  }
  if (wasTraining) module.train();
  return outputs.empty() ? torch::Tensor() : torch::cat(outputs);
}

double topOneAccuracy(const torch::Tensor& outputs, const torch::Tensor& labels) {
  if (!outputs.defined() || outputs.size(0) == 0) return -1;
  return 100.0 * outputs.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
}

double topOneAgreement(const torch::Tensor& outputs, const torch::Tensor& reference) {
  if (!outputs.defined() || outputs.size(0) == 0) return -1;
  return 100.0 * outputs.argmax(1).eq(reference.argmax(1)).to(torch::kDouble).mean().item<double>();
}

TrainingCurve trainModule(torch::jit::Module& module, const TrainingData& data,
                          const TrainingOptions& options, const TrainingHooks& hooks,
                          const std::string& series, const Progress& progress, EpochRange range) {
  const int endEpoch = range.end < 0 ? options.epochs : range.end;
  // Dropout and anything else that draws from the global generator.
  torch::manual_seed(options.seed * 1000003 + static_cast<uint64_t>(range.begin));
  const std::vector<torch::Tensor> params = trainableParameters(module);
  auto optimizer = makeOptimizer(params, options);
  auto loss = hooks.loss;
  if (!loss) {
    loss = [&](const torch::Tensor& out, const torch::Tensor&, const torch::Tensor& y, const torch::Tensor&) {
      return crossEntropy(out, y, options.labelSmoothing);
    };
  }
  BatchOptions batching;
  batching.batchSize = options.batchSize;
  batching.seed = options.seed;
  if (options.randomShift) batching.augmentation = randomShiftAugmentation();
  BatchLoader batches(data.trainInputs, data.trainLabels, batching);
  const int64_t n = batches.samples();
  const int64_t stepsPerEpoch = batches.batchesPerEpoch();
  const int64_t totalSteps = stepsPerEpoch * options.epochs;
  const int64_t firstStep = stepsPerEpoch * range.begin,
                phaseSteps = stepsPerEpoch * (endEpoch - range.begin);
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return range.elapsedBefore +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  TrainingCurve curve;
  int64_t step = firstStep;
  for (int epoch = range.begin; epoch < endEpoch; ++epoch) {
    if (hooks.beforeEpoch) hooks.beforeEpoch(epoch);
    module.train();
    batches.startEpoch(epoch);
    double lossSum = 0, correct = 0;
    for (std::optional<Batch> batch = batches.next(); batch; batch = batches.next(), ++step) {
      const double lr =
          options.schedule == "cosine"
              ? options.learningRate * 0.5 * (1.0 + std::cos(kPi * double(step) / double(totalSteps)))
              : options.learningRate;
      progress.update("Training " + series + ": epoch " + std::to_string(epoch + 1) + "/" +
                          std::to_string(options.epochs),
                      double(step - firstStep) / double(phaseSteps));
      setLearningRate(*optimizer, lr);
      const torch::Tensor& inputs = batch->inputs;
      const torch::Tensor& labels = batch->labels;
      const torch::Tensor& index = batch->indices;
      optimizer->zero_grad();
      const torch::Tensor outputs =
          firstTensorOutput(module.forward({inputs})).to(torch::kFloat).reshape({inputs.size(0), -1});
      const torch::Tensor value = loss(outputs, inputs, labels, index);
      const double lossValue = value.item<double>();
      if (!std::isfinite(lossValue)) {
        char message[200];
        std::snprintf(message, sizeof(message),
                      "Training diverged: the loss became %s at epoch %d, step %lld (learning rate %g).",
                      std::isnan(lossValue) ? "NaN" : "infinite", epoch + 1,
                      static_cast<long long>(step - epoch * stepsPerEpoch + 1), lr);
        throw Error(message,
                    "Try a lower learning rate, e.g. lr=" + std::to_string(options.learningRate / 10) + ".");
      }
      value.backward();
      optimizer->step();
      if (hooks.afterStep) hooks.afterStep(step + 1, totalSteps);
      lossSum += lossValue * double(index.size(0));
      if (labels.defined()) correct += outputs.argmax(1).eq(labels).sum().item<double>();
      TrainingPoint point;
      point.series = series;
      point.epoch = epoch;
      point.step = step + 1;
      point.loss = lossValue;
      point.learningRate = lr;
      point.elapsedSeconds = elapsed();
      progress.trainingPoint(point);
      curve.push_back(point);
    }
    TrainingPoint end;
    end.series = series;
    end.epoch = epoch;
    end.step = step;
    end.endOfEpoch = true;
    end.loss = lossSum / double(n);
    end.learningRate = curve.back().learningRate;
    if (data.labelled()) end.trainAccuracy = 100.0 * correct / double(n);
    if (data.validationInputs.defined() && data.validationInputs.size(0) > 0) {
      progress.update("Validating " + series + " after epoch " + std::to_string(epoch + 1),
                      double(step - firstStep) / double(phaseSteps));
      if (data.validationLabels.defined()) {
        end.validationAccuracy =
            topOneAccuracy(predict(module, data.validationInputs), data.validationLabels);
      }
      if (hooks.validationAgreement) end.validationAgreement = hooks.validationAgreement(module);
    }
    end.elapsedSeconds = elapsed();
    progress.trainingPoint(end);
    curve.push_back(end);
  }
  module.eval();
  return curve;
}

}  // namespace quantscope
