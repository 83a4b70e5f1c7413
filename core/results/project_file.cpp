#include "core/results/project_file.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>

#include "core/errors.h"
#include "core/results/run_result_json.h"

namespace quantscope {
namespace {

constexpr const char* kFormatKey = "quantscope_project";

void checkVersion(const QJsonObject& root, const QString& path) {
  const int version = root.value(kFormatKey).toInt();
  if (version > kProjectFormatVersion) {
    throw Error("Project '" + path.toStdString() + "' was written by a newer QuantScope (format " +
                    std::to_string(version) + "; this one reads up to " +
                    std::to_string(kProjectFormatVersion) + ").",
                "Open it with a newer QuantScope.");
  }
}

std::vector<ProjectRun> projectRuns(const QJsonObject& root) {
  std::vector<ProjectRun> runs;
  for (const auto& value : root.value("runs").toArray()) {
    const QJsonObject run = value.toObject();
    runs.push_back({run.value("id").toInt(), runResultFromJson(run.value("result").toObject())});
  }
  return runs;
}

// A run's JSON names its technique and its sizes; anything else is not one.
bool looksLikeRun(const QJsonObject& object) {
  return object.value("technique").isString() && object.value("sizes").isObject();
}

}  // namespace

void saveProject(const Project& project, const QString& path) {
  QJsonArray runs;
  for (const auto& run : project.runs)
    runs.append(QJsonObject{{"id", run.id}, {"result", toJson(run.result)}});
  const QJsonObject root{{kFormatKey, kProjectFormatVersion},
                         {"model_path", project.modelPath},
                         {"input_shape", project.inputShape},
                         {"input_dtype", project.inputDtype},
                         {"test_data", project.testData},
                         {"calibration_data", project.calibrationData},
                         {"runs", runs}};
  writeJsonFile(QJsonDocument(root), path, "the project");
}

Project loadProject(const QString& path) {
  const QJsonDocument doc = readJsonFile(path, "QuantScope project file");
  if (!doc.object().contains(kFormatKey))
    throw Error("'" + path.toStdString() + "' is not a QuantScope project file.");
  const QJsonObject root = doc.object();
  checkVersion(root, path);
  Project project;
  project.modelPath = root.value("model_path").toString();
  project.inputShape = root.value("input_shape").toString();
  project.inputDtype = root.value("input_dtype").toString();
  project.testData = root.value("test_data").toString();
  project.calibrationData = root.value("calibration_data").toString();
  project.runs = projectRuns(root);
  return project;
}

std::vector<ProjectRun> loadRuns(const QString& path) {
  const QJsonDocument doc = readJsonFile(path, "QuantScope results file");
  std::vector<ProjectRun> runs;
  const auto notResults = [&] {
    return Error("'" + path.toStdString() +
                     "' holds no QuantScope runs: expected a project, a runs JSON (an array of runs) or one "
                     "run's JSON.",
                 "Save a project from the window, export the runs as JSON, or use quantscope-cli's --json.");
  };
  if (doc.isObject() && doc.object().contains(kFormatKey)) {
    checkVersion(doc.object(), path);
    runs = projectRuns(doc.object());
  } else if (doc.isObject() && looksLikeRun(doc.object())) {
    runs.push_back({0, runResultFromJson(doc.object())});
  } else if (doc.isArray()) {
    for (const auto& value : doc.array()) {
      if (!looksLikeRun(value.toObject())) throw notResults();
      runs.push_back({0, runResultFromJson(value.toObject())});
    }
  } else {
    throw notResults();
  }
  if (runs.empty()) throw Error("'" + path.toStdString() + "' has no runs to report on.");
  int next = 1;
  for (const auto& run : runs) next = std::max(next, run.id + 1);
  for (auto& run : runs) {
    if (run.id <= 0) run.id = next++;
  }
  return runs;
}

}  // namespace quantscope
