// Construction and layout of the main window; the actions live in main_window_actions.cpp.
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QTextEdit>
#include <QThread>
#include <QVBoxLayout>

#include "core/runtime/runtime_info.h"
#include "core/technique_registry.h"
#include "ui/models/layers_model.h"
#include "ui/models/ops_model.h"
#include "ui/models/runs_model.h"
#include "ui/panels/chart_panel.h"
#include "ui/panels/data_source_widget.h"
#include "ui/panels/technique_form.h"
#include "ui/report/report_export.h"
#include "ui/run_controller.h"

namespace quantscope::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("QuantScope");
  setAcceptDrops(true);
  controller_ = new RunController(this);
  runsModel_ = new RunsModel(this);
  layersModel_ = new LayersModel(this);
  opsModel_ = new OpsModel(this);

  auto* splitter = new QSplitter(Qt::Horizontal);
  // Settings scroll; the error banner, Run/Cancel and progress stay in view at any window height.
  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  auto* scroll = new QScrollArea;
  scroll->setWidget(buildControls());
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(360);
  leftLayout->insertWidget(0, errorBanner_);
  leftLayout->addWidget(scroll, 1);
  leftLayout->addWidget(buildRunBar());
  splitter->addWidget(left);
  splitter->addWidget(buildResults());
  splitter->setStretchFactor(1, 1);
  setCentralWidget(splitter);
  buildMenus();

  const RuntimeInfo runtime = configureRuntime(threads_->value());
  runtimeStatus_ = new QLabel(QString::fromStdString(describe(runtime)));
  runtimeStatus_->setObjectName("runtimeStatus");
  runtimeStatus_->setToolTip(
      QString::fromStdString("fp32 BLAS: " + runtime.blasLibrary + "\nquantized engines: ") +
      QString::fromStdString([&] {
        std::string e;
        for (const auto& name : runtime.availableEngines) e += (e.empty() ? "" : ", ") + name;
        return e;
      }()));
  if (runtime.blasIsReference) {
    runtimeStatus_->setStyleSheet("color: #b00020; font-weight: bold;");
    runtimeStatus_->setText(runtimeStatus_->text() +
                            "  — WARNING: reference BLAS, fp32 timings ~20x too slow");
  }
  statusBar()->addPermanentWidget(runtimeStatus_);

  connect(controller_, &RunController::progressChanged, this, &MainWindow::onProgress);
  connect(controller_, &RunController::runFinished, this, &MainWindow::onRunFinished);
  connect(controller_, &RunController::modelLoaded, this, &MainWindow::showModel);
  connect(controller_, &RunController::failed, this, &MainWindow::showError);
  connect(controller_, &RunController::failed, this, [this] { disconnect(pendingProjectInput_); });
  connect(controller_, &RunController::cancelled, this, [this] {
    stage_->setText("Cancelled; earlier runs are unchanged.");
    statusBar()->showMessage("Run cancelled", 5000);
  });
  connect(controller_, &RunController::trainingPoints, this,
          [this](int, const std::vector<TrainingPoint>& points) { charts_->appendLiveTraining(points); });
  connect(controller_, &RunController::idle, this, [this] {
    charts_->endLiveTraining(/*finished=*/false);  // a finished run has ended it already
    setBusy(false);
  });

  QSettings settings;
  if (!restoreGeometry(settings.value("window/geometry").toByteArray())) resize(1366, 768);
  const QString lastTechnique = settings.value("technique/last", "dynamic").toString();
  selectTechnique(lastTechnique);
  rebuildRecentMenu();
}

MainWindow::~MainWindow() {
  controller_->cancel();
  controller_->waitForIdle();
}

QWidget* MainWindow::buildControls() {
  auto* panel = new QWidget;
  auto* layout = new QVBoxLayout(panel);

  errorBanner_ = new QLabel;
  errorBanner_->setObjectName("errorBanner");
  errorBanner_->setWordWrap(true);
  errorBanner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  errorBanner_->setStyleSheet(
      "background: #fde7e9; color: #8a0014; border: 1px solid #e4a0a8; padding: 6px;");
  errorBanner_->hide();

  auto* modelBox = new QGroupBox("Model");
  auto* modelForm = new QFormLayout(modelBox);
  modelSummary_ = new QLabel("No model loaded. Open a TorchScript file (.pt) or the built-in demo.");
  modelSummary_->setWordWrap(true);
  modelSummary_->setObjectName("modelSummary");
  modelForm->addRow(modelSummary_);
  auto* openRow = new QHBoxLayout;
  auto* openButton = new QPushButton("Open...");
  openButton->setToolTip("Open a TorchScript model (Ctrl+O); you can also drop a .pt file on the window.");
  auto* demoButton = new QPushButton("Built-in demo");
  demoButton->setToolTip("The digits CNN trained on the UCI hand-written digits (99.17 % test accuracy).");
  openRow->addWidget(openButton);
  openRow->addWidget(demoButton);
  modelForm->addRow(openRow);
  inputShape_ = new QLineEdit;
  inputShape_->setObjectName("inputShape");
  inputShape_->setPlaceholderText("e.g. 1x3x224x224 (batch first)");
  inputShape_->setToolTip("The model's input shape. Stored in models QuantScope writes; give it for others.");
  inputDtype_ = new QComboBox;
  inputDtype_->addItems({"float", "long"});
  inputDtype_->setToolTip("float for images and features, long for token ids.");
  auto* shapeRow = new QHBoxLayout;
  shapeRow->addWidget(inputShape_, 1);
  shapeRow->addWidget(inputDtype_);
  modelForm->addRow("Input", shapeRow);
  layout->addWidget(modelBox);
  connect(openButton, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open TorchScript model", {},
                                                      "TorchScript (*.pt *.pth *.ptl);;All files (*)");
    if (!path.isEmpty()) openModel(path);
  });
  connect(demoButton, &QPushButton::clicked, this, &MainWindow::openDemo);

  auto* dataBox = new QGroupBox("Data");
  auto* dataLayout = new QFormLayout(dataBox);
  testData_ = new DataSourceWidget(false);
  testData_->setObjectName("testData");
  testData_->setToolTip("Evaluation data: accuracy (when labelled) and fidelity against the original model.");
  calibrationData_ = new DataSourceWidget(true);
  calibrationData_->setObjectName("calibrationData");
  calibrationData_->setToolTip("Calibration / training data, for techniques that calibrate or train.");
  dataLayout->addRow(new QLabel("<b>Test</b>"));
  dataLayout->addRow(testData_);
  dataLayout->addRow(new QLabel("<b>Calibration / training</b>"));
  dataLayout->addRow(calibrationData_);
  calibrationData_->setSource("digits:train");
  layout->addWidget(dataBox);

  auto* techniqueBox = new QGroupBox("Technique");
  auto* techniqueLayout = new QVBoxLayout(techniqueBox);
  technique_ = new QComboBox;
  technique_->setObjectName("technique");
  for (const auto& t : TechniqueRegistry::instance().techniques()) {
    technique_->addItem(QString::fromStdString(t.displayName) + (t.available ? "" : " (not available yet)"),
                        QString::fromStdString(t.name));
    technique_->setItemData(technique_->count() - 1, QString::fromStdString(t.summary), Qt::ToolTipRole);
  }
  techniqueForm_ = new TechniqueForm;
  techniqueLayout->addWidget(technique_);
  techniqueLayout->addWidget(techniqueForm_);
  layout->addWidget(techniqueBox);
  connect(technique_, &QComboBox::currentIndexChanged, this, [this] {
    techniqueForm_->setTechnique(
        TechniqueRegistry::instance().find(technique_->currentData().toString().toStdString()));
    restoreTechniqueParams();
  });

  auto* benchBox = new QGroupBox("Benchmark");
  auto* benchForm = new QFormLayout(benchBox);
  threads_ = new QSpinBox;
  threads_->setRange(1, std::max(1, QThread::idealThreadCount()));
  threads_->setValue(std::min(2, QThread::idealThreadCount()));
  threads_->setToolTip("Inference threads (LibTorch intra-op); OpenBLAS stays at one.");
  batch_ = new QSpinBox;
  batch_->setRange(0, 4096);
  batch_->setSpecialValueText("input spec");
  batch_->setToolTip("Batch size for latency (0: the input spec's batch).");
  warmup_ = new QSpinBox;
  warmup_->setRange(0, 1000);
  warmup_->setValue(10);
  warmup_->setToolTip("Untimed runs before measuring.");
  benchRuns_ = new QSpinBox;
  benchRuns_->setRange(1, 100000);
  benchRuns_->setValue(100);
  benchRuns_->setToolTip("Timed runs; the median and p90 come from these.");
  threads_->setObjectName("threads");
  batch_->setObjectName("batch");
  warmup_->setObjectName("warmup");
  benchRuns_->setObjectName("benchRuns");
  benchForm->addRow("Threads", threads_);
  benchForm->addRow("Batch", batch_);
  benchForm->addRow("Warm-up", warmup_);
  benchForm->addRow("Runs", benchRuns_);
  layout->addWidget(benchBox);
  layout->addStretch(1);
  return panel;
}

QWidget* MainWindow::buildRunBar() {
  auto* bar = new QWidget;
  auto* layout = new QVBoxLayout(bar);
  auto* runRow = new QHBoxLayout;
  runButton_ = new QPushButton("Run");
  runButton_->setObjectName("runButton");
  runButton_->setToolTip("Quantize, evaluate and benchmark (Ctrl+R).");
  runButton_->setDefault(true);
  cancelButton_ = new QPushButton("Cancel");
  cancelButton_->setObjectName("cancelButton");
  cancelButton_->setToolTip("Stop the run (Esc); earlier results stay.");
  cancelButton_->setEnabled(false);
  runRow->addWidget(runButton_);
  runRow->addWidget(cancelButton_);
  layout->addLayout(runRow);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  progress_->setTextVisible(false);
  stage_ = new QLabel("Ready.");
  stage_->setObjectName("stage");
  stage_->setWordWrap(true);
  layout->addWidget(progress_);
  layout->addWidget(stage_);
  connect(runButton_, &QPushButton::clicked, this, &MainWindow::runSelectedTechnique);
  connect(cancelButton_, &QPushButton::clicked, this, &MainWindow::cancelRun);
  return bar;
}

QWidget* MainWindow::buildResults() {
  auto* splitter = new QSplitter(Qt::Vertical);
  resultTabs_ = new QTabWidget;
  runsTable_ = new QTableView;
  runsTable_->setObjectName("runsTable");
  runsTable_->setModel(runsModel_);
  runsTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
  runsTable_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  runsTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  runsTable_->setToolTip("Select two or more runs to compare them side by side.");
  resultTabs_->addTab(runsTable_, "Runs");
  comparison_ = new QTextEdit;
  comparison_->setObjectName("comparison");
  comparison_->setReadOnly(true);
  comparison_->setPlaceholderText("Select two or more runs in the Runs tab to compare them.");
  resultTabs_->addTab(comparison_, "Compare");
  // Everything the CLI prints for a run (notes, figures, per-layer report, the accuracy steps' per-layer
  // account), for the selected run.
  runDetails_ = new QTextEdit;
  runDetails_->setObjectName("runDetails");
  runDetails_->setReadOnly(true);
  runDetails_->setLineWrapMode(QTextEdit::NoWrap);
  runDetails_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  runDetails_->setPlaceholderText("Run a technique, or select a run in the Runs tab, to see its details.");
  resultTabs_->addTab(runDetails_, "Details");
  layersTable_ = new QTableView;
  layersTable_->setObjectName("layersTable");
  layersTable_->setModel(layersModel_);
  layersTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  layersTable_->setToolTip("* = technique not available yet");
  resultTabs_->addTab(layersTable_, "Layers");
  auto* opsPage = new QWidget;
  auto* opsLayout = new QVBoxLayout(opsPage);
  opsSummary_ = new QLabel("Run a technique to see where the quantized model's time goes.");
  opsSummary_->setObjectName("opsSummary");
  opsSummary_->setWordWrap(true);
  opsTable_ = new QTableView;
  opsTable_->setObjectName("opsTable");
  opsTable_->setModel(opsModel_);
  opsTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  opsTable_->setToolTip("Measured with LibTorch's profiler on the quantized model (selected run).");
  opsLayout->addWidget(opsSummary_);
  opsLayout->addWidget(opsTable_, 1);
  resultTabs_->addTab(opsPage, "Ops: int8 or float?");
  splitter->addWidget(resultTabs_);

  auto* chartArea = new QWidget;
  auto* chartLayout = new QVBoxLayout(chartArea);
  chartLayout->setContentsMargins(0, 0, 0, 0);
  auto* chartBar = new QHBoxLayout;
  histogramLayer_ = new QComboBox;
  histogramLayer_->setToolTip("Layer shown in the weight histogram (of the selected run).");
  auto* exportChart = new QPushButton("Export chart...");
  exportChart->setToolTip("Save the visible chart as PNG, JPG or PDF (vector).");
  auto* exportReport = new QPushButton("Report image...");
  exportReport->setToolTip("One PNG with the main charts and the summary table (Ctrl+E).");
  auto* exportWidth = new QSpinBox;
  exportWidth->setRange(200, 8000);
  exportWidth->setValue(1600);
  exportWidth->setSuffix(" px");
  exportWidth->setToolTip("Width of an exported chart.");
  auto* exportHeight = new QSpinBox;
  exportHeight->setRange(200, 8000);
  exportHeight->setValue(1000);
  exportHeight->setSuffix(" px");
  exportHeight->setToolTip("Height of an exported chart.");
  chartBar->addWidget(new QLabel("Histogram layer"));
  chartBar->addWidget(histogramLayer_, 1);
  chartBar->addWidget(exportWidth);
  chartBar->addWidget(new QLabel("x"));
  chartBar->addWidget(exportHeight);
  chartBar->addWidget(exportChart);
  chartBar->addWidget(exportReport);
  chartLayout->addLayout(chartBar);
  charts_ = new ChartPanel;
  chartLayout->addWidget(charts_, 1);
  splitter->addWidget(chartArea);
  splitter->setStretchFactor(1, 1);

  connect(runsTable_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    refreshCharts();
    refreshComparison();
  });
  connect(histogramLayer_, &QComboBox::currentTextChanged, this, [this] {
    if (histogramLayer_->signalsBlocked()) return;
    refreshCharts();
  });
  connect(exportChart, &QPushButton::clicked, this, [this, exportWidth, exportHeight] {
    const QString path = QFileDialog::getSaveFileName(this, "Export chart", "chart.png",
                                                      "PNG (*.png);;JPEG (*.jpg);;PDF (*.pdf)");
    if (!path.isEmpty())
      exportChartTo(charts_->currentIndex(), path, exportWidth->value(), exportHeight->value());
  });
  connect(exportReport, &QPushButton::clicked, this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Export report image", "quantscope-report.png", "PNG (*.png)");
    if (!path.isEmpty()) exportReportPng(path);
  });
  return splitter;
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu("&File");
  file->addAction("&Open model...", QKeySequence::Open, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open TorchScript model", {},
                                                      "TorchScript (*.pt *.pth *.ptl);;All files (*)");
    if (!path.isEmpty()) openModel(path);
  });
  file->addAction("Open built-in &demo", this, &MainWindow::openDemo);
  recentMenu_ = file->addMenu("Open &recent");
  file->addSeparator();
  file->addAction("Open &project...", this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, "Open project", {}, "QuantScope project (*.qsproj *.json)");
    if (!path.isEmpty()) openProject(path);
  });
  file->addAction("&Import results...", this, [this] {
    const QString folder =
        QFileDialog::getExistingDirectory(this, "Import results (a folder of result JSONs)");
    if (!folder.isEmpty()) importResults(folder);
  });
  file->addAction("&Save project...", QKeySequence::Save, this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Save project", "session.qsproj", "QuantScope project (*.qsproj)");
    if (!path.isEmpty()) saveProjectTo(path);
  });
  file->addAction("Save quantized model &as...", QKeySequence::SaveAs, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, "Save quantized model", "model_quantized.pt",
                                                      "TorchScript (*.pt)");
    if (!path.isEmpty()) saveQuantizedModelTo(selectedRunRow(), path);
  });
  file->addSeparator();
  file->addAction("Export report &image...", QKeySequence(Qt::CTRL | Qt::Key_E), this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Export report image", "quantscope-report.png", "PNG (*.png)");
    if (!path.isEmpty()) exportReportPng(path);
  });
  file->addAction("Export report P&DF...", this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Export report PDF", "quantscope-report.pdf", "PDF (*.pdf)");
    if (!path.isEmpty()) exportReportPdf(path);
  });
  file->addAction("Export runs as CS&V / JSON...", this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Export runs", "runs.csv", "CSV (*.csv);;JSON (*.json)");
    if (path.isEmpty()) return;
    try {
      path.endsWith(".json") ? exportRunsJson(*runsModel_, path) : exportRunsCsv(*runsModel_, path);
    } catch (const Error& e) {
      showError(QString::fromStdString(e.fullMessage()));
    }
  });
  file->addAction("Export &training curves as CSV...", this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Export training curves", "training-curves.csv", "CSV (*.csv)");
    if (!path.isEmpty()) exportTrainingCurvesTo(path);
  });
  file->addSeparator();
  file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);
  QMenu* run = menuBar()->addMenu("&Run");
  run->addAction("&Run", QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::runSelectedTechnique);
  run->addAction("&Cancel", QKeySequence(Qt::Key_Escape), this, &MainWindow::cancelRun);
  buildAnalysis(run);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  controller_->cancel();
  controller_->waitForIdle();
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  rememberTechniqueParams();
  event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (!urls.isEmpty() && urls.first().isLocalFile()) openModel(urls.first().toLocalFile());
}

}  // namespace quantscope::ui
