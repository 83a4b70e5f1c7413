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
  static const std::vector<std::string> names{"fbgemm", "x86", "qnnpack", "onednn"};
  return names;
}

const QConfigRecipe& qconfigRecipe(const std::string& name) {
  for (const auto& recipe : recipes()) {
    if (recipe.name == name) return recipe;
  }
  throw Error("Unknown qconfig '" + name + "'.", "Use one of: fbgemm, x86, qnnpack, onednn.");
}

}  // namespace quantscope
