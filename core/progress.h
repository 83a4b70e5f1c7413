#pragma once
// How long-running core functions report progress and learn about cancellation. Front ends pass a
// callback (the GUI forwards it to its thread, the CLI prints to stderr) and an atomic flag.
#include <atomic>
#include <functional>
#include <string>

#include "core/errors.h"
#include "core/training/training_curve.h"

namespace quantscope {

struct Progress {
  // stage: what is running now, e.g. "Benchmarking quantized model"; fraction: 0..1 of that stage.
  std::function<void(const std::string& stage, double fraction)> onUpdate;
  // Set by the front end; a step that can stop early with a usable result (a search keeping its best
  // configuration) takes the request with takeCancelRequest(), so a second cancel stops the whole run.
  std::atomic<bool>* cancelFlag = nullptr;
  // Partial results streamed while a technique runs (training curves); optional.
  std::function<void(const TrainingPoint&)> onTrainingPoint;

  void update(const std::string& stage, double fraction) const {
    throwIfCancelled();
    if (onUpdate) onUpdate(stage, fraction);
  }
  void trainingPoint(const TrainingPoint& point) const {
    if (onTrainingPoint) onTrainingPoint(point);
  }
  bool cancelled() const { return cancelFlag && cancelFlag->load(std::memory_order_relaxed); }
  bool takeCancelRequest() const { return cancelFlag && cancelFlag->exchange(false); }
  void throwIfCancelled() const {
    if (cancelled()) throw CancelledError();
  }
  // A part of this job: fractions 0..1 reported by the part become begin..end of the whole.
  Progress part(double begin, double end) const {
    Progress sub;
    sub.cancelFlag = cancelFlag;
    sub.onTrainingPoint = onTrainingPoint;
    if (onUpdate) {
      auto parent = onUpdate;
      sub.onUpdate = [parent, begin, end](const std::string& stage, double f) {
        parent(stage, begin + f * (end - begin));
      };
    }
    return sub;
  }
};

}  // namespace quantscope
