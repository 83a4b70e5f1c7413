#include "app/cli_options.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QStringList>
#include <QTemporaryFile>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "core/errors.h"
#include "core/params/param_kind.h"

namespace quantscope::cli {

void parseOrExit(QCommandLineParser& parser, const QStringList& args, const QString& description,
                 const QString& extraHelp) {
  parser.setApplicationDescription(description);
  parser.addOption({"json", "Print JSON on stdout instead of text."});
  const QCommandLineOption help({"h", "help"}, "Show this help.");
  parser.addOption(help);
  if (!parser.parse(args)) throw Error(parser.errorText().toStdString(), "See --help.");
  if (parser.isSet(help)) {
    std::cout << parser.helpText().toStdString() << extraHelp.toStdString();
    std::exit(0);
  }
}

QString requiredPositional(const QCommandLineParser& parser, int index, const char* what) {
  if (parser.positionalArguments().size() <= index)
    throw Error(std::string("Missing ") + what + ".", "See --help.");
  return parser.positionalArguments().at(index);
}

void printJson(const QJsonObject& object) {
  std::cout << QJsonDocument(object).toJson(QJsonDocument::Indented).toStdString();
}

void addModelOptions(QCommandLineParser& parser) {
  parser.addOption({"input-shape",
                    "Input shape, batch first (e.g. 1x3x224x224); needed when the model does "
                    "not store one.",
                    "shape"});
  parser.addOption(
      {"input-dtype", "Input element type: float (default) or long (token ids).", "dtype", "float"});
}

void addDataOptions(QCommandLineParser& parser) {
  parser.addOption({"data",
                    "Data: digits[:test|train|all], a folder of class sub-folders, a .pt file "
                    "({'x': X, 'y': Y}) or a .csv file.",
                    "source"});
  parser.addOption({"image-size", "Image folders: resize to HxW (default: the model's input).", "HxW"});
  parser.addOption(
      {"channels", "Image folders: 1 (grayscale) or 3 (RGB) (default: the model's input).", "n"});
  parser.addOption({"mean", "Image folders: per-channel mean after scaling to 0..1, comma separated.", "m"});
  parser.addOption({"std", "Image folders: per-channel std, comma separated.", "s"});
  parser.addOption({"label-column", "CSV: label column name or 0-based index.", "column"});
  parser.addOption({"unlabelled", "Ignore labels (fidelity metrics only)."});
  parser.addOption({"max-samples", "Use at most this many samples.", "n"});
}

void addBenchmarkOptions(QCommandLineParser& parser) {
  parser.addOption({"threads", "Threads for inference (default 2).", "n", "2"});
  parser.addOption({"runs", "Timed runs (default 100).", "n", "100"});
  parser.addOption({"warmup", "Warm-up runs before timing (default 10).", "n", "10"});
  parser.addOption({"batch", "Batch size for the benchmark (default: the input spec's).", "n"});
}

void addTechniqueOptions(QCommandLineParser& parser) {
  parser.addOption({"technique", "Quantization technique (see the list below).", "name", "dynamic"});
  parser.addOption({"param", "Technique parameter key=value; repeatable.", "key=value"});
  // --train-data is the same option under the name the training techniques (qat, pruning, distillation) use.
  parser.addOption(
      {{"calib-data", "train-data"},
       "Calibration data for static/fx, training data for qat/pruning/distillation (same forms as "
       "--data; --calib-data and --train-data are the same option).",
       "source"});
  // Every technique parameter has a flag of its own, generated from the registry: --calib-samples 256 is
  // --param calib_samples=256, --student FILE is --param student=FILE.
  for (const auto& [flag, spec] : parameterFlags()) {
    QString techniques;
    for (const auto& t : TechniqueRegistry::instance().techniques()) {
      for (const auto& p : t.params) {
        if (p.name == spec->name)
          techniques += (techniques.isEmpty() ? "" : ", ") + QString::fromStdString(t.name);
      }
    }
    parser.addOption({flag,
                      QString("Same as --param %1=VALUE (%2; %3).")
                          .arg(QString::fromStdString(spec->name),
                               QString::fromStdString(toString(spec->type)), techniques),
                      QString::fromStdString(paramKind(spec->type).valueName())});
  }
}

std::vector<std::pair<QString, const ParamSpec*>> parameterFlags() {
  std::vector<std::pair<QString, const ParamSpec*>> flags;
  for (const auto& t : TechniqueRegistry::instance().techniques()) {
    for (const auto& p : t.params) {
      const QString flag = QString::fromStdString(p.name).replace('_', '-');
      const bool seen =
          std::any_of(flags.begin(), flags.end(), [&](const auto& f) { return f.first == flag; });
      if (!seen) flags.emplace_back(flag, &p);
    }
  }
  return flags;
}

int intOption(const QCommandLineParser& parser, const QString& name, int fallback, int minimum) {
  if (!parser.isSet(name) && parser.value(name).isEmpty()) return fallback;
  bool ok = false;
  const int value = parser.value(name).toInt(&ok);
  if (!ok || value < minimum) {
    throw Error("--" + name.toStdString() + " must be a whole number >= " + std::to_string(minimum) +
                ", got '" + parser.value(name).toStdString() + "'.");
  }
  return value;
}

Model loadModel(const QCommandLineParser& parser, const QString& path) {
  Model model = Model::load(path.toStdString());
  if (parser.isSet("input-shape")) {
    model.setInputSpec(InputSpec::parse(parser.value("input-shape").toStdString(),
                                        parser.value("input-dtype").toStdString()));
  }
  return model;
}

static std::vector<double> numberList(const QString& text, const char* option) {
  std::vector<double> values;
  if (text.isEmpty()) return values;
  for (const QString& part : text.split(',')) {
    bool ok = false;
    values.push_back(part.toDouble(&ok));
    if (!ok)
      throw Error(std::string("--") + option + " takes numbers separated by commas, got '" +
                  text.toStdString() + "'.");
  }
  return values;
}

DataSource dataSource(const QCommandLineParser& parser) {
  DataSource source;
  source.location = parser.isSet("data") ? parser.value("data").toStdString() : "digits";
  if (parser.isSet("image-size")) {
    const InputSpec size = InputSpec::parse(parser.value("image-size").toStdString());
    if (size.shape.size() != 2) throw Error("--image-size takes HxW, e.g. 32x32.");
    source.imageHeight = size.shape[0];
    source.imageWidth = size.shape[1];
  }
  source.channels = intOption(parser, "channels", 0, 1);
  source.mean = numberList(parser.value("mean"), "mean");
  source.std = numberList(parser.value("std"), "std");
  source.labelColumn = parser.value("label-column").toStdString();
  source.unlabelled = parser.isSet("unlabelled");
  source.maxSamples = intOption(parser, "max-samples", 0, 1);
  return source;
}

std::optional<DataSource> calibrationSource(const QCommandLineParser& parser) {
  if (!parser.isSet("calib-data")) return std::nullopt;
  DataSource source = dataSource(parser);
  source.location = parser.value("calib-data").toStdString();
  source.maxSamples = 0;  // calib_samples decides
  return source;
}

BenchmarkOptions benchmarkOptions(const QCommandLineParser& parser) {
  BenchmarkOptions options;
  options.threads = intOption(parser, "threads", 2, 1);
  options.warmupRuns = intOption(parser, "warmup", 10, 0);
  return options;
}

ParamValues techniqueParams(const QCommandLineParser& parser) {
  ParamValues params;
  for (const QString& assignment : parser.values("param")) {
    const auto [key, value] = parseParamAssignment(assignment.toStdString());
    params[key] = value;
  }
  for (const auto& [flag, spec] : parameterFlags()) {
    if (!parser.isSet(flag)) continue;
    const QString value = parser.value(flag);
    if (spec->type == ParamType::File) {
      const QFileInfo file(value);
      if (!file.exists()) {
        throw Error("--" + flag.toStdString() + ": the file '" + value.toStdString() + "' does not exist.",
                    spec->name == "student"
                        ? "Give the student's TorchScript file (torch.jit.save), or leave "
                          "--student out to train a copy of the teacher."
                        : "");
      }
      if (!file.isFile() || !file.isReadable()) {
        throw Error("--" + flag.toStdString() + ": '" + value.toStdString() + "' is not a readable file.");
      }
    }
    params[spec->name] = value.toStdString();
  }
  return params;
}

void checkOutputPath(const QString& output, const QStringList& inputs) {
  const QFileInfo target(output);
  if (target.isDir())
    throw Error("The output '" + output.toStdString() + "' is a folder.", "Give a file name.");
  if (const QFileInfo folder(target.absolutePath()); !folder.isDir()) {
    throw Error("Cannot write '" + output.toStdString() + "': its folder " +
                (folder.exists() ? "is a file." : "does not exist."));
  }
  // Root may "write" anywhere by permissions, yet /proc or a read-only mount refuse files: try one.
  QTemporaryFile probe(target.absolutePath() + "/.quantscope-write-test-XXXXXX");
  if (!probe.open()) {
    throw Error("Cannot write '" + output.toStdString() + "': its folder does not accept new files (" +
                probe.errorString().toStdString() + ").");
  }
  const QString canonical = target.canonicalFilePath();  // empty unless the file exists
  for (const QString& input : inputs) {
    if (input.isEmpty() || canonical.isEmpty() || QFileInfo(input).canonicalFilePath() != canonical) continue;
    throw Error("Refusing to overwrite the input '" + input.toStdString() + "' with the output.",
                "Choose another output file; QuantScope never replaces its inputs.");
  }
}

QString techniquesHelp() {
  QString text = "\nTechniques (--technique NAME) and their parameters (--param key=value):\n";
  for (const auto& t : TechniqueRegistry::instance().techniques()) {
    text += QString("  %1%2  %3\n")
                .arg(QString::fromStdString(t.name).leftJustified(14))
                .arg(t.available ? "" : " [not available yet]")
                .arg(QString::fromStdString(t.summary));
    for (const auto& p : t.params) {
      const QString range = QString::fromStdString(paramKind(p.type).describeRange(p));
      text += QString("      %1 %2 %3 default %4: %5\n")
                  .arg(QString::fromStdString(p.name), QString::fromStdString(toString(p.type)), range,
                       QString::fromStdString(p.defaultValue.empty() ? "(none)" : p.defaultValue),
                       QString::fromStdString(p.help));
    }
  }
  return text;
}

}  // namespace quantscope::cli
