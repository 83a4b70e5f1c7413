#include "core/analysis/analysis_report.h"

#include <QJsonArray>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace quantscope {
namespace {

std::string db(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f dB", value);
  return text;
}

std::string fixed(double value, int decimals = 2) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

QJsonValue number(double value) { return std::isfinite(value) ? QJsonValue(value) : QJsonValue(); }

QJsonObject toJson(const AnalysisMeasurement& m) {
  return {{"metric", m.metric}, {"drop", m.drop}, {"sqnr_db", number(m.sqnrDb)}};
}

QJsonArray toJson(const std::vector<SweepPoint>& points) {
  QJsonArray array;
  for (const auto& p : points) {
    QJsonObject o = toJson(p.measured);
    o["layer"] = QString::fromStdString(p.layer);
    array.append(o);
  }
  return array;
}

QJsonArray strings(const std::vector<std::string>& values) {
  QJsonArray array;
  for (const auto& v : values) array.append(QString::fromStdString(v));
  return array;
}

QJsonObject params(const ParamValues& values) {
  QJsonObject o;
  for (const auto& [k, v] : values) o[QString::fromStdString(k)] = QString::fromStdString(v);
  return o;
}

}  // namespace

std::string formatQuantAnalysis(const QuantAnalysis& a) {
  std::ostringstream out;
  out << "Quant analysis of " << a.modelName << ": recipe qconfig=" << a.recipe.at("qconfig") << " on "
      << a.engine << ", " << a.metricName << " on " << a.evalSamples << " samples of " << a.dataName
      << "\n\n";
  out << "Four-way comparison\n";
  out << "  " << pad("", 18) << pad("how", 32) << pad(a.metricName, 28) << pad("drop", 10)
      << "SQNR vs fp32\n";
  for (const auto& r : a.fourWay) {
    out << "  " << pad(r.name, 18) << pad(r.how, 32) << pad(fixed(r.measured.metric) + " %", 28)
        << pad(fixed(r.measured.drop) + " pt", 10) << (r.name == "fp32" ? "" : db(r.measured.sqnrDb)) << "\n";
  }
  out << "\nPer-quantizer sweeps on the int8 kernels (" << a.sweepSamples
      << " samples; full int8 there: " << fixed(a.sweepBaseline.metric) << " %, "
      << db(a.sweepBaseline.sqnrDb) << ")\n";
  out << "  " << pad("layer", 24) << pad("only it int8", 24) << "only it float\n";
  for (size_t i = 0; i < a.enableOne.size(); ++i) {
    const auto& e = a.enableOne[i];
    std::string disabled;
    for (const auto& d : a.disableOne)
      if (d.layer == e.layer) disabled = fixed(d.measured.metric) + " %, " + db(d.measured.sqnrDb);
    out << "  " << pad(e.layer, 24) << pad(fixed(e.measured.metric) + " %, " + db(e.measured.sqnrDb), 24)
        << disabled << "\n";
  }
  out << "  Worst layers (what keeping each float recovers): ";
  for (size_t i = 0; i < a.worstLayers.size() && i < 5; ++i) out << (i ? ", " : "") << a.worstLayers[i];
  out << "\n\nSimulated vs real, each layer's output SQNR against the float layer (gaps > "
      << fixed(a.gapThresholdDb, 0) << " dB flagged)\n";
  out << "  " << pad("layer", 24) << pad("simulated", 12) << pad(a.engine, 12)
      << pad(a.otherEngine.empty() ? "other" : a.otherEngine, 12) << "\n";
  for (const auto& r : a.simulatedVsReal) {
    out << "  " << pad(r.layer, 24) << pad(r.hasSimulated ? db(r.simulatedDb) : "-", 12)
        << pad(r.hasReal ? db(r.realDb) : "-", 12) << pad(r.hasOtherEngine ? db(r.otherEngineDb) : "-", 12)
        << (r.flagged ? "FLAG " : "") << r.note << "\n";
  }
  const auto& s = a.stability;
  out << "\nCalibration stability (" << s.runs.size() << " random subsets of " << s.subsetSize
      << " samples): ";
  for (size_t i = 0; i < s.runs.size(); ++i) out << (i ? ", " : "") << fixed(s.runs[i].metric) << " %";
  out << "\n  mean " << fixed(s.metricMean) << " % +- " << fixed(s.metricSpread) << " pt; SQNR "
      << fixed(s.sqnrMean, 1) << " +- " << fixed(s.sqnrSpread, 2) << " dB\n";
  out << "\nRanges (weights per output channel, max - min; outlier: > " << fixed(a.outlierFactor, 0)
      << "x the layer's median channel range)\n";
  for (const auto& r : a.ranges) {
    double widest = 0;
    for (double v : r.channelRanges) widest = std::max(widest, v);
    out << "  " << pad(r.layer, 24) << pad(std::to_string(r.channelRanges.size()) + " ch", 8) << "median "
        << pad(fixed(r.medianChannelRange, 4), 10) << "max " << pad(fixed(widest, 4), 10);
    if (r.hasActivationRange)
      out << "activations [" << fixed(r.activationMin, 3) << ", " << fixed(r.activationMax, 3) << "]";
    if (!r.outlierChannels.empty()) {
      out << "  outliers:";
      for (size_t i = 0; i < r.outlierChannels.size() && i < 8; ++i) out << " " << r.outlierChannels[i];
      if (r.outlierChannels.size() > 8) out << " ...";
    }
    out << "\n";
  }
  out << "\nRecommendation: " << a.recommendation.summary << "\n";
  for (const auto& f : a.recommendation.findings) out << "  - " << f << "\n";
  out << "  Apply: quantscope-cli quantize <model> -o <out> --technique " << a.recommendation.technique;
  for (const auto& [k, v] : a.recommendation.params) out << " --param " << k << "=" << v;
  out << "\n\nNotes:\n";
  for (const auto& n : a.notes) out << "  - " << n << "\n";
  out << "Time:";
  double total = 0;
  for (const auto& [part, seconds] : a.seconds)
    out << " " << part << " " << fixed(seconds, 1) << " s;", total += seconds;
  out << " total " << fixed(total, 1) << " s\n";
  return out.str();
}

QJsonObject toJson(const QuantAnalysis& a) {
  QJsonArray fourWay;
  for (const auto& r : a.fourWay) {
    QJsonObject o = toJson(r.measured);
    o["name"] = QString::fromStdString(r.name);
    o["how"] = QString::fromStdString(r.how);
    o["simulated"] = r.simulated;
    fourWay.append(o);
  }
  QJsonArray simVsReal;
  for (const auto& r : a.simulatedVsReal) {
    simVsReal.append(
        QJsonObject{{"layer", QString::fromStdString(r.layer)},
                    {"simulated_db", r.hasSimulated ? number(r.simulatedDb) : QJsonValue()},
                    {"real_db", r.hasReal ? number(r.realDb) : QJsonValue()},
                    {"other_engine_db", r.hasOtherEngine ? number(r.otherEngineDb) : QJsonValue()},
                    {"flagged", r.flagged},
                    {"note", QString::fromStdString(r.note)}});
  }
  QJsonArray stabilityRuns;
  for (size_t i = 0; i < a.stability.runs.size(); ++i) {
    QJsonObject o = toJson(a.stability.runs[i]);
    o["seed"] = QString::number(a.stability.seeds[i]);
    stabilityRuns.append(o);
  }
  QJsonArray ranges;
  for (const auto& r : a.ranges) {
    QJsonArray channels, outliers;
    for (double v : r.channelRanges) channels.append(v);
    for (int c : r.outlierChannels) outliers.append(c);
    QJsonObject o{{"layer", QString::fromStdString(r.layer)},
                  {"channel_ranges", channels},
                  {"median_channel_range", r.medianChannelRange},
                  {"outlier_channels", outliers}};
    if (r.hasActivationRange) o["activation_range"] = QJsonArray{r.activationMin, r.activationMax};
    ranges.append(o);
  }
  QJsonObject seconds;
  for (const auto& [part, s] : a.seconds) seconds[QString::fromStdString(part)] = s;
  return {
      {"model", QString::fromStdString(a.modelName)},
      {"data", QString::fromStdString(a.dataName)},
      {"calibration_data", QString::fromStdString(a.calibrationName)},
      {"metric", QString::fromStdString(a.metricName)},
      {"eval_samples", double(a.evalSamples)},
      {"sweep_samples", double(a.sweepSamples)},
      {"calibration_samples", double(a.calibrationSamples)},
      {"recipe", params(a.recipe)},
      {"engine", QString::fromStdString(a.engine)},
      {"other_engine", QString::fromStdString(a.otherEngine)},
      {"four_way", fourWay},
      {"sweeps", QJsonObject{{"baseline", toJson(a.sweepBaseline)},
                             {"enable_one", toJson(a.enableOne)},
                             {"disable_one", toJson(a.disableOne)},
                             {"worst_layers", strings(a.worstLayers)}}},
      {"simulated_vs_real", QJsonObject{{"gap_threshold_db", a.gapThresholdDb}, {"layers", simVsReal}}},
      {"calibration_stability", QJsonObject{{"subset_size", double(a.stability.subsetSize)},
                                            {"runs", stabilityRuns},
                                            {"metric_mean", a.stability.metricMean},
                                            {"metric_spread", a.stability.metricSpread},
                                            {"sqnr_mean_db", number(a.stability.sqnrMean)},
                                            {"sqnr_spread_db", number(a.stability.sqnrSpread)}}},
      {"ranges",
       QJsonObject{{"outlier_rule",
                    QString("channel range > %1x the layer's median channel range").arg(a.outlierFactor)},
                   {"layers", ranges}}},
      {"recommendation", QJsonObject{{"summary", QString::fromStdString(a.recommendation.summary)},
                                     {"findings", strings(a.recommendation.findings)},
                                     {"technique", QString::fromStdString(a.recommendation.technique)},
                                     {"params", params(a.recommendation.params)}}},
      {"notes", strings(a.notes)},
      {"seconds", seconds},
  };
}

}  // namespace quantscope
