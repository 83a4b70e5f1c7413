#pragma once
// The report, built from the runs' data alone: a title, the runs' summary table, each run against its fp32
// original, and the main charts in a 3x2 grid, drawn by ui/charts/'s builders into plots of its own that are
// never shown. As one PNG image or a PDF page. Needs a QApplication (the offscreen platform will do), not a
// window.
#include <QImage>
#include <QString>
#include <vector>

#include "ui/models/run_entry.h"

namespace quantscope::ui {

struct ReportContent {
  QString modelName;
  std::vector<RunEntry> runs;
  // The run whose per-layer SQNR the report shows; out of range (the default): the last run.
  int detailRun = -1;
};

QImage renderReportImage(const ReportContent& report, int width = 1800);
// Both write atomically and throw quantscope::Error on failure.
void saveReportPng(const ReportContent& report, const QString& path);
void saveReportPdf(const ReportContent& report, const QString& path);
// By the file's suffix: .png or .pdf; anything else is refused with a clear error.
void saveReport(const ReportContent& report, const QString& path);

}  // namespace quantscope::ui
