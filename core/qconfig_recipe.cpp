#include "core/internal/qconfig_recipe.h"

#include "core/errors.h"

namespace quantscope {
namespace {

// As get_default_qconfig() in PyTorch 1.13: fbgemm/x86 per-channel weights and reduce_range activations,
// qnnpack per-tensor weights, onednn per-channel weights with full-range activations.
const std::vector<QConfigRecipe>& recipes() {
  static const std::vector<QConfigRecipe> all{
      {"fbgemm", true, true}, {"x86", true, true}, {"qnnpack", false, false}, {"onednn", true, false}};
  return all;
}

}  // namespace

const std::vector<std::string>& qconfigRecipeNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const auto& recipe : recipes()) all.push_back(recipe.name);
    return all;
  }();
  return names;
}

ParamSpec qconfigParam(const std::string& help) {
  return {"qconfig", ParamType::Choice, "fbgemm", 0, 0, qconfigRecipeNames(), help};
}

ParamSpec engineParam() {
  return {
      "engine",
      ParamType::Choice,
      "auto",
      0,
      0,
      {"auto", "onednn", "qnnpack"},
      "Which int8 kernels run the model. auto: the best this LibTorch has (onednn on x86). qnnpack runs some "
      "models this LibTorch's oneDNN fails on (e.g. some depthwise convolutions)."};
}

const QConfigRecipe& qconfigRecipe(const std::string& name) {
  for (const auto& recipe : recipes()) {
    if (recipe.name == name) return recipe;
  }
  std::string names;
  for (const auto& recipe : recipes()) names += (names.empty() ? "" : ", ") + recipe.name;
  throw Error("Unknown qconfig '" + name + "'.", "Use one of: " + names + ".");
}

}  // namespace quantscope
