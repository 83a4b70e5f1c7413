#include "core/results/run_result_json.h"

#include <QFile>
#include <QJsonArray>
#include <QSaveFile>
#include <cmath>

#include "core/errors.h"

namespace quantscope {
namespace {

// JSON has no infinity; an SQNR of +inf (identical outputs) is written as null.
QJsonValue finiteOrNull(double value) { return std::isfinite(value) ? QJsonValue(value) : QJsonValue(); }
double numberOr(const QJsonValue& value, double fallback) {
  return value.isDouble() ? value.toDouble() : fallback;
}
QString qs(const std::string& s) { return QString::fromStdString(s); }
std::string ss(const QJsonValue& v) { return v.toString().toStdString(); }

QJsonArray toArray(const std::vector<std::string>& items) {
  QJsonArray array;
  for (const auto& item : items) array.append(qs(item));
  return array;
}

ModelSize modelSizeFromJson(const QJsonObject& o) {
  ModelSize size;
  size.serializedBytes = o.value("serialized_bytes").toInteger();
  size.parameterBytes = o.value("parameter_bytes").toInteger();
  const QJsonObject byDtype = o.value("parameter_bytes_by_dtype").toObject();
  for (auto it = byDtype.begin(); it != byDtype.end(); ++it)
    size.parameterBytesByDtype[it.key().toStdString()] = it.value().toInteger();
  return size;
}

QJsonObject toJson(const ModelSize& size) {
  QJsonObject byDtype;
  for (const auto& [dtype, bytes] : size.parameterBytesByDtype)
    byDtype[qs(dtype)] = static_cast<qint64>(bytes);
  return {{"serialized_bytes", static_cast<qint64>(size.serializedBytes)},
          {"parameter_bytes", static_cast<qint64>(size.parameterBytes)},
          {"parameter_bytes_by_dtype", byDtype}};
}

LatencyStats latencyFromJson(const QJsonObject& o) {
  LatencyStats s;
  s.available = o.value("available").toBool();
  s.runs = o.value("runs").toInt();
  s.warmupRuns = o.value("warmup_runs").toInt();
  s.threads = o.value("threads").toInt();
  for (const auto& d : o.value("input_shape").toArray()) s.inputShape.push_back(d.toInteger());
  s.meanMs = o.value("mean_ms").toDouble();
  s.medianMs = o.value("median_ms").toDouble();
  s.p10Ms = o.value("p10_ms").toDouble();
  s.p90Ms = o.value("p90_ms").toDouble();
  s.p99Ms = o.value("p99_ms").toDouble();
  s.minMs = o.value("min_ms").toDouble();
  s.maxMs = o.value("max_ms").toDouble();
  s.stddevMs = o.value("stddev_ms").toDouble();
  s.throughputSamplesPerSecond = o.value("throughput_samples_per_s").toDouble();
  return s;
}

AccuracyMetrics accuracyFromJson(const QJsonObject& o) {
  AccuracyMetrics a;
  a.available = o.value("available").toBool();
  a.samples = o.value("samples").toInteger();
  a.top1 = o.value("top1").toDouble();
  a.hasTop5 = o.contains("top5");
  a.top5 = o.value("top5").toDouble();
  return a;
}

// Accuracies, agreement and sparsity use negative for "not measured": such values are left out of the JSON
// and read back as -1.
void putIfMeasured(QJsonObject& o, const char* key, double value) {
  if (value >= 0) o[key] = finiteOrNull(value);
}
double measuredOr(const QJsonObject& o, const char* key) {
  return o.contains(key) ? numberOr(o.value(key), NAN) : -1.0;
}

QJsonObject toJson(const TrainingPoint& p) {
  QJsonObject o{{"series", qs(p.series)},
                {"epoch", p.epoch},
                {"step", static_cast<qint64>(p.step)},
                {"end_of_epoch", p.endOfEpoch},
                {"loss", finiteOrNull(p.loss)},
                {"learning_rate", finiteOrNull(p.learningRate)},
                {"elapsed_s", finiteOrNull(p.elapsedSeconds)}};
  putIfMeasured(o, "train_accuracy", p.trainAccuracy);
  putIfMeasured(o, "validation_accuracy", p.validationAccuracy);
  putIfMeasured(o, "validation_agreement", p.validationAgreement);
  return o;
}

TrainingPoint trainingPointFromJson(const QJsonObject& o) {
  TrainingPoint p;
  p.series = ss(o.value("series"));
  p.epoch = o.value("epoch").toInt();
  p.step = o.value("step").toInteger();
  p.endOfEpoch = o.value("end_of_epoch").toBool();
  p.loss = numberOr(o.value("loss"), NAN);  // a diverged loss (NaN, inf) is written as null
  p.learningRate = numberOr(o.value("learning_rate"), NAN);
  p.elapsedSeconds = numberOr(o.value("elapsed_s"), NAN);
  p.trainAccuracy = measuredOr(o, "train_accuracy");
  p.validationAccuracy = measuredOr(o, "validation_accuracy");
  p.validationAgreement = measuredOr(o, "validation_agreement");
  return p;
}

// Mixed precision's report; written only for runs that have one, so other runs' JSON is unchanged.
bool hasMixedPrecision(const MixedPrecisionReport& m) {
  return !m.empty() || !m.metricName.empty() || !m.search.empty() || !m.budget.empty() ||
         !m.stoppedEarly.empty();
}

QJsonObject toJson(const MixedPrecisionReport& m) {
  QJsonArray sensitivity;
  for (const auto& row : m.sensitivity) {
    sensitivity.append(QJsonObject{{"layer", qs(row.layer)},
                                   {"bits", qs(row.bits)},
                                   {"metric", finiteOrNull(row.metric)},
                                   {"drop", finiteOrNull(row.drop)},
                                   {"sqnr_db", finiteOrNull(row.sqnrDb)},
                                   {"seconds", row.seconds}});
  }
  QJsonArray candidates;
  for (const auto& c : m.candidates) {
    candidates.append(QJsonObject{{"assignment", qs(c.assignment)},
                                  {"file_bytes", static_cast<qint64>(c.fileBytes)},
                                  {"packed_weight_bytes", static_cast<qint64>(c.packedWeightBytes)},
                                  {"metric", finiteOrNull(c.metric)},
                                  {"drop", finiteOrNull(c.drop)},
                                  {"sqnr_db", finiteOrNull(c.sqnrDb)},
                                  {"within_budget", c.withinBudget},
                                  {"pareto", c.pareto},
                                  {"picked", c.picked}});
  }
  return {{"metric_name", qs(m.metricName)},
          {"float_metric", finiteOrNull(m.floatMetric)},
          {"samples", static_cast<qint64>(m.samples)},
          {"search", qs(m.search)},
          {"budget", qs(m.budget)},
          {"sensitivity", sensitivity},
          {"candidates", candidates},
          {"stopped_early", qs(m.stoppedEarly)},
          {"sensitivity_s", m.sensitivitySeconds},
          {"search_s", m.searchSeconds}};
}

// Metrics and drops that were not finite are written as null and read back as NaN; an SQNR as +inf
// (identical outputs), as everywhere else in the file.
MixedPrecisionReport mixedPrecisionFromJson(const QJsonObject& o) {
  MixedPrecisionReport m;
  m.metricName = ss(o.value("metric_name"));
  m.floatMetric = numberOr(o.value("float_metric"), NAN);
  m.samples = o.value("samples").toInteger();
  m.search = ss(o.value("search"));
  m.budget = ss(o.value("budget"));
  for (const auto& v : o.value("sensitivity").toArray()) {
    const QJsonObject row = v.toObject();
    SensitivityRow s;
    s.layer = ss(row.value("layer"));
    s.bits = ss(row.value("bits"));
    s.metric = numberOr(row.value("metric"), NAN);
    s.drop = numberOr(row.value("drop"), NAN);
    s.sqnrDb = numberOr(row.value("sqnr_db"), INFINITY);
    s.seconds = row.value("seconds").toDouble();
    m.sensitivity.push_back(s);
  }
  for (const auto& v : o.value("candidates").toArray()) {
    const QJsonObject row = v.toObject();
    SearchCandidate c;
    c.assignment = ss(row.value("assignment"));
    c.fileBytes = row.value("file_bytes").toInteger();
    c.packedWeightBytes = row.value("packed_weight_bytes").toInteger();
    c.metric = numberOr(row.value("metric"), NAN);
    c.drop = numberOr(row.value("drop"), NAN);
    c.sqnrDb = numberOr(row.value("sqnr_db"), INFINITY);
    c.withinBudget = row.value("within_budget").toBool();
    c.pareto = row.value("pareto").toBool();
    c.picked = row.value("picked").toBool();
    m.candidates.push_back(c);
  }
  m.stoppedEarly = ss(o.value("stopped_early"));
  m.sensitivitySeconds = o.value("sensitivity_s").toDouble();
  m.searchSeconds = o.value("search_s").toDouble();
  return m;
}

}  // namespace

QJsonObject toJson(const LatencyStats& s) {
  QJsonArray shape;
  for (int64_t d : s.inputShape) shape.append(static_cast<qint64>(d));
  return {{"available", s.available},    {"runs", s.runs},
          {"warmup_runs", s.warmupRuns}, {"threads", s.threads},
          {"input_shape", shape},        {"mean_ms", s.meanMs},
          {"median_ms", s.medianMs},     {"p10_ms", s.p10Ms},
          {"p90_ms", s.p90Ms},           {"p99_ms", s.p99Ms},
          {"min_ms", s.minMs},           {"max_ms", s.maxMs},
          {"stddev_ms", s.stddevMs},     {"throughput_samples_per_s", s.throughputSamplesPerSecond}};
}

QJsonObject toJson(const SizeComparison& sizes) {
  return {{"original", toJson(sizes.original)},
          {"quantized", toJson(sizes.quantized)},
          {"serialized_ratio", sizes.serializedRatio},
          {"parameter_ratio", sizes.parameterRatio}};
}

QJsonObject toJson(const AccuracyMetrics& a) {
  QJsonObject o{{"available", a.available}, {"samples", static_cast<qint64>(a.samples)}, {"top1", a.top1}};
  if (a.hasTop5) o["top5"] = a.top5;
  return o;
}

QJsonObject toJson(const FidelityMetrics& f) {
  return {{"available", f.available},          {"samples", static_cast<qint64>(f.samples)},
          {"top1_agreement", f.top1Agreement}, {"sqnr_db", finiteOrNull(f.sqnrDb)},
          {"max_abs_error", f.maxAbsError},    {"cosine_similarity", f.cosineSimilarity}};
}

QJsonObject toJson(const RuntimeInfo& r) {
  return {{"quantized_engine", qs(r.quantizedEngine)},
          {"available_engines", toArray(r.availableEngines)},
          {"threads", r.threads},
          {"blas_library", qs(r.blasLibrary)},
          {"blas_is_openblas", r.blasIsOpenBlas},
          {"blas_is_reference", r.blasIsReference},
          {"omp_wait_policy", qs(r.ompWaitPolicy)},
          {"warnings", toArray(r.warnings)}};
}

QJsonObject toJson(const OpProfile& p) {
  QJsonArray ops;
  for (const auto& op : p.ops) {
    ops.append(QJsonObject{{"op", qs(op.op)},
                           {"precision", qs(toString(op.precision))},
                           {"calls", static_cast<qint64>(op.calls)},
                           {"ms_per_forward", op.totalMs},
                           {"share", op.share}});
  }
  return {{"runs", p.runs},
          {"int8_share", p.int8Share},
          {"float_share", p.floatShare},
          {"conversion_share", p.conversionShare},
          {"mixed_share", p.mixedShare},
          {"ops", ops}};
}

static OpProfile opProfileFromJson(const QJsonObject& o) {
  OpProfile p;
  p.runs = o.value("runs").toInt();
  p.int8Share = o.value("int8_share").toDouble();
  p.floatShare = o.value("float_share").toDouble();
  p.conversionShare = o.value("conversion_share").toDouble();
  p.mixedShare = o.value("mixed_share").toDouble();
  for (const auto& v : o.value("ops").toArray()) {
    const QJsonObject op = v.toObject();
    OpTime t;
    t.op = ss(op.value("op"));
    const std::string precision = ss(op.value("precision"));
    for (OpPrecision candidate :
         {OpPrecision::Int8, OpPrecision::Float, OpPrecision::Conversion, OpPrecision::Mixed}) {
      if (toString(candidate) == precision) t.precision = candidate;
    }
    t.calls = op.value("calls").toInteger();
    t.totalMs = op.value("ms_per_forward").toDouble();
    t.share = op.value("share").toDouble();
    p.ops.push_back(t);
  }
  return p;
}

QJsonObject toJson(const RunResult& r) {
  QJsonObject params;
  for (const auto& [key, value] : r.params) params[qs(key)] = qs(value);
  QJsonArray layers;
  for (const auto& l : r.layers) {
    QJsonObject layer{
        {"layer", qs(l.layer)}, {"op", qs(l.opKind)}, {"quantized", l.quantized}, {"scheme", qs(l.scheme)}};
    if (l.hasWeightSqnr) layer["weight_sqnr_db"] = finiteOrNull(l.weightSqnrDb);
    if (l.hasOutputSqnr) layer["output_sqnr_db"] = finiteOrNull(l.outputSqnrDb);
    if (!l.floatHistogram.empty()) {
      QJsonArray floats, quantized;
      for (int64_t c : l.floatHistogram) floats.append(static_cast<qint64>(c));
      for (int64_t c : l.quantizedHistogram) quantized.append(static_cast<qint64>(c));
      layer["weight_histogram"] = QJsonObject{
          {"min", l.histogramMin}, {"max", l.histogramMax}, {"float", floats}, {"quantized", quantized}};
    }
    putIfMeasured(layer, "sparsity", l.sparsity);
    putIfMeasured(layer, "int8_sparsity", l.int8Sparsity);
    if (l.channelsRemoved != 0) layer["channels_removed"] = static_cast<qint64>(l.channelsRemoved);
    // Mixed precision's bits; 0 (not set) is left out.
    if (l.weightBits != 0) layer["weight_bits"] = l.weightBits;
    if (l.activationBits != 0) layer["activation_bits"] = l.activationBits;
    layers.append(layer);
  }
  QJsonArray curve;
  for (const auto& point : r.trainingCurve) curve.append(toJson(point));
  QJsonArray figures;
  for (const auto& f : r.figures) {
    figures.append(QJsonObject{{"group", qs(f.group)},
                               {"name", qs(f.name)},
                               {"value", finiteOrNull(f.value)},
                               {"unit", qs(f.unit)}});
  }
  QJsonArray accuracySteps;
  for (const auto& a : r.accuracySteps) {
    QJsonObject step{{"step", qs(a.step)}, {"layer", qs(a.layer)}, {"change", qs(a.change)}};
    if (a.hasOutputSqnr) {
      step["output_sqnr_before_db"] = finiteOrNull(a.outputSqnrBeforeDb);
      step["output_sqnr_after_db"] = finiteOrNull(a.outputSqnrAfterDb);
    }
    accuracySteps.append(step);
  }
  QJsonObject json{{"technique", qs(r.technique)},
                   {"params", params},
                   {"recipe", qs(r.recipe)},
                   {"engine", qs(r.engine)},
                   {"model_path", qs(r.modelPath)},
                   {"dataset", qs(r.datasetName)},
                   {"dataset_size", static_cast<qint64>(r.datasetSize)},
                   {"sizes", toJson(r.sizes)},
                   {"original_accuracy", toJson(r.originalAccuracy)},
                   {"quantized_accuracy", toJson(r.quantizedAccuracy)},
                   {"fidelity", toJson(r.fidelity)},
                   {"original_latency", toJson(r.originalLatency)},
                   {"quantized_latency", toJson(r.quantizedLatency)},
                   {"quantized_ops", toJson(r.quantizedOps)},
                   {"layers", layers},
                   {"notes", toArray(r.notes)},
                   {"simulated", r.simulated},
                   {"training_curve", curve},
                   {"figures", figures},
                   {"quantize_seconds", r.quantizeSeconds},
                   {"finished_at", qs(r.finishedAt)},
                   {"runtime", toJson(r.runtime)}};
  if (hasMixedPrecision(r.mixedPrecision)) json["mixed_precision"] = toJson(r.mixedPrecision);
  if (!accuracySteps.isEmpty()) json["accuracy_steps"] = accuracySteps;
  return json;
}

RunResult runResultFromJson(const QJsonObject& o) {
  RunResult r;
  r.technique = ss(o.value("technique"));
  const QJsonObject params = o.value("params").toObject();
  for (auto it = params.begin(); it != params.end(); ++it) r.params[it.key().toStdString()] = ss(it.value());
  r.recipe = ss(o.value("recipe"));
  r.engine = ss(o.value("engine"));
  r.modelPath = ss(o.value("model_path"));
  r.datasetName = ss(o.value("dataset"));
  r.datasetSize = o.value("dataset_size").toInteger();
  const QJsonObject sizes = o.value("sizes").toObject();
  r.sizes.original = modelSizeFromJson(sizes.value("original").toObject());
  r.sizes.quantized = modelSizeFromJson(sizes.value("quantized").toObject());
  r.sizes.serializedRatio = sizes.value("serialized_ratio").toDouble();
  r.sizes.parameterRatio = sizes.value("parameter_ratio").toDouble();
  r.originalAccuracy = accuracyFromJson(o.value("original_accuracy").toObject());
  r.quantizedAccuracy = accuracyFromJson(o.value("quantized_accuracy").toObject());
  const QJsonObject f = o.value("fidelity").toObject();
  r.fidelity.available = f.value("available").toBool();
  r.fidelity.samples = f.value("samples").toInteger();
  r.fidelity.top1Agreement = f.value("top1_agreement").toDouble();
  r.fidelity.sqnrDb = numberOr(f.value("sqnr_db"), INFINITY);
  r.fidelity.maxAbsError = f.value("max_abs_error").toDouble();
  r.fidelity.cosineSimilarity = f.value("cosine_similarity").toDouble();
  r.originalLatency = latencyFromJson(o.value("original_latency").toObject());
  r.quantizedLatency = latencyFromJson(o.value("quantized_latency").toObject());
  r.quantizedOps = opProfileFromJson(o.value("quantized_ops").toObject());
  for (const auto& v : o.value("layers").toArray()) {
    const QJsonObject l = v.toObject();
    LayerQuantization layer;
    layer.layer = ss(l.value("layer"));
    layer.opKind = ss(l.value("op"));
    layer.quantized = l.value("quantized").toBool();
    layer.scheme = ss(l.value("scheme"));
    layer.hasWeightSqnr = l.contains("weight_sqnr_db");
    layer.weightSqnrDb = numberOr(l.value("weight_sqnr_db"), INFINITY);
    layer.hasOutputSqnr = l.contains("output_sqnr_db");
    layer.outputSqnrDb = numberOr(l.value("output_sqnr_db"), INFINITY);
    const QJsonObject histogram = l.value("weight_histogram").toObject();
    layer.histogramMin = histogram.value("min").toDouble();
    layer.histogramMax = histogram.value("max").toDouble();
    for (const auto& c : histogram.value("float").toArray()) layer.floatHistogram.push_back(c.toInteger());
    for (const auto& c : histogram.value("quantized").toArray())
      layer.quantizedHistogram.push_back(c.toInteger());
    layer.sparsity = measuredOr(l, "sparsity");
    layer.int8Sparsity = measuredOr(l, "int8_sparsity");
    layer.channelsRemoved = l.value("channels_removed").toInteger();
    layer.weightBits = l.value("weight_bits").toInt();
    layer.activationBits = l.value("activation_bits").toInt();
    r.layers.push_back(layer);
  }
  for (const auto& v : o.value("notes").toArray()) r.notes.push_back(ss(v));
  r.simulated = o.value("simulated").toBool();
  for (const auto& v : o.value("training_curve").toArray())
    r.trainingCurve.push_back(trainingPointFromJson(v.toObject()));
  for (const auto& v : o.value("figures").toArray()) {
    const QJsonObject f = v.toObject();
    r.figures.push_back(
        {ss(f.value("group")), ss(f.value("name")), numberOr(f.value("value"), NAN), ss(f.value("unit"))});
  }
  r.mixedPrecision = mixedPrecisionFromJson(o.value("mixed_precision").toObject());
  for (const auto& v : o.value("accuracy_steps").toArray()) {
    const QJsonObject a = v.toObject();
    AccuracyStepChange step{ss(a.value("step")), ss(a.value("layer")), ss(a.value("change"))};
    step.hasOutputSqnr = a.contains("output_sqnr_before_db");
    step.outputSqnrBeforeDb = numberOr(a.value("output_sqnr_before_db"), INFINITY);
    step.outputSqnrAfterDb = numberOr(a.value("output_sqnr_after_db"), INFINITY);
    r.accuracySteps.push_back(step);
  }
  r.quantizeSeconds = o.value("quantize_seconds").toDouble();
  r.finishedAt = ss(o.value("finished_at"));
  const QJsonObject rt = o.value("runtime").toObject();
  r.runtime.quantizedEngine = ss(rt.value("quantized_engine"));
  r.runtime.threads = rt.value("threads").toInt();
  r.runtime.blasLibrary = ss(rt.value("blas_library"));
  r.runtime.blasIsOpenBlas = rt.value("blas_is_openblas").toBool();
  r.runtime.blasIsReference = rt.value("blas_is_reference").toBool();
  r.runtime.ompWaitPolicy = ss(rt.value("omp_wait_policy"));
  for (const auto& v : rt.value("available_engines").toArray()) r.runtime.availableEngines.push_back(ss(v));
  for (const auto& v : rt.value("warnings").toArray()) r.runtime.warnings.push_back(ss(v));
  return r;
}

QJsonDocument readJsonFile(const QString& path, const std::string& what) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly))
    throw Error("Cannot open '" + path.toStdString() + "': " + file.errorString().toStdString() + ".");
  QJsonParseError error{};
  const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &error);
  if (error.error != QJsonParseError::NoError) {
    throw Error("'" + path.toStdString() + "' is not a " + what + " (" + error.errorString().toStdString() +
                " at byte " + std::to_string(error.offset) + ").");
  }
  return document;
}

void writeJsonFile(const QJsonDocument& document, const QString& path, const std::string& what) {
  QSaveFile file(path);
  const QByteArray bytes = document.toJson(QJsonDocument::Indented);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    throw Error("Cannot save " + what + " to '" + path.toStdString() +
                "': " + file.errorString().toStdString());
  }
}

}  // namespace quantscope
