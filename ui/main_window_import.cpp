// File > Import results: the runs of a folder of result JSONs (a sweep's results folder, runs exports,
// projects) join the runs table and every chart, as reopened runs do.
#include <QFileInfo>
#include <QLabel>
#include <QStatusBar>
#include <QTableView>
#include <set>

#include "core/errors.h"
#include "core/results/results_folder.h"
#include "ui/main_window.h"
#include "ui/models/runs_model.h"

namespace quantscope::ui {

void MainWindow::importResults(const QString& folder) {
  clearError();
  ResultsFolder loaded;
  try {
    loaded = loadResultsFolder(folder);
  } catch (const Error& e) {
    return showError(QString::fromStdString(e.fullMessage()));
  }
  // A run whose measured record is already in the table (the same file imported again, or a run exported
  // from this session) is not added twice; a job run again is a new measurement and is added.
  std::set<QByteArray> known;
  for (const auto& run : runsModel_->runs()) known.insert(runIdentity(run.result));
  int added = 0, alreadyShown = 0;
  for (const ProjectRun& run : loaded.runs) {
    if (!known.insert(runIdentity(run.result)).second) {
      ++alreadyShown;
      continue;
    }
    RunEntry entry;  // an imported run has no quantized model in memory, like a reopened one
    entry.id = nextRunId_++;
    entry.result = run.result;
    runsModel_->add(entry);
    ++added;
  }
  if (added > 0) runsTable_->selectRow(runsModel_->rowCount() - 1);
  refreshCharts();

  const QString name = QFileInfo(folder).fileName().isEmpty() ? folder : QFileInfo(folder).fileName();
  QString summary = QString("Imported %1 %2 from %3").arg(added).arg(added == 1 ? "run" : "runs", name);
  if (alreadyShown > 0) summary += QString("; %1 already in the table, not added again").arg(alreadyShown);
  summary += ".";
  stage_->setText(summary);
  statusBar()->showMessage(summary, 10000);
  if (loaded.runs.empty() && loaded.skipped.empty()) {
    return showError("The folder " + folder +
                     " holds no result files. A sweep writes one result JSON per job into its -o folder.");
  }
  if (!loaded.skipped.empty()) {
    // Not an error of the import: the banner lists what was left out and why, and stays until the next
    // action.
    QString message =
        QString("%1 Skipped %2 %3 that %4 not QuantScope results:")
            .arg(summary)
            .arg(loaded.skipped.size())
            .arg(loaded.skipped.size() == 1 ? "file" : "files", loaded.skipped.size() == 1 ? "is" : "are");
    for (const SkippedResultFile& file : loaded.skipped)
      message += "\n  " + file.fileName + ": " + file.reason;
    errorBanner_->setText(message);
    errorBanner_->show();
  }
}

}  // namespace quantscope::ui
