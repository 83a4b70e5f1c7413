#pragma once
// Exports: a chart as PNG/JPG/PDF (vector), the runs as CSV or JSON, and the training curves as CSV (the
// report is ui/report/report_builder.h). Every file is written atomically.
#include <QByteArray>
#include <QString>
#include <functional>

#include "ui/models/runs_model.h"

class QCustomPlot;

namespace quantscope::ui {

// Writes `bytes` to `path` atomically (QSaveFile); throws quantscope::Error naming the file.
void writeAtomically(const QString& path, const QByteArray& bytes);
// For writers that make the file themselves (QCustomPlot, QPdfWriter): `write` renders into a temporary file
// beside `path`, which then replaces `path`. `write` returns false on failure.
void renderThenMove(const QString& path, const std::function<bool(const QString&)>& write);

// By the file's suffix: .png, .jpg/.jpeg or .pdf. Throws quantscope::Error on failure.
void exportChart(QCustomPlot* plot, const QString& path, int width, int height);
void exportRunsCsv(const RunsModel& runs, const QString& path);
void exportRunsJson(const RunsModel& runs, const QString& path);
// One row per training point of every run that has a curve: run, technique, series, epoch (from 1), step, end
// of epoch, loss, learning rate, accuracies (empty when not measured), seconds. Throws when no run has a
// curve.
void exportTrainingCurvesCsv(const RunsModel& runs, const QString& path);

}  // namespace quantscope::ui
