#pragma once
// Carries training points from the worker thread to the GUI thread without flooding it: the worker appends to
// a mutex-protected buffer; the GUI thread takes the whole buffer at most once per interval (100 ms: ~10
// deliveries a second, however fast the technique steps). At most one wake-up is queued at a time.
#include <QElapsedTimer>
#include <QObject>
#include <mutex>
#include <vector>

#include "core/training/training_curve.h"

class QTimer;

namespace quantscope::ui {

class TrainingPointRelay : public QObject {
  Q_OBJECT
 public:
  explicit TrainingPointRelay(int intervalMs = 100, QObject* parent = nullptr);

  // Any thread; cheap (a lock and a push_back).
  void push(const TrainingPoint& point);
  // GUI thread: delivers whatever is buffered now, interval or not (a run's end).
  void flush();
  // GUI thread: drops what is buffered (a new run starts).
  void clear();
  int deliveries() const { return deliveries_; }
  int intervalMs() const { return intervalMs_; }

 Q_SIGNALS:
  // GUI thread, in the order the points were pushed.
  void pointsArrived(const std::vector<quantscope::TrainingPoint>& points);

 private:
  void deliverWhenDue();

  const int intervalMs_;
  std::mutex mutex_;
  std::vector<TrainingPoint> pending_;  // guarded by mutex_
  bool wakeQueued_ = false;             // guarded by mutex_: a wake-up is queued or the timer runs
  QTimer* timer_ = nullptr;
  QElapsedTimer sinceDelivery_;
  int deliveries_ = 0;
};

}  // namespace quantscope::ui
