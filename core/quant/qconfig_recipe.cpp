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
  return {
      "qconfig",
      ParamType::Choice,
      "fbgemm",
      0,
      0,
      qconfigRecipeNames(),
      help +
          " The default fbgemm (as PyTorch documents it) keeps activations to 7 bits, which only fbgemm's "
          "kernels need; this LibTorch runs onednn, where the onednn recipe's 8 bits usually give a "
          "higher SQNR: run both to see the difference on your model."};
}

std::string recipeNote(const QConfigRecipe& recipe, const std::string& engine) {
  std::string note = recipe.name + " recipe on " + engine +
                     " kernels: " + (recipe.perChannelWeights ? "per-channel" : "per-tensor") + " weights, " +
                     (recipe.reduceRangeActivations ? "7-bit (reduce_range)" : "8-bit") + " activations.";
  if (recipe.reduceRangeActivations && engine != "fbgemm") {
    note +=
        " The 7 bits guard fbgemm's kernels against overflow; the " + engine +
        " kernels running here do not need them, so the onednn recipe (8-bit activations) usually gives a "
        "higher SQNR. Run both to measure it; the window's Compare tab and the run's notes then give the "
        "difference.";
  }
  return note;
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
