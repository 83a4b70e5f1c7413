#include "ui/report_export.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTemporaryDir>

#include "core/errors.h"
#include "core/results/comparison.h"
#include "core/results/run_result_json.h"

namespace quantscope::ui {
namespace {

void writeAtomically(const QString& path, const QByteArray& bytes) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    throw Error("Cannot write '" + path.toStdString() + "': " + file.errorString().toStdString());
  }
}

// QCustomPlot writes files itself; render into a temporary file beside the target, then rename.
template <typename WriteFn>
void renderThenMove(const QString& path, WriteFn write) {
  const QFileInfo target(path);
  QTemporaryDir dir(target.absolutePath() + "/.quantscope-export-XXXXXX");
  if (!dir.isValid()) throw Error("Cannot write into '" + target.absolutePath().toStdString() + "'.");
  const QString temporary = dir.filePath("export." + target.suffix());
  if (!write(temporary)) throw Error("Rendering '" + path.toStdString() + "' failed.");
  QFile::remove(path);
  if (!QFile::rename(temporary, path)) throw Error("Cannot write '" + path.toStdString() + "'.");
}

void drawReport(QPainter& painter, const QRect& area, const ChartPanel& charts, const RunsModel& runs,
                const QString& modelName) {
  painter.fillRect(area, Qt::white);
  const int margin = area.width() / 60;
  QFont titleFont = painter.font();
  titleFont.setPixelSize(std::max(14, area.width() / 55));
  titleFont.setBold(true);
  painter.setFont(titleFont);
  painter.setPen(Qt::black);
  int y = area.top() + margin;
  painter.drawText(QRect(area.left() + margin, y, area.width() - 2 * margin, titleFont.pixelSize() * 2),
                   Qt::AlignLeft | Qt::AlignVCenter, "QuantScope report: " + modelName);
  y += titleFont.pixelSize() * 2 + margin / 2;

  // Summary table: the runs table's key columns, and each run against its original.
  QFont tableFont = painter.font();
  tableFont.setBold(false);
  tableFont.setPixelSize(std::max(10, area.width() / 110));
  painter.setFont(tableFont);
  const int rowHeight = tableFont.pixelSize() * 3 / 2;
  const std::vector<int> columns{RunsModel::Run,       RunsModel::Technique, RunsModel::RecipeEngine,
                                 RunsModel::Size,      RunsModel::SizeRatio, RunsModel::Top1,
                                 RunsModel::Top1Delta, RunsModel::Sqnr,      RunsModel::LatencyMedian,
                                 RunsModel::Speedup};
  const int columnWidth = (area.width() - 2 * margin) / int(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    painter.drawText(QRect(area.left() + margin + int(c) * columnWidth, y, columnWidth, rowHeight),
                     Qt::AlignLeft, runs.headerData(columns[c], Qt::Horizontal, Qt::DisplayRole).toString());
  }
  y += rowHeight;
  painter.drawLine(area.left() + margin, y, area.right() - margin, y);
  for (int r = 0; r < runs.rowCount(); ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      painter.drawText(QRect(area.left() + margin + int(c) * columnWidth, y, columnWidth, rowHeight),
                       Qt::AlignLeft, runs.cellText(r, columns[c]));
    }
    y += rowHeight;
  }
  for (const auto& run : runs.runs()) {
    painter.drawText(area.left() + margin, y + tableFont.pixelSize(),
                     run.label() + " vs its fp32 original: " +
                         QString::fromStdString(describeAgainstOriginal(run.result)));
    y += rowHeight;
  }
  y += margin / 2;

  // The main charts in a 3x2 grid below.
  const std::vector<ChartPanel::Chart> shown{
      ChartPanel::Size,           ChartPanel::Accuracy,          ChartPanel::Latency,
      ChartPanel::AccuracyVsSize, ChartPanel::AccuracyVsLatency, ChartPanel::LayerSqnr};
  const int cellWidth = (area.width() - 2 * margin) / 3;
  const int cellHeight = std::max(100, (area.bottom() - y - margin) / 2);
  for (size_t i = 0; i < shown.size(); ++i) {
    const QRect cell(area.left() + margin + int(i % 3) * cellWidth, y + int(i / 3) * cellHeight, cellWidth,
                     cellHeight);
    painter.setFont(tableFont);
    painter.drawText(cell.adjusted(0, 0, 0, -cell.height() + rowHeight), Qt::AlignCenter,
                     ChartPanel::title(shown[i]));
    const QPixmap pixmap =
        charts.plot(shown[i])->toPixmap(cell.width() - 10, cell.height() - rowHeight - 10, 1.0);
    painter.drawPixmap(cell.left() + 5, cell.top() + rowHeight, pixmap);
  }
}

}  // namespace

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

QImage renderReportImage(const ChartPanel& charts, const RunsModel& runs, const QString& modelName,
                         int width) {
  const int tableRows = 2 * runs.rowCount() + 2;
  const int height = width * 2 / 3 + tableRows * std::max(10, width / 110) * 3 / 2 + width / 20;
  QImage image(width, height, QImage::Format_RGB32);
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  drawReport(painter, image.rect(), charts, runs, modelName);
  return image;
}

void saveReportPng(const ChartPanel& charts, const RunsModel& runs, const QString& modelName,
                   const QString& path) {
  const QImage image = renderReportImage(charts, runs, modelName);
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (!image.save(&buffer, "PNG")) throw Error("Rendering the report image failed.");
  writeAtomically(path, bytes);
}

void saveReportPdf(const ChartPanel& charts, const RunsModel& runs, const QString& modelName,
                   const QString& path) {
  renderThenMove(path, [&](const QString& file) {
    QPdfWriter writer(file);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageOrientation(QPageLayout::Landscape);
    writer.setResolution(150);
    writer.setTitle("QuantScope report: " + modelName);
    QPainter painter(&writer);
    if (!painter.isActive()) return false;
    drawReport(painter, QRect(0, 0, writer.width(), writer.height()), charts, runs, modelName);
    return painter.end();
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
  writeAtomically(path, QJsonDocument(array).toJson(QJsonDocument::Indented));
}

}  // namespace quantscope::ui
