#pragma once
// The knobs of QuantScope's one training loop, shared by every technique that trains (qat, pruning,
// distillation). Each is a typed registry parameter, so forms and CLI flags are generated from them.
#include <cstdint>
#include <string>
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

struct TrainingOptions {
  int epochs = 3;
  int64_t batchSize = 32;
  std::string optimizer = "adam";  // "adam" or "sgd" (with momentum)
  double learningRate = 1e-4;
  double momentum = 0.9;  // sgd only
  double weightDecay = 0.0;
  std::string schedule = "cosine";  // "cosine" decay to 0 over all steps, or "constant"
  double labelSmoothing = 0.0;
  bool randomShift = false;         // +-1 pixel random shift of image inputs (4-D samples)
  double validationFraction = 0.1;  // held out of the training data for per-epoch validation
  int64_t trainSamples = 0;         // 0: all training samples
  uint64_t seed = 0;
};

// The parameters of the loop, with defaults that work on the digits demo. Techniques differ in how many
// epochs and which learning rate suit them, and pruning calls its epochs "finetune_epochs".
std::vector<ParamSpec> trainingParams(const std::string& epochsName, int defaultEpochs,
                                      double defaultLearningRate);
// Reads the resolved parameter values (as TechniqueRegistry::resolveParams returns them).
TrainingOptions trainingOptionsFrom(const ParamValues& params, const std::string& epochsName = "epochs");

}  // namespace quantscope
