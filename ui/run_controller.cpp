#include "ui/run_controller.h"

#include <QMetaObject>
#include <QThread>

#include "core/errors.h"

namespace quantscope::ui {

RunController::RunController(QObject* parent) : QObject(parent) {
  qRegisterMetaType<quantscope::ui::RunEntry>("quantscope::ui::RunEntry");
  qRegisterMetaType<quantscope::Model>("quantscope::Model");
  qRegisterMetaType<quantscope::ModelInfo>("quantscope::ModelInfo");
  relay_ = new TrainingPointRelay(100, this);
  connect(relay_, &TrainingPointRelay::pointsArrived, this,
          [this](const std::vector<TrainingPoint>& points) { Q_EMIT trainingPoints(runId_, points); });
}

RunController::~RunController() {
  cancel();
  waitForIdle();
}

void RunController::waitForIdle() {
  if (thread_) thread_->wait();
}

Progress RunController::makeProgress() {
  Progress progress;
  progress.cancelFlag = &cancel_;
  auto last = lastProgressMs_;
  const QElapsedTimer clock = clock_;
  progress.onUpdate = [this, last, clock](const std::string& stage, double fraction) {
    // At most ~20 updates a second reach the GUI thread, plus the last one of each job.
    const qint64 now = clock.elapsed();
    if (fraction < 1.0 && now - last->load() < 50) return;
    last->store(now);
    QMetaObject::invokeMethod(
        this,
        [this, s = QString::fromStdString(stage), fraction, now] {
          Q_EMIT progressChanged(s, fraction, now);
        },
        Qt::QueuedConnection);
  };
  // Every point is kept (the chart draws them all); the relay decides how often the GUI thread sees them.
  progress.onTrainingPoint = [relay = relay_](const TrainingPoint& point) { relay->push(point); };
  return progress;
}

bool RunController::start(std::function<void()> job) {
  if (busy_) return false;
  if (thread_) {
    thread_->wait();
    delete thread_;
  }
  busy_ = true;
  relay_->clear();
  cancel_.store(false);
  clock_.start();
  lastProgressMs_->store(-1000);
  thread_ = QThread::create([this, job = std::move(job)] {
    try {
      job();
    } catch (const CancelledError&) {
      QMetaObject::invokeMethod(
          this, [this] { Q_EMIT cancelled(); }, Qt::QueuedConnection);
    } catch (const Error& e) {
      QMetaObject::invokeMethod(
          this, [this, m = QString::fromStdString(e.fullMessage())] { Q_EMIT failed(m); },
          Qt::QueuedConnection);
    } catch (const std::exception& e) {
      QMetaObject::invokeMethod(
          this, [this, m = QString("Unexpected error: ") + e.what()] { Q_EMIT failed(m); },
          Qt::QueuedConnection);
    }
    QMetaObject::invokeMethod(
        this,
        [this] {
          relay_->flush();  // a cancelled or failed run's last points
          busy_ = false;
          Q_EMIT idle();
        },
        Qt::QueuedConnection);
  });
  thread_->start();
  return true;
}

bool RunController::startRun(RunRequest request, int runId) {
  if (busy_) return false;
  runId_ = runId;
  return start([this, request = std::move(request), runId] {
    const Progress progress = makeProgress();
    progress.update("Loading data", 0.0);
    // The run works on a clone: nothing on this thread changes the window's model. A model without an
    // input spec takes the test data's here, and the window adopts it when the run finishes.
    Model model = request.model.clone();
    const Dataset test = Dataset::load(request.testData, model.inputSpec());
    const std::string specNote = adoptInputSpecFromData(model, test);
    std::optional<Dataset> calibration;
    RunOptions options = request.options;
    if (request.calibrationData) {
      calibration = Dataset::load(*request.calibrationData, model.inputSpec());
      options.calibrationData = &*calibration;
    }
    RunEntry entry;
    entry.id = runId;
    entry.result = quantize_and_evaluate(model, test, request.technique, request.params, options, progress,
                                         &entry.quantizedModel);
    if (!specNote.empty()) {
      entry.result.notes.insert(entry.result.notes.begin(), specNote);
      entry.inputSpecFromData = model.inputSpec();
    }
    QMetaObject::invokeMethod(
        this,
        [this, entry] {
          relay_->flush();  // the live chart gets every point before the result replaces it
          Q_EMIT runFinished(entry);
        },
        Qt::QueuedConnection);
  });
}

bool RunController::startAnalysis(AnalysisRequest request) {
  return start([this, request = std::move(request)] {
    const Progress progress = makeProgress();
    progress.update("Loading data", 0.0);
    Model model = request.model;
    const Dataset test = Dataset::load(request.testData, model.inputSpec());
    adoptInputSpecFromData(model, test);
    std::optional<Dataset> calibration;
    if (request.calibrationData) calibration = Dataset::load(*request.calibrationData, model.inputSpec());
    const QuantAnalysis analysis =
        analyzeQuantization(model, calibration ? *calibration : test, &test, request.options, progress);
    QMetaObject::invokeMethod(
        this, [this, analysis] { Q_EMIT analysisFinished(analysis); }, Qt::QueuedConnection);
  });
}

bool RunController::startLoad(const QString& path) {
  return start([this, p = path.toStdString()] {
    makeProgress().update("Loading " + p, 0.0);
    Model model = Model::load(p);
    if (model.inputSpec()) model.checkInput(*model.inputSpec());
    // Inspection serializes the model to measure it: worker-thread work for large models.
    const ModelInfo info = model.inspect();
    QMetaObject::invokeMethod(
        this, [this, model, info] { Q_EMIT modelLoaded(model, info); }, Qt::QueuedConnection);
  });
}

}  // namespace quantscope::ui
