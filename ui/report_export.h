#pragma once
// Exports: a chart as PNG/JPG/PDF (vector), a one-image report (charts + summary table) as PNG, a PDF
// report, the runs as CSV or JSON, and the training curves as CSV. Every file is written atomically.
#include <QImage>
#include <QString>
#include <vector>

#include "ui/charts.h"
#include "ui/runs_model.h"

class QCustomPlot;

namespace quantscope::ui {

// By the file's suffix: .png, .jpg/.jpeg or .pdf. Throws quantscope::Error on failure.
void exportChart(QCustomPlot* plot, const QString& path, int width, int height);
QImage renderReportImage(const ChartPanel& charts, const RunsModel& runs, const QString& modelName,
                         int width = 1800);
void saveReportPng(const ChartPanel& charts, const RunsModel& runs, const QString& modelName,
                   const QString& path);
void saveReportPdf(const ChartPanel& charts, const RunsModel& runs, const QString& modelName,
                   const QString& path);
void exportRunsCsv(const RunsModel& runs, const QString& path);
void exportRunsJson(const RunsModel& runs, const QString& path);
// One row per training point of every run that has a curve: run, technique, series, epoch (from 1), step, end
// of epoch, loss, learning rate, accuracies (empty when not measured), seconds. Throws when no run has a
// curve.
void exportTrainingCurvesCsv(const RunsModel& runs, const QString& path);

}  // namespace quantscope::ui
