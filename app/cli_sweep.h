#pragma once
// quantscope-cli sweep: many quantization jobs from one job file (core/sweep/sweep_plan.h), each run as a
// child process executing exactly the command `sweep --list` prints, so a crash in one job cannot take the
// sweep down and a sweep run here is the same thing as its list run by GNU parallel or a Slurm job array.
// Also the result JSON that `quantize --result-json` writes and every sweep job produces.
#include <QCommandLineParser>
#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace quantscope::cli {

// `quantscope-cli sweep JOBS.json [-o FOLDER] [--list [--pending]] [--program CLI] [--json]`; returns the
// exit status (non-zero when a job failed). Throws quantscope::Error for a bad job file or folder.
int commandSweep(const QStringList& args);

// quantize's --result-json FILE.
void addResultJsonOption(QCommandLineParser& parser);
// Checked before any work: a .json name in an existing folder, neither the model nor the -o file.
void checkResultJsonPath(const QString& path, const QString& modelPath, const QString& outputPath);
// The run's result JSON (the schema of the window's run export and of --json), written atomically.
void writeResultJson(const QJsonObject& result, const QString& path);

}  // namespace quantscope::cli
