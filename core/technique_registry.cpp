#include "core/technique_registry.h"

#include <cmath>
#include <fstream>

#include "core/errors.h"
#include "core/techniques/distillation_quantization.h"
#include "core/techniques/dynamic_quantization.h"
#include "core/techniques/graph_mode_quantization.h"
#include "core/techniques/mixed_precision_quantization.h"
#include "core/techniques/pruning_quantization.h"
#include "core/techniques/quantization_aware_training.h"

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

bool parseNumber(const std::string& text, double& value) {
  try {
    size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size() && std::isfinite(value);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string toString(ParamType type) {
  switch (type) {
    case ParamType::Int:
      return "int";
    case ParamType::Float:
      return "float";
    case ParamType::Choice:
      return "choice";
    case ParamType::Bool:
      return "bool";
    case ParamType::Text:
      return "text";
    case ParamType::File:
      return "file";
  }
  return "?";
}

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
    const std::string where = "Parameter " + key + "=" + value + " of '" + d.name + "'";
    double number = 0;
    switch (spec->type) {
      case ParamType::Choice:
        if (!spec->choices.empty() &&
            std::find(spec->choices.begin(), spec->choices.end(), value) == spec->choices.end()) {
          std::string choices;
          for (const auto& c : spec->choices) choices += (choices.empty() ? "" : ", ") + c;
          throw Error(where + " is not one of: " + choices + ".");
        }
        break;
      case ParamType::Text:
        break;
      case ParamType::File:
        if (!value.empty() && !std::ifstream(value).good()) {
          throw Error(where + ": the file does not exist or cannot be read.");
        }
        break;
      case ParamType::Bool:
        if (value != "true" && value != "false") throw Error(where + " must be true or false.");
        break;
      case ParamType::Int:
      case ParamType::Float:
        if (!parseNumber(value, number) || (spec->type == ParamType::Int && number != std::floor(number))) {
          throw Error(where + " must be " + (spec->type == ParamType::Int ? "a whole number." : "a number."));
        }
        if (number < spec->minValue || number > spec->maxValue) {
          char range[64];
          std::snprintf(range, sizeof(range), "%g..%g", spec->minValue, spec->maxValue);
          throw Error(where + " is out of range " + range + ".");
        }
        break;
    }
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
