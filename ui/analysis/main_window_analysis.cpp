// The main window's Analyze action and tab, and the tab's Apply: kept apart from main_window*.cpp.
#include <QAction>
#include <QLabel>
#include <QMenu>
#include <QProgressBar>
#include <QStatusBar>
#include <QTabWidget>

#include "core/technique_registry.h"
#include "ui/analysis/analysis_tab.h"
#include "ui/main_window.h"
#include "ui/panels/data_source_widget.h"
#include "ui/panels/technique_form.h"
#include "ui/run_controller.h"

namespace quantscope::ui {

void MainWindow::buildAnalysis(QMenu* runMenu) {
  analysisTab_ = new AnalysisTab;
  analysisTab_->setObjectName("analysisTab");
  resultTabs_->addTab(analysisTab_, "Analyze");
  QAction* action = runMenu->addAction(
      "&Analyze quantization", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A), this, &MainWindow::analyze);
  action->setObjectName("analyzeAction");
  action->setToolTip("Where int8 loses accuracy and what to do about it (the technique form's recipe).");
  connect(controller_, &RunController::analysisFinished, this, [this](const QuantAnalysis& analysis) {
    analysisTab_->showAnalysis(analysis);
    resultTabs_->setCurrentWidget(analysisTab_);
    stage_->setText("Analyzed: " + QString::fromStdString(analysis.recommendation.summary).left(120));
  });
  connect(analysisTab_, &AnalysisTab::applyRequested, this, &MainWindow::applyRecommendation);
}

void MainWindow::analyze() {
  clearError();
  if (!model_) return showError("Open a model first.");
  if (controller_->busy()) return showError("A job is running; wait for it or cancel it.");
  if (!applyInputSpec()) return;
  AnalysisRequest request{*model_, {}, std::nullopt, {}};
  // The recipe is the technique form's, where the technique has those parameters (fx's defaults else).
  const ParamValues form = techniqueForm_->values();
  for (const ParamSpec& spec : quantAnalysisParams()) {
    if (const auto found = form.find(spec.name); found != form.end())
      request.options.recipe[spec.name] = found->second;
  }
  try {
    request.testData = testData_->source();
    if (!calibrationData_->sameAsTest()) request.calibrationData = calibrationData_->source();
  } catch (const Error& e) {
    return showError("Data: " + QString::fromStdString(e.fullMessage()));
  }
  if (!controller_->startAnalysis(std::move(request))) return;
  setBusy(true);
  progress_->setValue(0);
  stage_->setText("Analyzing quantization...");
}

void MainWindow::applyRecommendation(const QString& technique, const ParamValues& params) {
  clearError();
  const TechniqueDescriptor& descriptor = TechniqueRegistry::instance().find(technique.toStdString());
  for (const auto& [name, value] : params) {
    const bool known = std::any_of(descriptor.params.begin(), descriptor.params.end(),
                                   [&](const ParamSpec& p) { return p.name == name; });
    if (!known) {
      return showError(QString("The recommendation sets %1=%2, which '%3' does not have in this build.")
                           .arg(QString::fromStdString(name), QString::fromStdString(value), technique));
    }
  }
  selectTechnique(technique);
  techniqueForm_->setValues(params);
  runSelectedTechnique();
}

}  // namespace quantscope::ui
