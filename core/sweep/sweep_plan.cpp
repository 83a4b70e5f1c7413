#include "core/sweep/sweep_plan.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QVariant>
#include <functional>
#include <map>

#include "core/errors.h"
#include "core/model/input_spec.h"
#include "core/technique_registry.h"

namespace quantscope {
namespace {

const char* const kFields[] = {"model", "technique", "params", "data", "calib_data", "input_shape"};

std::string valueText(const QJsonValue& value, const std::string& where) {
  if (value.isString()) return value.toString().toStdString();
  if (value.isDouble()) return value.toVariant().toString().toStdString();
  if (value.isBool()) return value.toBool() ? "true" : "false";
  throw Error(where + " must be a string, a number or true/false.");
}

// A field's values: a single value, or a list of them in a grid.
std::vector<std::string> valueList(const QJsonValue& value, const std::string& where) {
  if (!value.isArray()) return {valueText(value, where)};
  std::vector<std::string> values;
  for (const QJsonValue& item : value.toArray()) values.push_back(valueText(item, where));
  if (values.empty()) throw Error(where + " is an empty list: a grid needs at least one value per field.");
  return values;
}

void checkKnownFields(const QJsonObject& object, const std::string& where) {
  for (const QString& key : object.keys()) {
    if (std::find(std::begin(kFields), std::end(kFields), key.toStdString()) == std::end(kFields)) {
      throw Error(where + " has an unknown field '" + key.toStdString() + "'.",
                  "Fields: model, technique, params, data, calib_data, input_shape.");
    }
  }
}

// Paths are relative to the job file; built-in data names ("digits", "digits:train") stay as they are.
std::string resolvedPath(const std::string& text, const QDir& base, bool mayBeBuiltin) {
  if (text.empty()) return text;
  if (mayBeBuiltin && (text == "digits" || text.rfind("digits:", 0) == 0)) return text;
  return QDir::cleanPath(base.absoluteFilePath(QString::fromStdString(text))).toStdString();
}

std::string jobId(const SweepJob& job) {
  std::string canonical = job.model + '\n' + job.technique + '\n' + job.data + '\n' + job.calibData + '\n' +
                          job.inputShape + '\n';
  for (const auto& [key, value] : job.params) canonical += key + '=' + value + '\n';
  const QByteArray hash =
      QCryptographicHash::hash(QByteArray::fromStdString(canonical), QCryptographicHash::Sha1).toHex();
  const std::string modelName = QFileInfo(QString::fromStdString(job.model)).completeBaseName().toStdString();
  std::string id = job.technique + '-' + modelName + '-' + hash.left(10).toStdString();
  for (char& c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return id;
}

void checkJob(const SweepJob& job, const std::string& where) {
  if (job.model.empty()) throw Error(where + " names no model.", "Add \"model\": \"path/to/model.pt\".");
  if (!QFileInfo(QString::fromStdString(job.model)).isFile())
    throw Error(where + ": the model '" + job.model + "' does not exist.");
  if (job.technique.empty()) throw Error(where + " names no technique.", "Add \"technique\": \"dynamic\".");
  try {
    TechniqueRegistry::instance().resolveParams(job.technique, job.params);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what(), e.hint());
  }
  for (const std::string* data : {&job.data, &job.calibData}) {
    if (data->empty() || *data == "digits" || data->rfind("digits:", 0) == 0) continue;
    if (!QFileInfo::exists(QString::fromStdString(*data)))
      throw Error(where + ": the data '" + *data + "' does not exist.");
  }
  if (!job.inputShape.empty()) {
    try {
      InputSpec::parse(job.inputShape, "float");
    } catch (const Error& e) {
      throw Error(where + ": " + e.what(), e.hint());
    }
  }
}

// A field's text, or "" when the job leaves it out (checkJob then says which ones are required).
std::string optionalText(const QJsonObject& object, const char* field, const std::string& where) {
  return object.contains(field) ? valueText(object.value(field), where + " field " + field) : std::string();
}

SweepJob jobFromObject(const QJsonObject& object, const QDir& base, const std::string& where) {
  checkKnownFields(object, where);
  SweepJob job;
  job.model = resolvedPath(optionalText(object, "model", where), base, false);
  job.technique = optionalText(object, "technique", where);
  if (object.contains("params")) {
    if (!object.value("params").isObject()) throw Error(where + " field params must be an object.");
    const QJsonObject params = object.value("params").toObject();
    for (const QString& key : params.keys())
      job.params[key.toStdString()] = valueText(params.value(key), where + " parameter " + key.toStdString());
  }
  job.data = resolvedPath(optionalText(object, "data", where), base, true);
  job.calibData = resolvedPath(optionalText(object, "calib_data", where), base, true);
  job.inputShape = optionalText(object, "input_shape", where);
  return job;
}

// Every combination of the grid's lists, as job objects; the last field varies fastest.
std::vector<QJsonObject> expandGrid(const QJsonObject& grid, const std::string& where) {
  checkKnownFields(grid, where);
  std::vector<std::pair<QString, std::vector<QJsonValue>>> axes;
  for (const QString& key : grid.keys()) {
    if (key == "params") continue;
    const QJsonValue value = grid.value(key);
    std::vector<QJsonValue> values;
    if (value.isArray()) {
      for (const QJsonValue& item : value.toArray()) values.push_back(item);
    } else {
      values.push_back(value);
    }
    if (values.empty()) throw Error(where + " field " + key.toStdString() + " is an empty list.");
    axes.emplace_back(key, std::move(values));
  }
  if (grid.contains("params")) {
    if (!grid.value("params").isObject()) throw Error(where + " field params must be an object of lists.");
    const QJsonObject params = grid.value("params").toObject();
    for (const QString& key : params.keys()) {
      std::vector<QJsonValue> values;
      for (const std::string& text : valueList(params.value(key), where + " parameter " + key.toStdString()))
        values.push_back(QString::fromStdString(text));
      axes.emplace_back("params." + key, std::move(values));
    }
  }
  std::vector<QJsonObject> jobs{QJsonObject{}};
  for (const auto& [key, values] : axes) {
    std::vector<QJsonObject> next;
    for (const QJsonObject& partial : jobs) {
      for (const QJsonValue& value : values) {
        QJsonObject job = partial;
        if (key.startsWith("params.")) {
          QJsonObject params = job.value("params").toObject();
          params.insert(key.mid(7), value);
          job.insert("params", params);
        } else {
          job.insert(key, value);
        }
        next.push_back(std::move(job));
      }
    }
    jobs = std::move(next);
  }
  return jobs;
}

}  // namespace

SweepPlan parseSweepPlan(const std::string& jsonText, const std::string& baseDirectory,
                         const std::string& fileName) {
  QJsonParseError parseError;
  const QJsonDocument document = QJsonDocument::fromJson(QByteArray::fromStdString(jsonText), &parseError);
  if (document.isNull()) {
    throw Error("The sweep file '" + fileName +
                    "' is not valid JSON: " + parseError.errorString().toStdString() + " at offset " +
                    std::to_string(parseError.offset) + ".",
                "It holds {\"jobs\": [...]} and/or {\"grid\": {...}}; see quantscope-cli sweep --help.");
  }
  if (!document.isObject()) throw Error("The sweep file '" + fileName + "' must hold a JSON object.");
  const QJsonObject root = document.object();
  for (const QString& key : root.keys()) {
    if (key != "jobs" && key != "grid")
      throw Error("The sweep file '" + fileName + "' has an unknown key '" + key.toStdString() + "'.",
                  "Its keys are \"jobs\" (a list) and \"grid\" (an object of lists).");
  }
  std::vector<QJsonObject> objects;
  if (root.contains("jobs")) {
    if (!root.value("jobs").isArray()) throw Error("\"jobs\" in '" + fileName + "' must be a list.");
    int position = 0;
    for (const QJsonValue& job : root.value("jobs").toArray()) {
      ++position;
      if (!job.isObject())
        throw Error("Job " + std::to_string(position) + " in '" + fileName + "' must be an object.");
      objects.push_back(job.toObject());
    }
  }
  if (root.contains("grid")) {
    if (!root.value("grid").isObject()) throw Error("\"grid\" in '" + fileName + "' must be an object.");
    for (QJsonObject& job : expandGrid(root.value("grid").toObject(), "The grid in '" + fileName + "'"))
      objects.push_back(std::move(job));
  }
  if (objects.empty()) throw Error("The sweep file '" + fileName + "' holds no jobs.");

  SweepPlan plan;
  plan.file = fileName;
  const QDir base(QString::fromStdString(baseDirectory));
  for (size_t i = 0; i < objects.size(); ++i) {
    const std::string where = "Job " + std::to_string(i + 1) + " of '" + fileName + "'";
    SweepJob job = jobFromObject(objects[i], base, where);
    job.index = static_cast<int>(i + 1);
    checkJob(job, where);
    job.id = jobId(job);
    plan.jobs.push_back(std::move(job));
  }
  return plan;
}

SweepPlan loadSweepPlan(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) {
    throw Error("Cannot read the sweep file '" + path + "': " + file.errorString().toStdString() + ".");
  }
  const QFileInfo info(file);
  return parseSweepPlan(file.readAll().toStdString(), info.absolutePath().toStdString(),
                        info.absoluteFilePath().toStdString());
}

std::string sweepResultPath(const SweepJob& job, const std::string& resultsDirectory) {
  return QDir(QString::fromStdString(resultsDirectory))
      .absoluteFilePath(QString::fromStdString(job.id + ".json"))
      .toStdString();
}

std::string shellQuote(const std::string& text) {
  const bool safe = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string("-_./=:,+@%").find(c) != std::string::npos;
  });
  if (safe) return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string sweepJobCommand(const SweepJob& job, const std::string& cliProgram,
                            const std::string& resultsDirectory) {
  std::string command = shellQuote(cliProgram) + " quantize " + shellQuote(job.model) + " --technique " +
                        shellQuote(job.technique);
  for (const auto& [key, value] : job.params) command += " --param " + shellQuote(key + "=" + value);
  if (!job.data.empty()) command += " --data " + shellQuote(job.data);
  if (!job.calibData.empty()) command += " --calib-data " + shellQuote(job.calibData);
  if (!job.inputShape.empty()) command += " --input-shape " + shellQuote(job.inputShape);
  command += " --result-json " + shellQuote(sweepResultPath(job, resultsDirectory));
  return command;
}

}  // namespace quantscope
