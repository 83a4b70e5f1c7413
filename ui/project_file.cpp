#include "ui/project_file.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include "core/errors.h"
#include "core/results/run_result_json.h"

namespace quantscope::ui {

constexpr int kProjectFormat = 1;

void saveProject(const Project& project, const QString& path) {
  QJsonArray runs;
  for (const auto& run : project.runs)
    runs.append(QJsonObject{{"id", run.id}, {"result", toJson(run.result)}});
  const QJsonObject root{{"quantscope_project", kProjectFormat},
                         {"model_path", project.modelPath},
                         {"input_shape", project.inputShape},
                         {"input_dtype", project.inputDtype},
                         {"test_data", project.testData},
                         {"calibration_data", project.calibrationData},
                         {"runs", runs}};
  QSaveFile file(path);
  const QByteArray bytes = QJsonDocument(root).toJson(QJsonDocument::Indented);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    throw Error("Cannot save the project to '" + path.toStdString() +
                "': " + file.errorString().toStdString());
  }
}

Project loadProject(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) throw Error("Cannot open project '" + path.toStdString() + "'.");
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
  if (error.error != QJsonParseError::NoError || !doc.object().contains("quantscope_project")) {
    throw Error(
        "'" + path.toStdString() + "' is not a QuantScope project file" +
        (error.error != QJsonParseError::NoError ? " (" + error.errorString().toStdString() + ")." : "."));
  }
  const QJsonObject root = doc.object();
  if (root.value("quantscope_project").toInt() > kProjectFormat) {
    throw Error("Project '" + path.toStdString() + "' was written by a newer QuantScope.");
  }
  Project project;
  project.modelPath = root.value("model_path").toString();
  project.inputShape = root.value("input_shape").toString();
  project.inputDtype = root.value("input_dtype").toString();
  project.testData = root.value("test_data").toString();
  project.calibrationData = root.value("calibration_data").toString();
  for (const auto& value : root.value("runs").toArray()) {
    RunEntry entry;
    entry.id = value.toObject().value("id").toInt();
    entry.result = runResultFromJson(value.toObject().value("result").toObject());
    project.runs.push_back(std::move(entry));
  }
  return project;
}

}  // namespace quantscope::ui
