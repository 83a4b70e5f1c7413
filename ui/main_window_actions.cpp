// What the main window does: open models and projects, run techniques, show results, export.
#include <QComboBox>
#include <QFileInfo>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableView>
#include <QTextEdit>
#include <algorithm>

#include "core/errors.h"
#include "core/results/comparison.h"
#include "core/results/project_file.h"
#include "core/results/report_text.h"
#include "core/technique_registry.h"
#include "ui/main_window.h"
#include "ui/models/layers_model.h"
#include "ui/models/ops_model.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"
#include "ui/panels/data_source_widget.h"
#include "ui/panels/technique_form.h"
#include "ui/report/report_builder.h"
#include "ui/report/report_export.h"
#include "ui/run_controller.h"

namespace quantscope::ui {

// isHidden, not isVisible: a window that was never shown still reports its banner.
QString MainWindow::errorText() const { return errorBanner_->isHidden() ? QString() : errorBanner_->text(); }
QString MainWindow::comparisonText() const { return comparison_->toPlainText(); }
QString MainWindow::runDetailsText() const { return runDetails_->toPlainText(); }

void MainWindow::showError(const QString& message) {
  errorBanner_->setText(message);
  errorBanner_->show();
  stage_->setText("Failed; see the message above.");
  statusBar()->showMessage(message.section('\n', 0, 0), 10000);
}

void MainWindow::clearError() {
  errorBanner_->clear();
  errorBanner_->hide();
}

void MainWindow::setBusy(bool busy) {
  runButton_->setEnabled(!busy);
  cancelButton_->setEnabled(busy);
  if (!busy && progress_->value() < 1000) progress_->setValue(0);
}

void MainWindow::openModel(const QString& path) {
  clearError();
  if (!controller_->startLoad(path)) return showError("Wait for the current job to finish, or cancel it.");
  setBusy(true);
  stage_->setText("Loading " + QFileInfo(path).fileName() + "...");
}

void MainWindow::openDemo() {
  openModel(QString::fromStdString(builtinDigitsModelPath()));
  testData_->setSource("digits:test");
  calibrationData_->setSource("digits:train");
}

void MainWindow::showModel(const Model& model, const ModelInfo& info) {
  if (model_ && model_->sourcePath() != model.sourcePath()) {
    runsModel_->clear();  // runs belong to the model they were made from
    refreshCharts();
  }
  model_ = model;
  modelSummary_->setText(QString("<b>%1</b><br>%2 parameters, %3 archive%4")
                             .arg(QString::fromStdString(model.displayName()).toHtmlEscaped())
                             .arg(info.parameterCount)
                             .arg(QString::fromStdString(formatBytes(info.fileBytes)))
                             .arg(info.quantized ? ", already quantized" : ""));
  modelSummary_->setToolTip(QString::fromStdString(info.path));
  inputShape_->setText(info.inputSpec ? QString::fromStdString(info.inputSpec->shapeString()) : QString());
  inputDtype_->setCurrentText(info.inputSpec && info.inputSpec->dtype == ElementType::Int64 ? "long"
                                                                                            : "float");
  if (!info.inputSpec)
    showError(
        "This model does not store its input shape: enter it under Model > Input (batch first), or leave it "
        "empty to take it from the test data at Run.");
  layersModel_->setLayers(info.layers);
  refreshLayerBits(selectedRunRow());
  stage_->setText("Loaded " + QString::fromStdString(model.displayName()) + ".");
  if (!model.sourcePath().empty()) addRecentFile(QString::fromStdString(model.sourcePath()));
}

bool MainWindow::applyInputSpec() {
  if (!model_) {
    showError("Open a model first (File > Open, or the built-in demo).");
    return false;
  }
  // An empty field keeps the model's own spec; a model without one takes the test data's at Run.
  if (inputShape_->text().trimmed().isEmpty()) return true;
  try {
    model_->setInputSpec(InputSpec::parse(inputShape_->text().trimmed().toStdString(),
                                          inputDtype_->currentText().toStdString()));
  } catch (const Error& e) {
    showError(QString::fromStdString(e.fullMessage()));
    return false;
  }
  return true;
}

void MainWindow::selectTechnique(const QString& name) {
  const int index = technique_->findData(name);
  technique_->setCurrentIndex(index < 0 ? 0 : index);
  techniqueForm_->setTechnique(
      TechniqueRegistry::instance().find(technique_->currentData().toString().toStdString()));
  restoreTechniqueParams();
}

void MainWindow::runSelectedTechnique() {
  clearError();
  if (controller_->busy()) return showError("A job is running; wait for it or cancel it.");
  if (!applyInputSpec()) return;
  const TechniqueDescriptor& technique = TechniqueRegistry::instance().find(techniqueForm_->techniqueName());
  if (!technique.available) return showError(QString::fromStdString(technique.unavailableReason));
  if (const QString problem = techniqueForm_->validate(); !problem.isEmpty()) return showError(problem);
  if (testData_->kind() >= DataSourceWidget::Kind::ImageFolder && testData_->location().isEmpty()) {
    return showError("Choose the test data's file or folder.");
  }
  rememberTechniqueParams();
  // The parameters go to the core exactly as the form holds them (a File parameter is its path).
  RunRequest request{*model_, {}, std::nullopt, technique.name, techniqueForm_->values(), {}};
  try {
    request.testData = testData_->source();
  } catch (const Error& e) {
    return showError("Test data: " + QString::fromStdString(e.fullMessage()));
  }
  try {
    if (!calibrationData_->sameAsTest()) request.calibrationData = calibrationData_->source();
  } catch (const Error& e) {
    return showError("Calibration / training data: " + QString::fromStdString(e.fullMessage()));
  }
  request.options.benchmark.threads = threads_->value();
  request.options.benchmark.warmupRuns = warmup_->value();
  request.options.benchmarkRuns = benchRuns_->value();
  request.options.benchmarkBatch = batch_->value();
  if (!controller_->startRun(std::move(request), nextRunId_)) return;
  if (technique.trains)
    charts_->beginLiveTraining(QString("#%1 %2").arg(nextRunId_).arg(QString::fromStdString(technique.name)));
  setBusy(true);
  progress_->setValue(0);
  stage_->setText("Starting " + QString::fromStdString(technique.displayName) + "...");
}

void MainWindow::cancelRun() {
  if (!controller_->busy()) return;
  controller_->cancel();
  stage_->setText("Cancelling...");
}

void MainWindow::onProgress(const QString& stage, double fraction, qint64 elapsedMs) {
  progress_->setValue(int(fraction * 1000));
  QString text = QString("%1 — %2 s elapsed").arg(stage).arg(elapsedMs / 1000.0, 0, 'f', 1);
  if (fraction > 0.05 && fraction < 1.0) {
    text += QString(", about %1 s left").arg(elapsedMs / 1000.0 * (1.0 - fraction) / fraction, 0, 'f', 0);
  }
  stage_->setText(text);
}

void MainWindow::onRunFinished(const RunEntry& entry) {
  nextRunId_ = std::max(nextRunId_, entry.id + 1);
  charts_->endLiveTraining(/*finished=*/true);  // the run's own curve replaces the live one
  // A model that had no input spec took the data's during the run: the window's model adopts it here, on
  // the GUI thread, and the field shows it where the user gives it.
  if (entry.inputSpecFromData && model_ && !model_->inputSpec())
    model_->setInputSpec(*entry.inputSpecFromData);
  if (inputShape_->text().trimmed().isEmpty() && model_ && model_->inputSpec()) {
    inputShape_->setText(QString::fromStdString(model_->inputSpec()->shapeString()));
    inputDtype_->setCurrentText(model_->inputSpec()->dtype == ElementType::Int64 ? "long" : "float");
  }
  // With a run that differs only in the recipe's activation bits, the measured difference goes into the
  // new run's notes (the help promises it once both have run).
  RunEntry finished = entry;
  const auto& earlier = runsModel_->runs();
  for (auto run = earlier.rbegin(); run != earlier.rend(); ++run) {  // the latest such run
    const std::string difference = describeRecipeDifference(run->result, entry.result);
    if (difference.empty()) continue;
    finished.result.notes.push_back(difference);
    break;
  }
  runsModel_->add(finished);
  progress_->setValue(1000);
  stage_->setText(entry.label() + " done: " + QString::fromStdString(describeAgainstOriginal(entry.result)));
  runsTable_->selectRow(runsModel_->rowCount() - 1);
  refreshCharts();
  statusBar()->showMessage(entry.label() + " finished", 5000);
}

int MainWindow::selectedRunRow() const {
  const auto rows = runsTable_->selectionModel()->selectedRows();
  if (!rows.isEmpty()) return rows.last().row();
  return runsModel_->rowCount() - 1;
}

void MainWindow::refreshCharts() {
  const int detail = selectedRunRow();
  const auto& runs = runsModel_->runs();
  // The histogram layer list follows the run whose layers are shown.
  const QString previous = histogramLayer_->currentText();
  histogramLayer_->blockSignals(true);
  histogramLayer_->clear();
  runDetails_->setPlainText(detail >= 0 && detail < int(runs.size())
                                ? runs[size_t(detail)].label() + "\n" +
                                      QString::fromStdString(formatRunResult(runs[size_t(detail)].result))
                                : QString());
  if (detail >= 0 && detail < int(runs.size())) {
    for (const auto& layer : runs[size_t(detail)].result.layers) {
      if (!layer.floatHistogram.empty()) histogramLayer_->addItem(QString::fromStdString(layer.layer));
    }
  }
  if (histogramLayer_->findText(previous) >= 0) histogramLayer_->setCurrentText(previous);
  histogramLayer_->blockSignals(false);
  charts_->showRuns(runs, detail, histogramLayer_->currentText());
  refreshOps(detail);
  refreshLayerBits(detail);
}

void MainWindow::refreshLayerBits(int row) {
  // The Bits column follows the selected run.
  const auto& runs = runsModel_->runs();
  layersModel_->setRunLayers(row >= 0 && row < int(runs.size()) ? runs[size_t(row)].result.layers
                                                                : std::vector<LayerQuantization>{});
}

void MainWindow::refreshOps(int row) {
  const auto& runs = runsModel_->runs();
  if (row < 0 || row >= int(runs.size())) return opsModel_->setProfile({});
  const OpProfile& profile = runs[size_t(row)].result.quantizedOps;
  opsSummary_->setText(
      QString("%1: int8 kernels %2 of the time, float %3, quantize/dequantize %4 (%5 profiled forwards).")
          .arg(runs[size_t(row)].label(), QString::fromStdString(formatPercent(profile.int8Share)),
               QString::fromStdString(formatPercent(profile.floatShare)),
               QString::fromStdString(formatPercent(profile.conversionShare)))
          .arg(profile.runs));
  opsModel_->setProfile(profile);
}

void MainWindow::refreshComparison() {
  const auto rows = runsTable_->selectionModel()->selectedRows();
  if (rows.size() < 2) {
    comparison_->clear();
    return;
  }
  const auto& runs = runsModel_->runs();
  std::vector<int> picked;
  for (const auto& index : rows) picked.push_back(index.row());
  std::sort(picked.begin(), picked.end());
  const RunEntry& base = runs[size_t(picked.front())];
  QString text = "Against " + base.label() + ":\n";
  for (size_t i = 1; i < picked.size(); ++i) {
    const RunEntry& other = runs[size_t(picked[i])];
    text +=
        "  " + other.label() + ": " + QString::fromStdString(describeDelta(base.result, other.result)) + "\n";
    if (const std::string recipes = describeRecipeDifference(base.result, other.result); !recipes.empty())
      text += "    " + QString::fromStdString(recipes) + "\n";
  }
  text += "\nEach against its fp32 original:\n";
  for (int row : picked) {
    text += "  " + runs[size_t(row)].label() + ": " +
            QString::fromStdString(describeAgainstOriginal(runs[size_t(row)].result)) + "\n";
  }
  comparison_->setPlainText(text);
  resultTabs_->setTabText(1, QString("Compare (%1)").arg(picked.size()));
}

void MainWindow::exportChartTo(int chart, const QString& path, int width, int height) {
  clearError();
  try {
    exportChart(charts_->plot(ChartPanel::Chart(chart)), path, width, height);
    statusBar()->showMessage("Saved " + path, 5000);
  } catch (const Error& e) {
    showError(QString::fromStdString(e.fullMessage()));
  }
}

void MainWindow::exportReport(const QString& path, bool pdf) {
  clearError();
  const QString modelName = model_ ? QString::fromStdString(model_->displayName()) : "no model";
  try {
    // The report draws its own charts from the runs, with the selected run's per-layer details as shown.
    const ReportContent report{modelName, runsModel_->runs(), selectedRunRow()};
    pdf ? saveReportPdf(report, path) : saveReportPng(report, path);
    statusBar()->showMessage("Saved " + path, 5000);
  } catch (const Error& e) {
    showError(QString::fromStdString(e.fullMessage()));
  }
}

void MainWindow::exportTrainingCurvesTo(const QString& path) {
  clearError();
  try {
    exportTrainingCurvesCsv(*runsModel_, path);
    statusBar()->showMessage("Saved " + path, 5000);
  } catch (const Error& e) {
    showError(QString::fromStdString(e.fullMessage()));
  }
}

void MainWindow::exportReportPng(const QString& path) { exportReport(path, /*pdf=*/false); }
void MainWindow::exportReportPdf(const QString& path) { exportReport(path, /*pdf=*/true); }

void MainWindow::saveQuantizedModelTo(int row, const QString& path) {
  clearError();
  const auto& runs = runsModel_->runs();
  if (row < 0 || row >= int(runs.size())) return showError("Select a run whose quantized model to save.");
  if (!runs[size_t(row)].quantizedModel) {
    return showError(
        runs[size_t(row)].label() +
        " was reopened from a project file and has no model in memory; run it again to save its model.");
  }
  try {
    runs[size_t(row)].quantizedModel->save(path.toStdString());
    statusBar()->showMessage("Saved " + path, 5000);
  } catch (const Error& e) {
    showError(QString::fromStdString(e.fullMessage()));
  }
}

void MainWindow::saveProjectTo(const QString& path) {
  clearError();
  Project project;
  project.modelPath = model_ ? QString::fromStdString(model_->sourcePath()) : QString();
  project.inputShape = inputShape_->text();
  project.inputDtype = inputDtype_->currentText();
  project.testData = testData_->location();
  project.calibrationData = calibrationData_->location();
  for (const auto& run : runsModel_->runs()) project.runs.push_back({run.id, run.result});
  try {
    saveProject(project, path);
    statusBar()->showMessage("Saved project " + path, 5000);
  } catch (const Error& e) {
    showError(QString::fromStdString(e.fullMessage()));
  }
}

void MainWindow::openProject(const QString& path) {
  clearError();
  Project project;
  try {
    project = loadProject(path);
  } catch (const Error& e) {
    return showError(QString::fromStdString(e.fullMessage()));
  }
  testData_->setSource(project.testData);
  calibrationData_->setSource(project.calibrationData.isEmpty() ? "same-as-test" : project.calibrationData);
  runsModel_->clear();
  for (const auto& run : project.runs) {
    RunEntry entry;  // a reopened run has no quantized model in memory
    entry.id = run.id;
    entry.result = run.result;
    runsModel_->add(entry);
    nextRunId_ = std::max(nextRunId_, run.id + 1);
  }
  refreshCharts();
  if (!project.modelPath.isEmpty()) {
    // Keep the reopened runs when the same model finishes loading.
    model_.reset();
    disconnect(pendingProjectInput_);
    openModel(project.modelPath);
    pendingProjectInput_ = connect(controller_, &RunController::modelLoaded, this,
                                   [this, shape = project.inputShape, dtype = project.inputDtype] {
                                     disconnect(pendingProjectInput_);
                                     if (!shape.isEmpty()) inputShape_->setText(shape);
                                     inputDtype_->setCurrentText(dtype.isEmpty() ? "float" : dtype);
                                   });
  }
}

void MainWindow::addRecentFile(const QString& path) {
  QSettings settings;
  QStringList recent = settings.value("recentFiles").toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  settings.setValue("recentFiles", recent.mid(0, 8));
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  const QStringList recent = QSettings().value("recentFiles").toStringList();
  for (const QString& path : recent) recentMenu_->addAction(path, this, [this, path] { openModel(path); });
  recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::rememberTechniqueParams() {
  QSettings settings;
  settings.setValue("technique/last", QString::fromStdString(techniqueForm_->techniqueName()));
  for (const auto& [key, value] : techniqueForm_->values()) {
    settings.setValue(QString::fromStdString("params/" + techniqueForm_->techniqueName() + "/" + key),
                      QString::fromStdString(value));
  }
}

void MainWindow::restoreTechniqueParams() {
  QSettings settings;
  ParamValues values;
  for (const auto& [key, value] : techniqueForm_->values()) {
    const QString stored =
        settings.value(QString::fromStdString("params/" + techniqueForm_->techniqueName() + "/" + key))
            .toString();
    if (!stored.isEmpty()) values[key] = stored.toStdString();
  }
  techniqueForm_->setValues(values);
}

}  // namespace quantscope::ui
