#include "core/technique_registry.h"

#include "core/errors.h"
#include "core/params/param_kind.h"
#include "core/techniques/distillation_quantization.h"
#include "core/techniques/dynamic_quantization.h"
#include "core/techniques/fx_graph_mode_quantization.h"
#include "core/techniques/mixed_precision_quantization.h"
#include "core/techniques/pruning_quantization.h"
#include "core/techniques/quantization_aware_training.h"
#include "core/techniques/static_quantization.h"

namespace quantscope {
namespace {

TechniqueDescriptor available(std::string name, std::string apiFunction, std::string displayName,
                              std::string summary, std::vector<ParamSpec> params,
                              std::vector<std::string> layerTypes, bool needsCalibration,
                              TechniqueFunction run) {
  TechniqueDescriptor d;
  d.name = std::move(name);
  d.apiFunction = std::move(apiFunction);
  d.displayName = std::move(displayName);
  d.summary = std::move(summary);
  d.params = std::move(params);
  d.layerTypes = std::move(layerTypes);
  d.available = true;
  d.needsCalibration = needsCalibration;
  d.run = std::move(run);
  return d;
}

TechniqueDescriptor trainer(TechniqueDescriptor d) {
  d.trains = true;
  return d;
}

}  // namespace

std::string toString(ParamType type) { return paramKind(type).name(); }

std::pair<std::string, std::string> parseParamAssignment(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error("Parameter '" + text + "' is not of the form key=value.", "Example: --param dtype=qint8");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

TechniqueRegistry::TechniqueRegistry() {
  techniques_.push_back(
      available("dynamic", "dynamic_quantization", "Dynamic quantization",
                "int8 weights; activations quantized per batch at run time. No calibration data needed.",
                dynamicQuantizationParams(), {"Linear", "LSTM", "GRU", "Embedding", "EmbeddingBag"},
                /*needsCalibration=*/false, runDynamicQuantization));
  const std::vector<std::string>& convAndLinear = convAndLinearTypes();
  techniques_.push_back(available(
      "static", "static_quantization", "Static (post-training) quantization",
      "Each Conv/Linear becomes int8 with quantize/dequantize at its borders (eager semantics); activation "
      "ranges calibrated on sample data.",
      staticQuantizationParams(), convAndLinear, /*needsCalibration=*/true, runStaticQuantization));
  techniques_.push_back(trainer(available("qat", "quantization_aware_training", "Quantization-aware training",
                                          "Fine-tunes with simulated int8 (fake quantization where fx puts "
                                          "int8) so the model adapts, then converts "
                                          "to int8 kernels. Trains on the training data (labels needed).",
                                          quantizationAwareTrainingParams(), convAndLinear,
                                          /*needsCalibration=*/true, runQuantizationAwareTraining)));
  techniques_.push_back(available("fx", "fx_graph_mode_quantization", "Graph-mode (FX) quantization",
                                  "Quantizes the whole graph: conv-bn folding, conv+relu fusion, int8 "
                                  "through relu/add/pool; calibrated on "
                                  "sample data.",
                                  graphModeQuantizationParams(), convAndLinear, /*needsCalibration=*/true,
                                  runGraphModeQuantization));
  techniques_.push_back(
      available("mixed", "mixed_precision_quantization", "Mixed-precision quantization",
                "Any bit-width from 2 to 8 (or float) per layer on the int8 kernels, with the weights packed "
                "in the file; per-layer sensitivity, and a search for the smallest or the most accurate "
                "assignment within a budget.",
                mixedPrecisionQuantizationParams(), convAndLinear, /*needsCalibration=*/true,
                runMixedPrecisionQuantization));
  techniques_.push_back(trainer(available(
      "pruning", "pruning_aware_quantization", "Pruning-aware quantization",
      "Prunes the smallest weights or whole channels, fine-tunes with fake quantization and the masks kept, "
      "then "
      "quantizes to int8. Trains on the training data (labels needed).",
      pruningQuantizationParams(), convAndLinear, /*needsCalibration=*/true, runPruningQuantization)));
  techniques_.push_back(trainer(available(
      "distillation", "knowledge_distillation_quantization", "Knowledge-distillation quantization",
      "Trains a fake-quantized student against the float teacher's softened outputs, then converts to int8. "
      "Works on unlabelled data (teacher only).",
      distillationQuantizationParams(), convAndLinear, /*needsCalibration=*/true,
      runDistillationQuantization)));
}

const std::vector<std::string>& convAndLinearTypes() {
  static const std::vector<std::string> types{"Conv1d", "Conv2d", "Conv3d", "Linear"};
  return types;
}

const TechniqueRegistry& TechniqueRegistry::instance() {
  static const TechniqueRegistry registry;
  return registry;
}

const TechniqueDescriptor& TechniqueRegistry::find(const std::string& name) const {
  std::string known;
  for (const auto& t : techniques_) {
    if (t.name == name || t.apiFunction == name) return t;
    known += (known.empty() ? "" : ", ") + t.name;
  }
  throw Error("Unknown technique '" + name + "'.", "Known techniques: " + known + ".");
}

ParamValues TechniqueRegistry::resolveParams(const std::string& technique, const ParamValues& given) const {
  const TechniqueDescriptor& d = find(technique);
  ParamValues resolved;
  for (const auto& [key, value] : given) {
    const auto spec =
        std::find_if(d.params.begin(), d.params.end(), [&](const ParamSpec& p) { return p.name == key; });
    if (spec == d.params.end()) {
      std::string names;
      for (const auto& p : d.params) names += (names.empty() ? "" : ", ") + p.name;
      throw Error("Technique '" + d.name + "' has no parameter '" + key + "'.",
                  "Its parameters: " + names + ".");
    }
    paramKind(spec->type).validate(*spec, value, "Parameter " + key + "=" + value + " of '" + d.name + "'");
    resolved[key] = value;
  }
  for (const auto& p : d.params) resolved.emplace(p.name, p.defaultValue);
  return resolved;
}

QuantizationOutcome TechniqueRegistry::run(const std::string& technique, const Model& model,
                                           const ParamValues& given, const TechniqueContext& context) const {
  const TechniqueDescriptor& d = find(technique);
  const ParamValues params = resolveParams(d.name, given);
  if (!d.available) throw NotAvailableError(d.unavailableReason);
  return d.run(model, params, context);
}

}  // namespace quantscope
