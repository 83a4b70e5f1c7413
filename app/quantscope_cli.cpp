// quantscope-cli: inspect, quantize, evaluate, benchmark and compare TorchScript models from a terminal, and
// write reports (charts and summary) from runs.
#include <unistd.h>
#include <QApplication>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/cli_options.h"
#include "app/cli_report.h"
#include "app/cli_sweep.h"
#include "core/analysis/analysis_report.h"
#include "core/analysis/quant_analysis.h"
#include "core/errors.h"
#include "core/results/report_text.h"
#include "core/results/run_result_json.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"

using namespace quantscope;
using cli::addReportOption;
using cli::checkReportPath;
using cli::commandReport;
using cli::parseOrExit;
using cli::printJson;
using cli::requiredPositional;
using cli::wantsReport;
using cli::writeReport;

namespace {

const char* const kUsage =
    "Usage: quantscope-cli <command> [options]\n\n"
    "Commands:\n"
    "  demo        Dynamic-quantize the built-in digits model; print fp32 vs int8 size, accuracy, latency\n"
    "  inspect     Show a model's size, layers, input spec and which techniques can quantize each layer\n"
    "  quantize    Quantize a model with a technique and write the result (-o); optionally evaluate it\n"
    "  evaluate    Accuracy of a model on data (and fidelity against --reference)\n"
    "  bench       Latency of a model: warm-up, fixed threads, percentiles\n"
    "  compare     Sizes of two models (and accuracy/fidelity/latency with --data)\n"
    "  profile     Where a model's time goes per operator, and which operators run int8\n"
    "  report      A report (charts + summary table) as PNG or PDF from a project or runs JSON file\n"
    "  analyze     Where int8 loses accuracy and what to do: four-way comparison, per-layer sweeps,\n"
    "              simulated vs real per layer, calibration stability, ranges, a recommendation\n"
    "  sweep       Run a job file's quantization jobs (one result JSON each, resumable), or --list them as\n"
    "              shell commands for GNU parallel or a Slurm job array\n\n"
    "Every command takes --help, and --json for machine-readable output. demo and quantize --evaluate\n"
    "also take --report FILE (.png or .pdf). Reports need no display.\n";

// Progress goes to stderr so that stdout stays clean for --json.
Progress stderrProgress() {
  Progress progress;
  const bool terminal = isatty(STDERR_FILENO);
  auto lastStage = std::make_shared<std::string>();
  progress.onUpdate = [terminal, lastStage](const std::string& stage, double fraction) {
    if (terminal) {
      std::fprintf(stderr, "\r[%3d%%] %-60.60s", static_cast<int>(fraction * 100), stage.c_str());
      if (fraction >= 1.0) std::fprintf(stderr, "\n");
    } else if (stage != *lastStage) {
      std::fprintf(stderr, "[%3d%%] %s\n", static_cast<int>(fraction * 100), stage.c_str());
    }
    *lastStage = stage;
  };
  // One line per finished epoch; the step points are too many for a terminal. The total number of epochs is
  // not part of a point, so the line gives the epoch (from 1) and the series.
  progress.onTrainingPoint = [terminal](const TrainingPoint& point) {
    if (!point.endOfEpoch) return;
    std::fprintf(stderr, terminal ? "\r%-68s\n" : "%s\n", formatTrainingPoint(point).c_str());
  };
  return progress;
}

RunOptions runOptions(const QCommandLineParser& parser) {
  RunOptions options;
  options.benchmark = cli::benchmarkOptions(parser);
  options.benchmarkRuns = cli::intOption(parser, "runs", 100, 1);
  options.benchmarkBatch = cli::intOption(parser, "batch", 0, 1);
  return options;
}

void printRun(const QCommandLineParser& parser, const RunResult& result) {
  if (parser.isSet("json"))
    printJson(toJson(result));
  else
    std::cout << formatRunResult(result);
}

int commandDemo(const QStringList& args) {
  QCommandLineParser parser;
  cli::addBenchmarkOptions(parser);
  addReportOption(parser);
  parseOrExit(parser, args,
              "Dynamic-quantizes the built-in digits CNN (UCI digits, 360 test images) and prints "
              "fp32 vs int8 size, accuracy, fidelity and latency.");
  if (parser.isSet("report")) checkReportPath(parser.value("report"));
  const Model model = Model::load(builtinDigitsModelPath());
  const Dataset test = Dataset::load(DataSource{"digits:test"}, model.inputSpec());
  const RunResult result =
      quantize_and_evaluate(model, test, "dynamic", {}, runOptions(parser), stderrProgress());
  if (!parser.isSet("json"))
    std::cout << "QuantScope demo: " << model.displayName() << " on the built-in digits test split\n\n";
  printRun(parser, result);
  if (parser.isSet("report")) {
    writeReport(parser.value("report"), QString::fromStdString(model.displayName()), {{1, result}});
    std::cerr << "Wrote the report " << parser.value("report").toStdString() << "\n";
  }
  return 0;
}

int commandInspect(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  parser.addPositionalArgument("model", "TorchScript model file.");
  parseOrExit(parser, args, "Shows a model's size, parameter count, per-layer table and input spec.");
  const Model model = cli::loadModel(parser, requiredPositional(parser, 0, "model file"));
  if (model.inputSpec()) model.checkInput(*model.inputSpec());
  const ModelInfo info = model.inspect();
  if (!parser.isSet("json")) {
    std::cout << formatModelInfo(info);
    return 0;
  }
  QJsonArray layers;
  for (const auto& l : info.layers) {
    QJsonArray shapes, by;
    for (const auto& s : l.parameterShapes) shapes.append(QString::fromStdString(s));
    for (const auto& t : l.quantizableBy) by.append(QString::fromStdString(t));
    layers.append(QJsonObject{{"name", QString::fromStdString(l.name)},
                              {"type", QString::fromStdString(l.type)},
                              {"parameter_count", static_cast<qint64>(l.parameterCount)},
                              {"dtype", QString::fromStdString(l.dtype)},
                              {"parameter_shapes", shapes},
                              {"quantizable_by", by}});
  }
  printJson(
      {{"path", QString::fromStdString(info.path)},
       {"file_bytes", static_cast<qint64>(info.fileBytes)},
       {"parameter_count", static_cast<qint64>(info.parameterCount)},
       {"parameter_bytes", static_cast<qint64>(info.parameterBytes)},
       {"quantized", info.quantized},
       {"input_spec",
        info.inputSpec ? QJsonDocument::fromJson(QByteArray::fromStdString(info.inputSpec->toJson())).object()
                       : QJsonObject()},
       {"layers", layers}});
  return 0;
}

int commandQuantize(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  cli::addTechniqueOptions(parser);
  cli::addDataOptions(parser);
  cli::addBenchmarkOptions(parser);
  parser.addOption({{"o", "output"},
                    "Where to write the quantized TorchScript model (never the input file); optional with "
                    "--result-json.",
                    "file"});
  parser.addOption(
      {"evaluate", "Also evaluate and benchmark original vs quantized on --data (default digits)."});
  addReportOption(parser);
  cli::addResultJsonOption(parser);
  parser.addPositionalArgument("model", "TorchScript model file.");
  parseOrExit(parser, args, "Quantizes a model and writes the result atomically.", cli::techniquesHelp());
  Model model = cli::loadModel(parser, requiredPositional(parser, 0, "model file"));
  const QString output = parser.value("output"), resultJson = parser.value("result-json");
  if (output.isEmpty() && resultJson.isEmpty())
    throw Error("Missing -o/--output: where to write the quantized model.",
                "Or give --result-json FILE to keep only the measured result.");
  if (!resultJson.isEmpty())
    cli::checkResultJsonPath(resultJson, parser.positionalArguments().front(), output);
  const std::string technique = parser.value("technique").toStdString();
  const ParamValues params = cli::techniqueParams(parser);
  TechniqueRegistry::instance().resolveParams(technique, params);  // reject bad flags before any work
  const QStringList inputs{parser.positionalArguments().at(0), parser.value("data"),
                           parser.value("calib-data"),
                           QString::fromStdString(params.count("student") ? params.at("student") : "")};
  for (const QString& written : {output, resultJson})
    if (!written.isEmpty()) cli::checkOutputPath(written, inputs);
  const bool evaluate = parser.isSet("evaluate") || parser.isSet("data");
  if (parser.isSet("report")) {
    if (!evaluate)
      throw Error("--report needs measured results: add --evaluate (or --data).",
                  "Without them nothing is measured but the sizes.");
    checkReportPath(parser.value("report"));
  }
  std::optional<Dataset> data;
  std::string specNote;
  if (evaluate) {
    data = Dataset::load(cli::dataSource(parser), model.inputSpec());
    specNote = adoptInputSpecFromData(model, *data);
  }
  std::optional<Dataset> calibration;
  if (const auto source = cli::calibrationSource(parser)) {
    calibration = Dataset::load(*source, model.inputSpec());
    if (specNote.empty()) specNote = adoptInputSpecFromData(model, *calibration);
  }
  if (!specNote.empty()) std::cerr << "Note: " << specNote << "\n";
  std::optional<Model> quantized;
  if (evaluate) {
    RunOptions options = runOptions(parser);
    if (calibration) options.calibrationData = &*calibration;
    RunResult result =
        quantize_and_evaluate(model, *data, technique, params, options, stderrProgress(), &quantized);
    if (!specNote.empty()) result.notes.insert(result.notes.begin(), specNote);
    if (!output.isEmpty()) quantized->save(output.toStdString());
    if (!resultJson.isEmpty()) cli::writeResultJson(toJson(result), resultJson);
    printRun(parser, result);
    if (parser.isSet("report")) {
      writeReport(parser.value("report"), QString::fromStdString(model.displayName()), {{1, result}});
      std::cerr << "Wrote the report " << parser.value("report").toStdString() << "\n";
    }
  } else {
    configureRuntime(cli::benchmarkOptions(parser).threads);
    RunResult summary = quantize_only(model, technique, params, calibration ? &*calibration : nullptr,
                                      stderrProgress(), &quantized);
    if (!specNote.empty()) summary.notes.insert(summary.notes.begin(), specNote);
    if (!output.isEmpty()) quantized->save(output.toStdString());
    // Nothing was evaluated: leave out what was not measured rather than print zeros.
    QJsonObject json = toJson(summary);
    for (const char* key : {"original_accuracy", "quantized_accuracy", "fidelity", "original_latency",
                            "quantized_latency", "dataset", "dataset_size"})
      json.remove(key);
    if (!resultJson.isEmpty()) cli::writeResultJson(json, resultJson);
    if (parser.isSet("json")) {
      printJson(json);
    } else {
      std::cout << (output.isEmpty() ? "Quantized" : "Wrote " + output.toStdString()) << " ("
                << summary.technique << ", " << summary.recipe << " recipe on " << summary.engine
                << " kernels, quantized in " << QString::number(summary.quantizeSeconds, 'f', 2).toStdString()
                << " s)\n"
                << "Archive " << formatBytes(summary.sizes.original.serializedBytes) << " -> "
                << formatBytes(summary.sizes.quantized.serializedBytes) << " ("
                << summary.sizes.serializedRatio << "x smaller)\n\n"
                << formatLayerReport(summary.layers);
      if (const std::string sparsity = formatSparsity(summary.layers); !sparsity.empty())
        std::cout << "\n" << sparsity;
      if (!summary.trainingCurve.empty()) std::cout << "\n" << formatTrainingSummary(summary.trainingCurve);
      if (const std::string figures = formatFigures(summary.figures); !figures.empty())
        std::cout << "\n" << figures;
      if (const std::string mixed = formatMixedPrecision(summary.mixedPrecision); !mixed.empty())
        std::cout << "\n" << mixed;
      for (const auto& note : summary.notes) std::cout << "Note: " << note << "\n";
      if (summary.simulated)
        std::cout << "Note: the model is SIMULATED (fake-quantized), not run on int kernels.\n";
    }
  }
  return 0;
}

int commandEvaluate(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  cli::addDataOptions(parser);
  parser.addOption(
      {"reference", "A model to compare outputs against (fidelity: agreement, SQNR, ...).", "model"});
  parser.addOption({"batch-size", "Evaluation batch size (default 64).", "n", "64"});
  parser.addPositionalArgument("model", "TorchScript model file.");
  parseOrExit(parser, args,
              "Evaluates a model on data: top-1/top-5 accuracy, and fidelity against --reference.");
  configureRuntime(2);
  Model model = cli::loadModel(parser, requiredPositional(parser, 0, "model file"));
  const Dataset data = Dataset::load(cli::dataSource(parser), model.inputSpec());
  if (const std::string note = adoptInputSpecFromData(model, data); !note.empty())
    std::cerr << "Note: " << note << "\n";
  for (const auto& note : data.info().notes) std::cerr << "Note: " << note << "\n";
  data.checkFits(model);
  const int batch = cli::intOption(parser, "batch-size", 64, 1);
  const Matrix outputs = runModel(model, data, batch, stderrProgress());
  AccuracyMetrics accuracy;
  if (data.info().labelled) accuracy = computeAccuracy(outputs, data.labels());
  QJsonObject json{{"model", QString::fromStdString(model.sourcePath())},
                   {"dataset", QString::fromStdString(data.info().name)},
                   {"samples", static_cast<qint64>(data.info().size)},
                   {"accuracy", toJson(accuracy)}};
  std::string text = "Model " + model.displayName() + " on " + data.info().name + " (" +
                     std::to_string(data.info().size) + " samples)\n";
  text += accuracy.available ? "Top-1 " + formatPercent(accuracy.top1) +
                                   (accuracy.hasTop5 ? ", top-5 " + formatPercent(accuracy.top5) : "") + "\n"
                             : "Unlabelled data: no accuracy.\n";
  if (parser.isSet("reference")) {
    const Model reference = cli::loadModel(parser, parser.value("reference"));
    const FidelityMetrics f = computeFidelity(runModel(reference, data, batch), outputs);
    json["fidelity"] = toJson(f);
    text += "Fidelity vs " + reference.displayName() + ": top-1 agreement " + formatPercent(f.top1Agreement) +
            ", SQNR " + formatSqnr(f.sqnrDb) + ", cosine " + std::to_string(f.cosineSimilarity) + "\n";
  }
  if (parser.isSet("json"))
    printJson(json);
  else
    std::cout << text;
  return 0;
}

int commandBench(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  cli::addBenchmarkOptions(parser);
  parser.addPositionalArgument("model", "TorchScript model file.");
  parseOrExit(parser, args,
              "Measures inference latency: warm-up runs, fixed threads, inference mode, percentiles.");
  const Model model = cli::loadModel(parser, requiredPositional(parser, 0, "model file"));
  const InputSpec spec = model.requireInputSpec().withBatch(cli::intOption(parser, "batch", 0, 1));
  const LatencyStats stats = benchmark_inference_speed(model, spec, cli::intOption(parser, "runs", 100, 1),
                                                       cli::benchmarkOptions(parser), stderrProgress());
  const RuntimeInfo runtime = currentRuntimeInfo();
  if (parser.isSet("json")) {
    printJson({{"model", QString::fromStdString(model.sourcePath())},
               {"latency", toJson(stats)},
               {"runtime", toJson(runtime)}});
  } else {
    std::cout << model.displayName() << ": " << formatLatency(stats) << "\n" << describe(runtime) << "\n";
    for (const auto& w : runtime.warnings) std::cout << "Warning: " << w << "\n";
  }
  return 0;
}

int commandProfile(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  cli::addBenchmarkOptions(parser);
  parser.addPositionalArgument("model", "TorchScript model file.");
  parseOrExit(parser, args, "Shows where a model's time goes, per operator, and which operators run int8.");
  const Model model = cli::loadModel(parser, requiredPositional(parser, 0, "model file"));
  configureRuntime(cli::benchmarkOptions(parser).threads);
  const InputSpec spec = model.requireInputSpec().withBatch(cli::intOption(parser, "batch", 0, 1));
  const OpProfile profile = profileOperators(model, spec, cli::intOption(parser, "runs", 10, 1));
  if (parser.isSet("json"))
    printJson(toJson(profile));
  else
    std::cout << model.displayName() << ", input " << spec.toString() << "\n" << formatOpProfile(profile);
  return 0;
}

int commandCompare(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  cli::addDataOptions(parser);
  cli::addBenchmarkOptions(parser);
  parser.addPositionalArgument("original", "The original model.");
  parser.addPositionalArgument("quantized", "The quantized model.");
  parseOrExit(parser, args,
              "Compares two models: serialized and parameter sizes; with --data also accuracy, "
              "fidelity and latency.");
  Model original = cli::loadModel(parser, requiredPositional(parser, 0, "original model"));
  const Model quantized = cli::loadModel(parser, requiredPositional(parser, 1, "quantized model"));
  RunResult result;
  result.technique = "compare";
  result.modelPath = original.sourcePath();
  result.sizes = compare_model_sizes(original, quantized);
  result.runtime = configureRuntime(cli::benchmarkOptions(parser).threads);
  if (parser.isSet("data")) {
    const Dataset data = Dataset::load(cli::dataSource(parser), original.inputSpec());
    if (const std::string note = adoptInputSpecFromData(original, data); !note.empty())
      result.notes.push_back(note);
    for (const auto& note : data.info().notes) result.notes.push_back(note);
    data.checkFits(original);
    const Matrix a = runModel(original, data), b = runModel(quantized, data);
    if (data.info().labelled) {
      result.originalAccuracy = computeAccuracy(a, data.labels());
      result.quantizedAccuracy = computeAccuracy(b, data.labels());
    }
    result.fidelity = computeFidelity(a, b);
    result.datasetName = data.info().name;
    result.datasetSize = data.info().size;
    const InputSpec spec = original.requireInputSpec().withBatch(cli::intOption(parser, "batch", 0, 1));
    const int runs = cli::intOption(parser, "runs", 100, 1);
    result.originalLatency =
        benchmark_inference_speed(original, spec, runs, cli::benchmarkOptions(parser), stderrProgress());
    result.quantizedLatency =
        benchmark_inference_speed(quantized, spec, runs, cli::benchmarkOptions(parser), stderrProgress());
  }
  printRun(parser, result);
  return 0;
}

int commandAnalyze(const QStringList& args) {
  QCommandLineParser parser;
  cli::addModelOptions(parser);
  cli::addDataOptions(parser);
  parser.addOption({"calib-data", "Calibration data (same forms as --data).", "source"});
  parser.addOption({"param", "Recipe parameter key=value; repeatable.", "key=value"});
  const std::vector<ParamSpec> recipeParams = quantAnalysisParams();
  for (const auto& spec : recipeParams) {
    parser.addOption({QString::fromStdString(spec.name).replace('_', '-'),
                      QString("Same as --param %1=VALUE (default %2). %3")
                          .arg(QString::fromStdString(spec.name), QString::fromStdString(spec.defaultValue),
                               QString::fromStdString(spec.help)),
                      "value"});
  }
  parser.addOption(
      {"eval-samples", "Samples the four-way rows and stability are measured on (default 512).", "n"});
  parser.addOption({"sweep-samples", "Samples each sweep configuration is measured on (default 256).", "n"});
  parser.addOption({"seed", "Seed of the random calibration subsets (default 1).", "n"});
  parser.addPositionalArgument("model", "TorchScript model file.");
  parseOrExit(parser, args,
              "Analyzes where int8 quantization (fx, with the given recipe) loses accuracy: fp32 vs "
              "weights-only vs activations-only (simulated) vs full int8; each layer quantized alone and "
              "kept float alone (int8 kernels); each layer's output SQNR simulated and on both engines' "
              "kernels; the metric over 5 random calibration subsets; per-channel weight and activation "
              "ranges; and a recommendation with the technique and parameters to apply it.");
  Model model = cli::loadModel(parser, requiredPositional(parser, 0, "model file"));
  if (!parser.isSet("calib-data")) throw Error("Missing --calib-data: the analyzer calibrates like fx.");
  QuantAnalysisOptions options;
  for (const QString& assignment : parser.values("param")) {
    const auto [key, value] = parseParamAssignment(assignment.toStdString());
    options.recipe[key] = value;
  }
  for (const auto& spec : recipeParams) {
    const QString flag = QString::fromStdString(spec.name).replace('_', '-');
    if (parser.isSet(flag)) options.recipe[spec.name] = parser.value(flag).toStdString();
  }
  options.evalSamples = cli::intOption(parser, "eval-samples", 512, 1);
  options.sweepSamples = cli::intOption(parser, "sweep-samples", 256, 1);
  options.seed = static_cast<uint64_t>(cli::intOption(parser, "seed", 1, 0));
  std::optional<Dataset> data;
  std::string specNote;
  if (parser.isSet("data")) {
    data = Dataset::load(cli::dataSource(parser), model.inputSpec());
    specNote = adoptInputSpecFromData(model, *data);
  }
  const Dataset calibration = Dataset::load(*cli::calibrationSource(parser), model.inputSpec());
  if (specNote.empty()) specNote = adoptInputSpecFromData(model, calibration);
  QuantAnalysis analysis =
      analyzeQuantization(model, calibration, data ? &*data : nullptr, options, stderrProgress());
  if (!specNote.empty()) analysis.notes.insert(analysis.notes.begin(), specNote);
  if (parser.isSet("json"))
    printJson(toJson(analysis));
  else
    std::cout << formatQuantAnalysis(analysis);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  reexecWithTunedEnvironment(argc, argv);
  std::unique_ptr<QCoreApplication> app;
  if (wantsReport(argc, argv)) {
    // Without a display the offscreen platform draws the same pixels (any other platform would abort); it
    // must be chosen before the QApplication exists.
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
      qputenv("QT_QPA_PLATFORM", "offscreen");
    app = std::make_unique<QApplication>(argc, argv);
  } else {
    app = std::make_unique<QCoreApplication>(argc, argv);
  }
  QCoreApplication::setApplicationName("quantscope-cli");
  QStringList args = QCoreApplication::arguments();
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
    std::cout << kUsage;
    return args.size() < 2 ? 1 : 0;
  }
  const QString command = args.takeAt(1);
  try {
    if (command == "demo") return commandDemo(args);
    if (command == "inspect") return commandInspect(args);
    if (command == "quantize") return commandQuantize(args);
    if (command == "evaluate") return commandEvaluate(args);
    if (command == "bench") return commandBench(args);
    if (command == "compare") return commandCompare(args);
    if (command == "profile") return commandProfile(args);
    if (command == "report") return commandReport(args);
    if (command == "analyze") return commandAnalyze(args);
    if (command == "sweep") return cli::commandSweep(args);
    std::cerr << "error: unknown command '" << command.toStdString() << "'\n\n" << kUsage;
    return 2;
  } catch (const CancelledError& e) {
    std::cerr << "\ncancelled: " << e.what() << "\n";
    return 130;
  } catch (const Error& e) {
    std::cerr << "\nerror: " << e.fullMessage() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "\nerror (unexpected, please report): " << e.what() << "\n";
    return 3;
  }
}
