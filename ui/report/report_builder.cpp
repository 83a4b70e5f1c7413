#include "ui/report/report_builder.h"

#include <qcustomplot.h>

#include <QBuffer>
#include <QFileInfo>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <memory>

#include "core/errors.h"
#include "core/results/comparison.h"
#include "ui/charts/result_charts.h"
#include "ui/models/runs_model.h"
#include "ui/report/report_export.h"

namespace quantscope::ui {
namespace {

void drawReport(QPainter& painter, const QRect& area, const ReportContent& report) {
  RunsModel runs;
  for (const auto& run : report.runs) runs.add(run);
  painter.fillRect(area, Qt::white);
  const int margin = area.width() / 60;
  QFont titleFont = painter.font();
  titleFont.setPixelSize(std::max(14, area.width() / 55));
  titleFont.setBold(true);
  painter.setFont(titleFont);
  painter.setPen(Qt::black);
  int y = area.top() + margin;
  painter.drawText(QRect(area.left() + margin, y, area.width() - 2 * margin, titleFont.pixelSize() * 2),
                   Qt::AlignLeft | Qt::AlignVCenter, "QuantScope report: " + report.modelName);
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
  for (const auto& run : report.runs) {
    painter.drawText(area.left() + margin, y + tableFont.pixelSize(),
                     run.label() + " vs its fp32 original: " +
                         QString::fromStdString(describeAgainstOriginal(run.result)));
    y += rowHeight;
  }
  y += margin / 2;

  // The main charts in a 3x2 grid below, each drawn into a plot of the report's own.
  const int detail = report.detailRun >= 0 && report.detailRun < int(report.runs.size())
                         ? report.detailRun
                         : int(report.runs.size()) - 1;
  const ChartData data{report.runs, detail >= 0 ? &report.runs[size_t(detail)] : nullptr, {}};
  const std::vector<ResultChart> shown{
      ResultChart::Size,           ResultChart::Accuracy,          ResultChart::Latency,
      ResultChart::AccuracyVsSize, ResultChart::AccuracyVsLatency, ResultChart::LayerSqnr};
  const int cellWidth = (area.width() - 2 * margin) / 3;
  const int cellHeight = std::max(100, (area.bottom() - y - margin) / 2);
  for (size_t i = 0; i < shown.size(); ++i) {
    const QRect cell(area.left() + margin + int(i % 3) * cellWidth, y + int(i / 3) * cellHeight, cellWidth,
                     cellHeight);
    painter.setFont(tableFont);
    painter.drawText(cell.adjusted(0, 0, 0, -cell.height() + rowHeight), Qt::AlignCenter,
                     chartTitle(shown[i]));
    const std::unique_ptr<QCustomPlot> plot(newChartPlot(shown[i]));
    drawChart(plot.get(), shown[i], data);
    const QPixmap pixmap = plot->toPixmap(cell.width() - 10, cell.height() - rowHeight - 10, 1.0);
    painter.drawPixmap(cell.left() + 5, cell.top() + rowHeight, pixmap);
  }
}

}  // namespace

QImage renderReportImage(const ReportContent& report, int width) {
  const int tableRows = 2 * int(report.runs.size()) + 2;
  const int height = width * 2 / 3 + tableRows * std::max(10, width / 110) * 3 / 2 + width / 20;
  QImage image(width, height, QImage::Format_RGB32);
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  drawReport(painter, image.rect(), report);
  return image;
}

void saveReportPng(const ReportContent& report, const QString& path) {
  const QImage image = renderReportImage(report);
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (!image.save(&buffer, "PNG")) throw Error("Rendering the report image failed.");
  writeAtomically(path, bytes);
}

void saveReportPdf(const ReportContent& report, const QString& path) {
  renderThenMove(path, [&](const QString& file) {
    QPdfWriter writer(file);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageOrientation(QPageLayout::Landscape);
    writer.setResolution(150);
    writer.setTitle("QuantScope report: " + report.modelName);
    QPainter painter(&writer);
    if (!painter.isActive()) return false;
    drawReport(painter, QRect(0, 0, writer.width(), writer.height()), report);
    return painter.end();
  });
}

void saveReport(const ReportContent& report, const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == "png") return saveReportPng(report, path);
  if (suffix == "pdf") return saveReportPdf(report, path);
  throw Error("A report is written as .png or .pdf, not '" + path.toStdString() + "'.",
              "Name the file report.png or report.pdf.");
}

}  // namespace quantscope::ui
