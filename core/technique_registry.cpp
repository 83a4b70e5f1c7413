#include "core/technique_registry.h"

#include <algorithm>
#include <stdexcept>

#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/params/param_kind.h"

namespace quantscope {
namespace {

// Filled during static initialisation by each technique's TechniqueRegistration; a function-local static,
// so it exists before the first registration whatever order the files initialise in.
std::vector<TechniqueRegistration::Describe>& pendingRegistrations() {
  static std::vector<TechniqueRegistration::Describe> describers;
  return describers;
}

// NaN or Inf in a float weight gives a NaN scale (a silently useless int8 model) or makes a histogram
// observer throw; every technique refuses such a model up front, naming the tensor.
void checkWeightsAreFinite(const Model& model) {
  for (const auto& p : collectParameters(model.impl().module)) {
    if (!p.tensor.defined() || !p.tensor.is_floating_point()) continue;
    const torch::Tensor tensor = p.tensor.detach();
    const int64_t nans = tensor.isnan().sum().item<int64_t>();
    const int64_t infs = tensor.isinf().sum().item<int64_t>();
    if (nans == 0 && infs == 0) continue;
    const std::string name = p.owner.empty() ? p.name : p.owner + "." + p.name;
    throw Error("The model's weight " + name + " holds " + std::to_string(nans) + " NaN and " +
                    std::to_string(infs) +
                    " Inf value(s); int8 cannot represent them, so nothing was "
                    "quantized.",
                "Fix the model first (often a training run that diverged), then export it again.");
  }
}

}  // namespace

TechniqueRegistration::TechniqueRegistration(Describe describe) {
  pendingRegistrations().push_back(describe);
}

std::string toString(ParamType type) { return paramKind(type).name(); }

std::pair<std::string, std::string> parseParamAssignment(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error("Parameter '" + text + "' is not of the form key=value.", "Example: --param dtype=qint8");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

TechniqueRegistry::TechniqueRegistry() {
  for (const TechniqueRegistration::Describe describe : pendingRegistrations())
    techniques_.push_back(describe());
  std::sort(techniques_.begin(), techniques_.end(),
            [](const TechniqueDescriptor& a, const TechniqueDescriptor& b) {
              return a.listPosition < b.listPosition;
            });
  for (size_t i = 1; i < techniques_.size(); ++i) {
    const TechniqueDescriptor& previous = techniques_[i - 1];
    if (previous.listPosition == techniques_[i].listPosition) {
      throw std::logic_error("Techniques '" + previous.name + "' and '" + techniques_[i].name +
                             "' both registered list position " + std::to_string(previous.listPosition) +
                             ".");
    }
    for (size_t j = 0; j < i; ++j) {
      if (techniques_[j].name == techniques_[i].name)
        throw std::logic_error("Technique '" + techniques_[i].name + "' is registered twice.");
    }
  }
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
  checkWeightsAreFinite(model);
  // The technique works on clones (Model::clone: own compilation units), so the classes its passes clone
  // and create are freed with the run's models instead of piling up in the caller's for the session.
  TechniqueContext isolated = context;
  for (auto& [role, extra] : isolated.models) extra = extra.clone();
  return d.run(model.clone(), params, isolated);
}

}  // namespace quantscope
