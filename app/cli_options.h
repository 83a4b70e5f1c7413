#pragma once
// Command-line options shared by quantscope-cli's subcommands: model input spec, data source, benchmark.
#include <QCommandLineParser>
#include <QJsonObject>
#include <optional>

#include "core/data/dataset.h"
#include "core/model/model.h"
#include "core/runtime/benchmark.h"
#include "core/technique_registry.h"

namespace quantscope::cli {

// Sets the description, adds --json and --help, parses; --help prints the help (and `extraHelp`) and exits 0.
// Throws Error naming a bad option.
void parseOrExit(QCommandLineParser& parser, const QStringList& args, const QString& description,
                 const QString& extraHelp = {});
// The positional argument at `index`, or an Error saying which one is missing.
QString requiredPositional(const QCommandLineParser& parser, int index, const char* what);
// --json output: the object, indented, on stdout.
void printJson(const QJsonObject& object);

void addModelOptions(QCommandLineParser& parser);
void addDataOptions(QCommandLineParser& parser);
void addBenchmarkOptions(QCommandLineParser& parser);
void addTechniqueOptions(QCommandLineParser& parser);

// Loads the model and applies --input-shape / --input-dtype.
Model loadModel(const QCommandLineParser& parser, const QString& path);
DataSource dataSource(const QCommandLineParser& parser);
// --calib-data (or its alias --train-data) with the same image/CSV options as --data; empty when not given.
std::optional<DataSource> calibrationSource(const QCommandLineParser& parser);
BenchmarkOptions benchmarkOptions(const QCommandLineParser& parser);
int intOption(const QCommandLineParser& parser, const QString& name, int fallback, int minimum);
// --param key=value, the shortcuts (--calib-samples, --observer, --qconfig) and --student FILE, which must
// exist (throws Error otherwise).
// --param key=value, and the flag every technique parameter has (--calib-samples, --student, --lr, ...).
ParamValues techniqueParams(const QCommandLineParser& parser);
// (flag, parameter) for every parameter name in the registry: calib_samples -> --calib-samples.
std::vector<std::pair<QString, const ParamSpec*>> parameterFlags();
// Checked before any work, so that a bad -o costs no run and leaves no other output behind: the folder
// exists and takes a new file, the path is no folder, and it is none of `inputs` (model, data, student:
// QSaveFile would replace an input file atomically). Throws Error.
void checkOutputPath(const QString& output, const QStringList& inputs);
// The techniques and their parameters, as the registry describes them, for --help.
QString techniquesHelp();

}  // namespace quantscope::cli
