#pragma once
// A qconfig name is a numerics recipe, as in torch.ao.quantization.get_default_qconfig: which observers,
// per-channel or per-tensor weights, reduced activation range. Which kernels run it is a separate choice
// (the engine): Debian's LibTorch has onednn and qnnpack, never fbgemm.
#include <string>
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

struct QConfigRecipe {
  std::string name;
  bool perChannelWeights = false;
  bool reduceRangeActivations = false;  // 7-bit activations, as fbgemm's kernels need against overflow
};

const std::vector<std::string>& qconfigRecipeNames();
// Throws Error naming the known recipes.
const QConfigRecipe& qconfigRecipe(const std::string& name);

// "fbgemm recipe on onednn kernels: per-channel weights, 7-bit (reduce_range) activations." plus, for a
// reduced-range recipe on kernels that do not need it, why it is so and what the alternative is.
std::string recipeNote(const QConfigRecipe& recipe, const std::string& engine);

// The two parameters every technique that makes int8 weights takes: the recipe (its help says what the
// recipe means for that technique) and the engine whose kernels run the result.
ParamSpec qconfigParam(const std::string& help);
ParamSpec engineParam();

}  // namespace quantscope
