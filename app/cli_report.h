#pragma once
// Reports from the command line: `quantscope-cli report FILE -o out.png|pdf`, and the --report option of
// demo and quantize. Reports draw with the window's chart functions (quantscope_charts), headless.
#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <vector>

#include "core/results/project_file.h"

namespace quantscope::cli {

// --report FILE: checked before any work, so a bad name does not cost a run.
void addReportOption(QCommandLineParser& parser);
void checkReportPath(const QString& path);
void writeReport(const QString& path, const QString& modelName, const std::vector<ProjectRun>& runs);
int commandReport(const QStringList& args);
// Whether the command line asks for a report, which needs a QApplication (the others stay on
// QCoreApplication and create no widgets).
bool wantsReport(int argc, char** argv);

}  // namespace quantscope::cli
