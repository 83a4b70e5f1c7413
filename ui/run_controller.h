#pragma once
// Runs core jobs on a worker thread: loading a model and quantize-and-evaluate runs. The GUI thread only
// receives signals (progress, training points, result, error); cancel is a plain method so it works while a
// job is busy. Training points are batched (TrainingPointRelay): at most ~10 deliveries a second.
#include <QElapsedTimer>
#include <QObject>
#include <atomic>
#include <functional>
#include <memory>

#include "core/analysis/quant_analysis.h"
#include "core/data/dataset.h"
#include "core/model/model.h"
#include "core/workflow.h"
#include "ui/models/run_entry.h"
#include "ui/training_relay.h"

namespace quantscope::ui {

struct RunRequest {
  Model model;
  DataSource testData;
  std::optional<DataSource> calibrationData;  // empty: the test data
  std::string technique;
  ParamValues params;
  RunOptions options;
};

// The quant analyzer on the window's model and data; the recipe comes from the technique form.
struct AnalysisRequest {
  Model model;
  DataSource testData;
  std::optional<DataSource> calibrationData;  // empty: the test data
  QuantAnalysisOptions options;
};

class RunController : public QObject {
  Q_OBJECT
 public:
  explicit RunController(QObject* parent = nullptr);
  ~RunController() override;

  bool busy() const { return busy_; }
  // Each returns false (and does nothing) when a job is already running.
  bool startRun(RunRequest request, int runId);
  bool startLoad(const QString& path);
  bool startAnalysis(AnalysisRequest request);
  void cancel() { cancel_.store(true); }
  // Blocks until the current job has ended; for shutdown and tests.
  void waitForIdle();

 Q_SIGNALS:
  void progressChanged(const QString& stage, double fraction, qint64 elapsedMs);
  // The training points the running technique streamed since the last delivery, for run `runId`; all of a
  // run's points arrive before its runFinished.
  void trainingPoints(int runId, const std::vector<quantscope::TrainingPoint>& points);
  void runFinished(const quantscope::ui::RunEntry& entry);
  void analysisFinished(const quantscope::QuantAnalysis& analysis);
  void modelLoaded(const quantscope::Model& model, const quantscope::ModelInfo& info);
  void failed(const QString& message);
  void cancelled();
  void idle();

 private:
  bool start(std::function<void()> job);
  Progress makeProgress();

  std::atomic<bool> cancel_{false};
  bool busy_ = false;
  QElapsedTimer clock_;
  std::shared_ptr<std::atomic<qint64>> lastProgressMs_ = std::make_shared<std::atomic<qint64>>(0);
  TrainingPointRelay* relay_ = nullptr;
  int runId_ = 0;  // of the run whose points the relay carries
  class QThread* thread_ = nullptr;
};

}  // namespace quantscope::ui
