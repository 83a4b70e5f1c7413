#include "ui/report/report_export.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QSaveFile>
#include <QTemporaryDir>

#include "core/errors.h"
#include "core/results/run_result_json.h"

namespace quantscope::ui {

void writeAtomically(const QString& path, const QByteArray& bytes) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    throw Error("Cannot write '" + path.toStdString() + "': " + file.errorString().toStdString());
  }
}

void renderThenMove(const QString& path, const std::function<bool(const QString&)>& write) {
  const QFileInfo target(path);
  QTemporaryDir dir(target.absolutePath() + "/.quantscope-export-XXXXXX");
  if (!dir.isValid()) throw Error("Cannot write into '" + target.absolutePath().toStdString() + "'.");
  const QString temporary = dir.filePath("export." + target.suffix());
  if (!write(temporary)) throw Error("Rendering '" + path.toStdString() + "' failed.");
  QFile::remove(path);
  if (!QFile::rename(temporary, path)) throw Error("Cannot write '" + path.toStdString() + "'.");
}

void exportChart(QCustomPlot* plot, const QString& path, int width, int height) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != "png" && suffix != "jpg" && suffix != "jpeg" && suffix != "pdf") {
    throw Error("Charts export as .png, .jpg or .pdf, not '." + suffix.toStdString() + "'.");
  }
  if (width < 50 || height < 50) throw Error("The export size must be at least 50x50 pixels.");
  renderThenMove(path, [&](const QString& file) {
    if (suffix == "png") return plot->savePng(file, width, height);
    if (suffix == "pdf") return plot->savePdf(file, width, height);
    return plot->saveJpg(file, width, height, 1.0, 92);
  });
}

void exportRunsCsv(const RunsModel& runs, const QString& path) {
  QByteArray csv;
  QStringList header;
  for (int c = 0; c < runs.columnCount(); ++c)
    header << runs.headerData(c, Qt::Horizontal, Qt::DisplayRole).toString();
  csv += header.join(',').toUtf8() + "\n";
  for (int r = 0; r < runs.rowCount(); ++r) {
    QStringList cells;
    for (int c = 0; c < runs.columnCount(); ++c)
      cells << "\"" + runs.cellText(r, c).replace('"', "\"\"") + "\"";
    csv += cells.join(',').toUtf8() + "\n";
  }
  writeAtomically(path, csv);
}

void exportTrainingCurvesCsv(const RunsModel& runs, const QString& path) {
  // Numbers in their shortest exact form; unmeasured (negative) figures as empty cells.
  auto number = [](double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); };
  auto measured = [&](double v) { return v >= 0 ? number(v) : QString(); };
  auto quoted = [](QString text) { return "\"" + text.replace('"', "\"\"") + "\""; };
  QByteArray csv =
      "run,technique,series,epoch,step,end_of_epoch,loss,learning_rate,train_accuracy_pct,"
      "validation_accuracy_pct,validation_agreement_pct,elapsed_s\n";
  bool any = false;
  for (const auto& run : runs.runs()) {
    for (const auto& p : run.result.trainingCurve) {
      any = true;
      const QStringList cells{QString("#%1").arg(run.id),
                              quoted(QString::fromStdString(run.result.technique)),
                              quoted(QString::fromStdString(p.series)),
                              QString::number(p.epoch + 1),
                              QString::number(p.step),
                              p.endOfEpoch ? "1" : "0",
                              number(p.loss),
                              number(p.learningRate),
                              measured(p.trainAccuracy),
                              measured(p.validationAccuracy),
                              measured(p.validationAgreement),
                              number(p.elapsedSeconds)};
      csv += cells.join(',').toUtf8() + "\n";
    }
  }
  if (!any) {
    throw Error("No run has a training curve to export.",
                "Training curves come from the techniques that train: qat, pruning and distillation.");
  }
  writeAtomically(path, csv);
}

void exportRunsJson(const RunsModel& runs, const QString& path) {
  QJsonArray array;
  for (const auto& run : runs.runs()) array.append(toJson(run.result));
  writeJsonFile(QJsonDocument(array), path, "the runs");
}

}  // namespace quantscope::ui
