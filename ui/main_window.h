#pragma once
// QuantScope's main window: model, data, technique and benchmark settings on the left; runs, layers,
// comparison and charts on the right. All core work runs on RunController's worker thread.
#include <QMainWindow>
#include <optional>

#include "core/model/model.h"
#include "ui/models/run_entry.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QTabWidget;
class QTextEdit;
class QMenu;

namespace quantscope::ui {

class AnalysisTab;
class ChartPanel;
class DataSourceWidget;
class LayersModel;
class OpsModel;
class RunController;
class RunsModel;
class TechniqueForm;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Actions, public so that tests drive the window as the menus do.
  void openModel(const QString& path);
  void openDemo();
  void runSelectedTechnique();
  void cancelRun();
  void saveProjectTo(const QString& path);
  void openProject(const QString& path);
  // Every run in the folder's result JSONs (a sweep's results, runs exports, projects) joins the runs
  // table and the charts; runs already shown are not added again; other files are listed and skipped.
  void importResults(const QString& folder);
  void exportChartTo(int chart, const QString& path, int width, int height);
  void exportReportPng(const QString& path);
  void exportReportPdf(const QString& path);
  // Every run's training curve, one row per point (runs without a curve are left out).
  void exportTrainingCurvesTo(const QString& path);
  void saveQuantizedModelTo(int row, const QString& path);
  void selectTechnique(const QString& name);
  // The quant analyzer on the loaded model and data with the technique form's recipe (ui/analysis/).
  void analyze();
  // Runs `technique` with `params` (on top of its remembered ones) as a normal run: the Analyze tab's Apply.
  void applyRecommendation(const QString& technique, const ParamValues& params);

  // State, for tests and the status bar.
  RunController& controller() const { return *controller_; }
  RunsModel& runs() const { return *runsModel_; }
  ChartPanel& charts() const { return *charts_; }
  TechniqueForm& techniqueForm() const { return *techniqueForm_; }
  AnalysisTab& analysisTab() const { return *analysisTab_; }
  QString errorText() const;
  QString comparisonText() const;
  QString runDetailsText() const;  // the Details tab: the selected run as the CLI prints it
  const std::optional<Model>& model() const { return model_; }

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  QWidget* buildControls();
  QWidget* buildRunBar();
  QWidget* buildResults();
  void buildMenus();
  void buildAnalysis(QMenu* runMenu);
  void showModel(const Model& model, const ModelInfo& info);
  void showError(const QString& message);
  void clearError();
  void setBusy(bool busy);
  void onProgress(const QString& stage, double fraction, qint64 elapsedMs);
  void onRunFinished(const RunEntry& entry);
  void refreshCharts();
  void refreshComparison();
  void refreshOps(int row);
  void refreshLayerBits(int row);
  void addRecentFile(const QString& path);
  void rebuildRecentMenu();
  void restoreTechniqueParams();
  void rememberTechniqueParams();
  int selectedRunRow() const;
  void exportReport(const QString& path, bool pdf);
  bool applyInputSpec();

  std::optional<Model> model_;
  // A reopened project's input shape waits for its model to load; a failed load disarms it, so it can
  // never reach the next, unrelated model.
  QMetaObject::Connection pendingProjectInput_;
  int nextRunId_ = 1;
  RunController* controller_ = nullptr;
  RunsModel* runsModel_ = nullptr;
  LayersModel* layersModel_ = nullptr;
  OpsModel* opsModel_ = nullptr;

  QLabel* modelSummary_ = nullptr;
  QLineEdit* inputShape_ = nullptr;
  QComboBox* inputDtype_ = nullptr;
  DataSourceWidget* testData_ = nullptr;
  DataSourceWidget* calibrationData_ = nullptr;
  QComboBox* technique_ = nullptr;
  TechniqueForm* techniqueForm_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QSpinBox* batch_ = nullptr;
  QSpinBox* warmup_ = nullptr;
  QSpinBox* benchRuns_ = nullptr;
  QPushButton* runButton_ = nullptr;
  QPushButton* cancelButton_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* stage_ = nullptr;
  QLabel* errorBanner_ = nullptr;

  QTabWidget* resultTabs_ = nullptr;
  QTableView* runsTable_ = nullptr;
  QTableView* layersTable_ = nullptr;
  QTableView* opsTable_ = nullptr;
  QLabel* opsSummary_ = nullptr;
  QTextEdit* comparison_ = nullptr;
  QTextEdit* runDetails_ = nullptr;
  ChartPanel* charts_ = nullptr;
  QComboBox* histogramLayer_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QLabel* runtimeStatus_ = nullptr;
  AnalysisTab* analysisTab_ = nullptr;
};

}  // namespace quantscope::ui
