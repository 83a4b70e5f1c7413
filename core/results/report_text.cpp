#include "core/results/report_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/technique_registry.h"

namespace quantscope {
namespace {

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

std::string padRight(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace

std::string formatBytes(int64_t bytes) {
  if (bytes >= 1024 * 1024) return format("%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  if (bytes >= 1024) return format("%.1f KiB", static_cast<double>(bytes) / 1024.0);
  return std::to_string(bytes) + " B";
}

std::string formatPercent(double fraction) { return format("%.2f %%", fraction * 100.0); }

std::string formatSqnr(double db) {
  if (std::isinf(db)) return db > 0 ? "inf (identical)" : "-inf";
  return format("%.1f dB", db);
}

std::string formatModelInfo(const ModelInfo& info) {
  std::ostringstream out;
  out << "Model        " << info.path << "\n";
  out << "Archive size " << formatBytes(info.fileBytes) << " (as serialized)\n";
  out << "Parameters   " << info.parameterCount << " (" << formatBytes(info.parameterBytes) << ")\n";
  out << "Quantized    "
      << (info.quantized
              ? "yes, packed for " +
                    (info.quantizedEngine.empty() ? std::string("the active engine") : info.quantizedEngine)
              : std::string("no"))
      << "\n";
  out << "Input spec   "
      << (info.inputSpec ? info.inputSpec->toString()
                         : std::string("not stored in the model (give --input-shape)"))
      << "\n\n";
  out << padRight("LAYER", 22) << padRight("TYPE", 18) << padRight("PARAMS", 10) << padRight("DTYPE", 10)
      << padRight("SHAPES", 34) << "QUANTIZABLE BY\n";
  const auto& registry = TechniqueRegistry::instance();
  for (const auto& layer : info.layers) {
    std::vector<std::string> by;
    for (const auto& name : layer.quantizableBy)
      by.push_back(registry.find(name).available ? name : name + "*");
    out << padRight(layer.name, 22) << padRight(layer.type, 18)
        << padRight(std::to_string(layer.parameterCount), 10) << padRight(layer.dtype, 10)
        << padRight(joined(layer.parameterShapes, ", "), 34) << (by.empty() ? "-" : joined(by, " ")) << "\n";
  }
  out << "(* = technique not available yet in this version)\n";
  return out.str();
}

std::string formatLatency(const LatencyStats& s) {
  if (!s.available) return "not measured";
  return format("median %.3f ms", s.medianMs) + format(", mean %.3f", s.meanMs) +
         format(", p90 %.3f", s.p90Ms) + format(", p99 %.3f", s.p99Ms) + format(", min %.3f", s.minMs) +
         format(", max %.3f", s.maxMs) + format(", sd %.3f", s.stddevMs) +
         format(" | %.0f samples/s", s.throughputSamplesPerSecond) + " (" + std::to_string(s.runs) +
         " runs after " + std::to_string(s.warmupRuns) + " warm-up, " + std::to_string(s.threads) +
         " threads, input " + InputSpec::shapeToString(s.inputShape) + ")";
}

std::string formatLayerBits(const LayerQuantization& l) {
  if (l.weightBits < 0) return "float";
  std::vector<std::string> parts;
  if (l.weightBits > 0) parts.push_back("w" + std::to_string(l.weightBits));
  if (l.activationBits > 0) parts.push_back("a" + std::to_string(l.activationBits));
  return parts.empty() ? "-" : joined(parts, " ");
}

std::string formatLayerReport(const std::vector<LayerQuantization>& layers) {
  // The BITS column only for mixed precision, so that other techniques' reports stay as they were.
  const bool bits = std::any_of(layers.begin(), layers.end(), [](const LayerQuantization& l) {
    return l.weightBits != 0 || l.activationBits != 0;
  });
  std::ostringstream out;
  out << padRight("LAYER", 22) << padRight("TYPE", 14) << padRight("INT8", 6);
  if (bits) out << padRight("BITS", 10);
  out << padRight("WEIGHT SQNR", 13) << padRight("OUTPUT SQNR", 13) << "SCHEME / REASON\n";
  for (const auto& l : layers) {
    out << padRight(l.layer, 22) << padRight(l.opKind, 14) << padRight(l.quantized ? "yes" : "no", 6);
    if (bits) out << padRight(formatLayerBits(l), 10);
    out << padRight(l.hasWeightSqnr ? formatSqnr(l.weightSqnrDb) : "-", 13)
        << padRight(l.hasOutputSqnr ? formatSqnr(l.outputSqnrDb) : "-", 13) << l.scheme << "\n";
  }
  return out.str();
}

std::string formatAccuracySteps(const std::vector<AccuracyStepChange>& steps) {
  if (steps.empty()) return "";
  std::ostringstream out;
  out << "Accuracy steps (output SQNR of the layer before -> after the step, on calibration samples):\n";
  out << padRight("STEP", 22) << padRight("LAYER", 22) << padRight("OUTPUT SQNR", 26) << "CHANGE\n";
  for (const auto& s : steps) {
    const std::string sqnr =
        s.hasOutputSqnr ? formatSqnr(s.outputSqnrBeforeDb) + " -> " + formatSqnr(s.outputSqnrAfterDb) : "-";
    out << padRight(s.step, 22) << padRight(s.layer, 22) << padRight(sqnr, 26) << s.change << "\n";
  }
  return out.str();
}

SensitivityGrid sensitivityGrid(const MixedPrecisionReport& m) {
  SensitivityGrid grid;
  for (const auto& row : m.sensitivity) {
    if (std::find(grid.layers.begin(), grid.layers.end(), row.layer) == grid.layers.end())
      grid.layers.push_back(row.layer);
    if (std::find(grid.bits.begin(), grid.bits.end(), row.bits) == grid.bits.end())
      grid.bits.push_back(row.bits);
  }
  std::stable_sort(grid.bits.begin(), grid.bits.end(), [](const std::string& a, const std::string& b) {
    return std::atof(a.c_str()) < std::atof(b.c_str());
  });
  return grid;
}

std::string formatMixedPrecision(const MixedPrecisionReport& m) {
  if (m.empty()) return "";
  auto points = [](double drop) {
    return std::isfinite(drop) ? format("%.2f pt", drop) : std::string("n/a");
  };
  auto percent = [](double metric) {
    return std::isfinite(metric) ? format("%.2f %%", metric) : std::string("n/a");
  };
  auto kib = [](int64_t bytes) { return format("%.1f", static_cast<double>(bytes) / 1024.0); };
  std::ostringstream out;
  out << "Mixed precision\n";
  out << "  Float model " << (m.metricName.empty() ? "metric" : m.metricName) << " "
      << percent(m.floatMetric);
  if (m.samples > 0) out << " on " << m.samples << " samples";
  out << "\n";
  if (!m.sensitivity.empty()) {
    const SensitivityGrid grid = sensitivityGrid(m);
    const auto& layers = grid.layers;
    const auto& bits = grid.bits;
    out << "\nSensitivity (one layer's weights at a time, the other weights float: drop in points, output "
           "SQNR"
        << (m.sensitivitySeconds > 0 ? format(", %.1f s", m.sensitivitySeconds) : std::string()) << ")\n";
    // Cells padded to a column's width; no padding after the last one.
    auto line = [](std::string text) { return text.erase(text.find_last_not_of(' ') + 1) + "\n"; };
    std::string header = "  " + padRight("LAYER", 22);
    for (const auto& b : bits) header += padRight(b + " BIT", 22);
    out << line(header);
    for (const auto& layer : layers) {
      std::string row = "  " + padRight(layer, 22);
      for (const auto& b : bits) {
        std::string cell = "-";
        for (const auto& s : m.sensitivity) {
          if (s.layer == layer && s.bits == b) cell = points(s.drop) + "  " + formatSqnr(s.sqnrDb);
        }
        row += padRight(cell, 22);
      }
      out << line(row);
    }
  }
  if (!m.candidates.empty()) {
    out << "\nSearch (" << (m.search.empty() ? "none" : m.search) << (m.budget.empty() ? "" : ", " + m.budget)
        << "): " << m.candidates.size() << " configuration" << (m.candidates.size() == 1 ? "" : "s")
        << (m.searchSeconds > 0 ? format(", %.1f s", m.searchSeconds) : std::string()) << "\n";
    out << "  " << padRight("", 2) << padRight("KIB ON DISK", 13) << padRight("PACKED KIB", 12)
        << padRight("METRIC", 10) << padRight("DROP", 11) << padRight("SQNR", 17) << padRight("MARKS", 7)
        << "ASSIGNMENT\n";
    for (const auto& c : m.candidates) {
      std::string marks;
      if (c.withinBudget) marks += "B";
      if (c.pareto) marks += "P";
      out << "  " << padRight(c.picked ? "*" : "", 2) << padRight(kib(c.fileBytes), 13)
          << padRight(kib(c.packedWeightBytes), 12) << padRight(percent(c.metric), 10)
          << padRight(points(c.drop), 11) << padRight(formatSqnr(c.sqnrDb), 17)
          << padRight(marks.empty() ? "-" : marks, 7) << c.assignment << "\n";
    }
    out << "  (* picked, B within budget, P on the Pareto front of file size vs metric)\n";
  }
  if (!m.stoppedEarly.empty()) out << "Stopped early: " << m.stoppedEarly << "\n";
  return out.str();
}

std::string formatOpProfile(const OpProfile& p) {
  std::ostringstream out;
  out << "Where the time goes (" << p.runs << " profiled forwards): int8 kernels "
      << formatPercent(p.int8Share) << ", float " << formatPercent(p.floatShare) << ", quantize/dequantize "
      << formatPercent(p.conversionShare);
  if (p.mixedShare > 0) out << ", ops seen both ways " << formatPercent(p.mixedShare);
  out << "\n"
      << padRight("OP", 34) << padRight("RUNS AS", 22) << padRight("CALLS", 7) << padRight("MS", 10)
      << "SHARE\n";
  for (const auto& op : p.ops) {
    out << padRight(op.op, 34) << padRight(toString(op.precision), 22)
        << padRight(std::to_string(op.calls), 7) << padRight(format("%.3f", op.totalMs), 10)
        << formatPercent(op.share) << "\n";
  }
  return out.str();
}

std::string formatTrainingPoint(const TrainingPoint& p) {
  std::string line =
      "epoch " + std::to_string(p.epoch + 1) + " [" + p.series + "]: loss " + format("%.4f", p.loss);
  if (p.trainAccuracy >= 0) line += format(", train %.1f %%", p.trainAccuracy);
  if (p.validationAccuracy >= 0) line += format(", val %.1f %%", p.validationAccuracy);
  if (p.validationAgreement >= 0) line += format(", agreement %.1f %%", p.validationAgreement);
  return line + format(", %.1f s", p.elapsedSeconds);
}

std::string formatTrainingSummary(const TrainingCurve& curve) {
  std::vector<std::string> series;
  std::vector<const TrainingPoint*> last;
  std::vector<int64_t> steps;
  for (const auto& p : curve) {
    auto found = std::find(series.begin(), series.end(), p.series);
    if (found == series.end()) {
      series.push_back(p.series);
      last.push_back(nullptr);
      steps.push_back(0);
      found = series.end() - 1;
    }
    const size_t i = size_t(found - series.begin());
    steps[i] = std::max(steps[i], p.step);
    if (p.endOfEpoch) last[i] = &p;
  }
  std::ostringstream out;
  for (size_t i = 0; i < series.size(); ++i) {
    out << "Training     "
        << (last[i] ? formatTrainingPoint(*last[i]) : "[" + series[i] + "]: no finished epoch") << " ("
        << steps[i] << " steps)\n";
  }
  return out.str();
}

std::string formatFigures(const std::vector<ResultFigure>& figures) {
  if (figures.empty()) return "";
  std::vector<std::string> groups;
  for (const auto& f : figures) {
    if (std::find(groups.begin(), groups.end(), f.group) == groups.end()) groups.push_back(f.group);
  }
  std::ostringstream out;
  out << "Technique figures\n";
  for (const auto& group : groups) {
    for (const auto& f : figures) {
      if (f.group != group) continue;
      out << "  " << padRight(group, 16) << padRight(f.name, 44) << format("%.6g", f.value)
          << (f.unit.empty() ? "" : " " + f.unit) << "\n";
    }
  }
  return out.str();
}

std::string formatSparsity(const std::vector<LayerQuantization>& layers) {
  const bool any = std::any_of(layers.begin(), layers.end(), [](const LayerQuantization& l) {
    return l.sparsity >= 0 || l.int8Sparsity >= 0 || l.channelsRemoved != 0;
  });
  if (!any) return "";
  std::ostringstream out;
  out << padRight("LAYER", 22) << padRight("ZERO WEIGHTS FP32", 19) << padRight("ZERO WEIGHTS INT8", 19)
      << "CHANNELS REMOVED\n";
  for (const auto& l : layers) {
    if (l.sparsity < 0 && l.int8Sparsity < 0 && l.channelsRemoved == 0) continue;
    out << padRight(l.layer, 22) << padRight(l.sparsity >= 0 ? formatPercent(l.sparsity) : "-", 19)
        << padRight(l.int8Sparsity >= 0 ? formatPercent(l.int8Sparsity) : "-", 19) << l.channelsRemoved
        << "\n";
  }
  return out.str();
}

std::string formatRunResult(const RunResult& r) {
  std::ostringstream out;
  std::vector<std::string> params;
  for (const auto& [k, v] : r.params) params.push_back(k + "=" + v);
  out << "Technique    " << r.technique << " (" << joined(params, ", ") << ")\n";
  out << "Ran          " << r.recipe << " recipe on " << r.engine << " kernels; quantizing took "
      << format("%.2f s", r.quantizeSeconds) << "\n";
  out << "Data         " << r.datasetName << " (" << r.datasetSize << " samples)\n\n";
  out << padRight("", 22) << padRight("fp32 (original)", 22) << padRight("quantized", 22) << "ratio\n";
  out << padRight("Archive size", 22) << padRight(formatBytes(r.sizes.original.serializedBytes), 22)
      << padRight(formatBytes(r.sizes.quantized.serializedBytes), 22)
      << format("%.2fx smaller", r.sizes.serializedRatio) << "\n";
  out << padRight("Parameter bytes", 22) << padRight(formatBytes(r.sizes.original.parameterBytes), 22)
      << padRight(formatBytes(r.sizes.quantized.parameterBytes), 22)
      << format("%.2fx smaller", r.sizes.parameterRatio) << "\n";
  if (r.originalAccuracy.available) {
    out << padRight("Top-1 accuracy", 22) << padRight(formatPercent(r.originalAccuracy.top1), 22)
        << padRight(formatPercent(r.quantizedAccuracy.top1), 22)
        << format("%+.2f pt", (r.quantizedAccuracy.top1 - r.originalAccuracy.top1) * 100.0) << "\n";
    if (r.originalAccuracy.hasTop5) {
      out << padRight("Top-5 accuracy", 22) << padRight(formatPercent(r.originalAccuracy.top5), 22)
          << padRight(formatPercent(r.quantizedAccuracy.top5), 22)
          << format("%+.2f pt", (r.quantizedAccuracy.top5 - r.originalAccuracy.top5) * 100.0) << "\n";
    }
  }
  if (r.originalLatency.available) {
    const double speedup =
        r.quantizedLatency.medianMs > 0 ? r.originalLatency.medianMs / r.quantizedLatency.medianMs : 0;
    out << padRight("Latency median", 22) << padRight(format("%.3f ms", r.originalLatency.medianMs), 22)
        << padRight(format("%.3f ms", r.quantizedLatency.medianMs), 22)
        << (speedup >= 1 ? format("%.2fx faster", speedup) : format("%.2fx SLOWER", 1.0 / speedup)) << "\n";
    out << padRight("Latency p90", 22) << padRight(format("%.3f ms", r.originalLatency.p90Ms), 22)
        << padRight(format("%.3f ms", r.quantizedLatency.p90Ms), 22) << "\n";
  }
  out << "\nFidelity vs fp32: top-1 agreement " << formatPercent(r.fidelity.top1Agreement) << ", SQNR "
      << formatSqnr(r.fidelity.sqnrDb) << ", max |error| " << format("%.4g", r.fidelity.maxAbsError)
      << ", cosine " << format("%.6f", r.fidelity.cosineSimilarity) << "\n";
  out << "Latency fp32:      " << formatLatency(r.originalLatency) << "\n";
  out << "Latency quantized: " << formatLatency(r.quantizedLatency) << "\n\n";
  out << formatLayerReport(r.layers);
  if (const std::string sparsity = formatSparsity(r.layers); !sparsity.empty()) out << "\n" << sparsity;
  if (!r.trainingCurve.empty()) out << "\n" << formatTrainingSummary(r.trainingCurve);
  if (const std::string figures = formatFigures(r.figures); !figures.empty()) out << "\n" << figures;
  if (const std::string mixed = formatMixedPrecision(r.mixedPrecision); !mixed.empty()) out << "\n" << mixed;
  if (const std::string steps = formatAccuracySteps(r.accuracySteps); !steps.empty()) out << "\n" << steps;
  if (!r.quantizedOps.ops.empty()) out << "\n" << formatOpProfile(r.quantizedOps) << "\n";
  for (const auto& note : r.notes) out << "Note: " << note << "\n";
  if (r.simulated) out << "Note: results are SIMULATED (fake-quantized), not run on int kernels.\n";
  return out.str();
}

}  // namespace quantscope
