#pragma once
// Weight-only quantization of embedding tables, as PyTorch's float_qparams_weight_only_qconfig(_4bit) and
// nn.quantized.Embedding do it: each row gets its own float scale and offset
// (per_channel_affine_float_qparams, axis 0), the rows are stored as quint8 or 4-bit (quint4x2), and lookups
// run on LibTorch's quantized embedding kernels (quantized::embedding_byte / embedding_4bit,
// quantized::embedding_bag_byte / embedding_bag_4bit for sum bags). The output stays float, so whatever
// follows is untouched. Internal: includes LibTorch.
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

enum class EmbeddingWeights { Float, Int8, FourBit };

// The `embeddings` choice parameter (float, int8, 4bit) the techniques declare.
ParamSpec embeddingsParam();
// "float" / "int8" / "4bit"; anything else throws Error naming the valid values.
EmbeddingWeights parseEmbeddingWeights(const std::string& text);
std::string toString(EmbeddingWeights weights);
// The run's `embeddings` parameter; float when the parameters have none.
EmbeddingWeights embeddingWeightsOf(const ParamValues& params);

struct EmbeddingRewrite {
  int lookups = 0;  // aten::embedding -> quantized::embedding_byte / embedding_4bit
  int bags = 0;     // aten::embedding_bag (mode sum) -> quantized::embedding_bag_byte / embedding_bag_4bit
  // Lookups left float, with the reason (e.g. a mean/max bag, which the quantized bag kernels compute
  // wrongly).
  std::vector<std::string> skipped;
};

// Rewrites the embedding lookups of a frozen module (weights are graph constants after Finalize) to the
// quantized kernels; the packed rows live in module attributes `_quantscope_embedding_<i>` (custom-class
// objects cannot be graph constants in a saved archive) and pickle as nn.quantized.Embedding's do. Does
// nothing for EmbeddingWeights::Float.
EmbeddingRewrite quantizeEmbeddings(torch::jit::Module& frozen, EmbeddingWeights weights);

// The per-layer report's words for Embedding / EmbeddingBag layers: weight-only int8/4-bit rows on which
// kernel, or why the table stays float (embeddings=float).
void describeEmbeddingLayers(std::vector<LayerQuantization>& layers, EmbeddingWeights weights);
// One line for the run's notes; empty when nothing was rewritten and nothing skipped.
std::string embeddingNote(const EmbeddingRewrite& rewrite, EmbeddingWeights weights);

}  // namespace quantscope
