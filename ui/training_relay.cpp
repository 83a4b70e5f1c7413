#include "ui/training_relay.h"

#include <QMetaObject>
#include <QTimer>

namespace quantscope::ui {

TrainingPointRelay::TrainingPointRelay(int intervalMs, QObject* parent)
    : QObject(parent), intervalMs_(intervalMs) {
  timer_ = new QTimer(this);
  timer_->setSingleShot(true);
  connect(timer_, &QTimer::timeout, this, &TrainingPointRelay::deliverWhenDue);
}

void TrainingPointRelay::push(const TrainingPoint& point) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back(point);
  if (wakeQueued_) return;
  wakeQueued_ = true;
  // One queued call per delivery, however many points come in meanwhile.
  QMetaObject::invokeMethod(
      this, [this] { deliverWhenDue(); }, Qt::QueuedConnection);
}

void TrainingPointRelay::deliverWhenDue() {
  if (sinceDelivery_.isValid() && sinceDelivery_.elapsed() < intervalMs_) {
    timer_->start(int(intervalMs_ - sinceDelivery_.elapsed()));
    return;
  }
  flush();
}

void TrainingPointRelay::flush() {
  timer_->stop();
  std::vector<TrainingPoint> points;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    points.swap(pending_);
    wakeQueued_ = false;
  }
  if (points.empty()) return;
  ++deliveries_;
  sinceDelivery_.start();
  Q_EMIT pointsArrived(points);
}

void TrainingPointRelay::clear() {
  timer_->stop();
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.clear();
  wakeQueued_ = false;
}

}  // namespace quantscope::ui
