#pragma once
// What a training technique streams while it trains and keeps in its result: one point per optimizer step
// and one per finished epoch. Torch-free, so the window and the CLI can show it.
#include <cstdint>
#include <string>
#include <vector>

namespace quantscope {

struct TrainingPoint {
  std::string
      series;     // which training this belongs to: "qat", "with distillation", "without distillation", ...
  int epoch = 0;  // 0-based
  int64_t step = 0;  // optimizer steps so far in this series
  bool endOfEpoch = false;
  double loss = 0;  // the step's loss, or the epoch's mean training loss on an end-of-epoch point
  double learningRate = 0;
  // End-of-epoch points only; negative when not measured (no labels, no validation samples).
  double trainAccuracy = -1;        // percent, on the training batches as they were trained
  double validationAccuracy = -1;   // percent, on held-out samples of the training data, in eval mode
  double validationAgreement = -1;  // percent top-1 agreement with a reference (distillation: the teacher)
  double elapsedSeconds = 0;        // since this series started
};

using TrainingCurve = std::vector<TrainingPoint>;

// A measured figure a technique adds to its result beside the standard ones, e.g. the fake-quant accuracy
// before conversion, or the accuracy of the student trained without distillation.
struct ResultFigure {
  std::string group;  // figures of one group are charted together: "distillation", "qat", "pruning"
  std::string name;
  double value = 0;
  std::string unit;  // "%", "B", "ms", "pt", ""
};

}  // namespace quantscope
