#include "core/training/training_options.h"

#include "core/params/param_values.h"

namespace quantscope {

std::vector<ParamSpec> trainingParams(const std::string& epochsName, int defaultEpochs,
                                      double defaultLearningRate) {
  char lr[32];
  std::snprintf(lr, sizeof(lr), "%g", defaultLearningRate);
  return {
      {epochsName,
       ParamType::Int,
       std::to_string(defaultEpochs),
       0,
       1000,
       {},
       "Training epochs over the training data."},
      {"batch_size", ParamType::Int, "32", 1, 4096, {}, "Samples per optimizer step."},
      {"optimizer", ParamType::Choice, "adam", 0, 0, {"adam", "sgd"}, "Adam, or SGD with momentum."},
      {"lr", ParamType::Float, lr, 1e-8, 10.0, {}, "Learning rate (peak, before the schedule's decay)."},
      {"momentum", ParamType::Float, "0.9", 0.0, 0.999, {}, "SGD momentum (sgd only)."},
      {"weight_decay", ParamType::Float, "0", 0.0, 1.0, {}, "L2 weight decay."},
      {"lr_schedule",
       ParamType::Choice,
       "cosine",
       0,
       0,
       {"cosine", "constant"},
       "cosine: decays the learning rate to 0 over all steps; constant keeps it."},
      {"label_smoothing", ParamType::Float, "0", 0.0, 0.5, {}, "Cross-entropy label smoothing."},
      {"random_shift",
       ParamType::Bool,
       "false",
       0,
       0,
       {},
       "Shift image inputs by up to 1 pixel at random while training."},
      {"validation_fraction",
       ParamType::Float,
       "0.1",
       0.0,
       0.5,
       {},
       "Fraction of the training data held out to measure validation accuracy after each epoch."},
      {"train_samples",
       ParamType::Int,
       "0",
       0,
       100000000,
       {},
       "Use at most this many training samples (0: all)."},
      {"seed",
       ParamType::Int,
       "0",
       0,
       2147483647,
       {},
       "Seed of shuffling, augmentation and the split: same seed, "
       "data and threads give identical weights."},
  };
}

TrainingOptions trainingOptionsFrom(const ParamValues& params, const std::string& epochsName) {
  const TypedParams p(params);
  TrainingOptions o;
  o.epochs = static_cast<int>(p.integer(epochsName));
  o.batchSize = p.integer("batch_size");
  o.optimizer = p.text("optimizer");
  o.learningRate = p.number("lr");
  o.momentum = p.number("momentum");
  o.weightDecay = p.number("weight_decay");
  o.schedule = p.text("lr_schedule");
  o.labelSmoothing = p.number("label_smoothing");
  o.randomShift = p.boolean("random_shift");
  o.validationFraction = p.number("validation_fraction");
  o.trainSamples = p.integer("train_samples");
  o.seed = static_cast<uint64_t>(p.integer("seed"));
  return o;
}

}  // namespace quantscope
