#include "app/cli_report.h"

#include <QFileInfo>
#include <iostream>
#include <string>

#include "app/cli_options.h"
#include "core/errors.h"
#include "core/results/run_result_json.h"
#include "ui/report/report_builder.h"

namespace quantscope::cli {

void addReportOption(QCommandLineParser& parser) {
  parser.addOption(
      {"report", "Also write a report of the run (charts + summary table): .png or .pdf.", "file"});
}

void checkReportPath(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != "png" && suffix != "pdf") {
    throw Error("A report is written as .png or .pdf, not '" + path.toStdString() + "'.",
                "Name the file report.png or report.pdf.");
  }
  if (!QFileInfo(QFileInfo(path).absolutePath()).isDir())
    throw Error("Cannot write the report '" + path.toStdString() + "': its folder does not exist.");
  cli::checkOutputPath(path, {});
}

void writeReport(const QString& path, const QString& modelName, const std::vector<ProjectRun>& runs) {
  ui::ReportContent report;
  report.modelName = modelName;
  for (const auto& run : runs) {
    ui::RunEntry entry;
    entry.id = run.id;
    entry.result = run.result;
    report.runs.push_back(std::move(entry));
  }
  ui::saveReport(report, path);
}

int commandReport(const QStringList& args) {
  QCommandLineParser parser;
  parser.addOption({{"o", "output"}, "Where to write the report: .png (one image) or .pdf.", "file"});
  parser.addOption(
      {"title", "The model's name in the report's title (default: the runs' model file name).", "name"});
  parser.addPositionalArgument(
      "results",
      "A project file, a runs JSON (the window's Export > Runs as JSON) or one run's "
      "JSON (quantscope-cli ... --json).");
  parseOrExit(parser, args,
              "Writes a report (the runs' summary table and the size, accuracy, latency, trade-off and "
              "per-layer SQNR charts of the last run) from saved results. Needs no display.");
  const QString input = requiredPositional(parser, 0, "results file (project or runs JSON)");
  if (!parser.isSet("output")) throw Error("Missing -o/--output: where to write the report (.png or .pdf).");
  const QString output = parser.value("output");
  checkReportPath(output);
  const std::vector<ProjectRun> runs = loadRuns(input);
  QString title = parser.value("title");
  if (title.isEmpty()) title = QFileInfo(QString::fromStdString(runs.front().result.modelPath)).fileName();
  if (title.isEmpty()) title = QFileInfo(input).fileName();
  writeReport(output, title, runs);
  if (parser.isSet("json")) {
    printJson({{"report", output}, {"runs", int(runs.size())}, {"title", title}});
  } else {
    std::cout << "Wrote " << output.toStdString() << ": " << runs.size()
              << (runs.size() == 1 ? " run" : " runs") << " of " << title.toStdString() << "\n";
  }
  return 0;
}

bool wantsReport(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "report") return true;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--report" || arg.rfind("--report=", 0) == 0) return true;
  }
  return false;
}

}  // namespace quantscope::cli
