#include "core/quant/embedding_quantization.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <limits>

#include "core/errors.h"
#include "core/internal/graph_walk.h"

namespace quantscope {
namespace {

const c10::Symbol kEmbeddingByte = c10::Symbol::fromQualString("quantized::embedding_byte");
const c10::Symbol kEmbedding4Bit = c10::Symbol::fromQualString("quantized::embedding_4bit");
const c10::Symbol kEmbeddingBagByte = c10::Symbol::fromQualString("quantized::embedding_bag_byte");
const c10::Symbol kEmbeddingBag4Bit = c10::Symbol::fromQualString("quantized::embedding_bag_4bit");

c10::IValue callOp(const char* name, torch::jit::Stack stack) {
  c10::Dispatcher::singleton().findSchemaOrThrow(name, "").callBoxed(&stack);
  return stack.at(0);
}

// PerChannelMinMaxObserver with qscheme per_channel_affine_float_qparams, ch_axis 0 (PyTorch's
// float_qparams_weight_only_qconfig): scale = (max - min) / (quant_max - quant_min) per row, 1 where that is
// below eps, and the float offset -min / scale, so a row's minimum lands exactly on 0.
torch::Tensor quantizeRows(const torch::Tensor& weight, EmbeddingWeights weights) {
  const torch::Tensor w = weight.detach().to(torch::kFloat).contiguous();
  const double levels = weights == EmbeddingWeights::Int8 ? 255.0 : 15.0;
  const torch::Tensor minimum = std::get<0>(w.min(1));
  const torch::Tensor maximum = std::get<0>(w.max(1));
  torch::Tensor scales = (maximum - minimum) / levels;
  scales = torch::where(scales > std::numeric_limits<float>::epsilon(), scales, torch::ones_like(scales));
  const torch::Tensor offsets = -minimum / scales;
  return torch::quantize_per_channel(w, scales.to(torch::kDouble), offsets, 0,
                                     weights == EmbeddingWeights::Int8 ? torch::kQUInt8 : torch::kQUInt4x2);
}

// A float 2-D table the graph holds as a constant, or an empty tensor with the reason it cannot be used.
torch::Tensor constantTable(torch::jit::Value* value, std::string& whyNot) {
  const auto constant = torch::jit::toIValue(value);
  if (!constant || !constant->isTensor()) {
    whyNot = "its table is not a constant of the frozen graph";
    return {};
  }
  torch::Tensor table = constant->toTensor();
  if (table.dim() != 2 || !table.is_floating_point()) {
    whyNot = "its table is not a 2-D float tensor";
    return {};
  }
  return table;
}

bool isNoneOrNegative(torch::jit::Value* value) {
  const auto constant = torch::jit::toIValue(value);
  return constant && (constant->isNone() || (constant->isInt() && constant->toInt() < 0));
}

class Rewriter {
 public:
  Rewriter(torch::jit::Module& frozen, EmbeddingWeights weights)
      : frozen_(frozen), weights_(weights), graph_(frozen.get_method("forward").graph()) {}

  EmbeddingRewrite run() {
    std::vector<torch::jit::Node*> lookups, bags;
    forEachNode(graph_, [&](torch::jit::Node* node) {
      if (node->kind() == c10::aten::embedding) lookups.push_back(node);
      if (node->kind() == c10::aten::embedding_bag) bags.push_back(node);
    });
    for (torch::jit::Node* node : lookups) rewriteLookup(node);
    for (torch::jit::Node* node : bags) rewriteBag(node);
    torch::jit::EliminateDeadCode(graph_);
    return result_;
  }

 private:
  // The packed rows as a module attribute, read by a GetAttr at the node's place.
  torch::jit::Value* packedRows(const torch::Tensor& table) {
    const c10::IValue packed = callOp("quantized::embedding_bag_prepack", {quantizeRows(table, weights_)});
    const std::string attribute = "_quantscope_embedding_" + std::to_string(result_.lookups + result_.bags);
    frozen_.register_attribute(attribute, packed.type(), packed);
    return graph_->insertGetAttr(graph_->inputs()[0], attribute);
  }

  bool tableFits(const torch::Tensor& table, const std::string& what) {
    if (weights_ == EmbeddingWeights::FourBit && table.size(1) % 2 != 0) {
      result_.skipped.push_back(what + " of width " + std::to_string(table.size(1)) +
                                " stays float: 4-bit rows pack two values a byte and need an even width");
      return false;
    }
    return true;
  }

  // aten::embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse). padding_idx and the rest
  // only shape gradients. The kernels take 1-D or 2-D indices, so the indices go in flat and the output is
  // shaped back to indices.shape + [dim].
  void rewriteLookup(torch::jit::Node* node) {
    std::string whyNot;
    const torch::Tensor table = constantTable(node->input(0), whyNot);
    const std::string what = "an embedding lookup";
    if (!table.defined()) {
      result_.skipped.push_back(what + " stays float: " + whyNot);
      return;
    }
    if (!tableFits(table, what)) return;
    torch::jit::WithInsertPoint insert(node);
    torch::jit::Value* indices = node->input(1);
    torch::jit::Value* packed = packedRows(table);
    torch::jit::Value* flat = graph_->insert(c10::aten::flatten, {indices});
    torch::jit::Value* rows = graph_->insert(
        weights_ == EmbeddingWeights::Int8 ? kEmbeddingByte : kEmbedding4Bit, {packed, flat, false});
    torch::jit::Value* shape =
        graph_->insert(c10::aten::add, {graph_->insert(c10::aten::size, {indices}),
                                        graph_->insertConstant(std::vector<int64_t>{table.size(1)})});
    torch::jit::Value* output = graph_->insert(c10::aten::reshape, {rows, shape});
    output->setType(node->output()->type());
    node->output()->replaceAllUsesWith(output);
    node->destroy();
    ++result_.lookups;
  }

  // aten::embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, sparse, per_sample_weights,
  // include_last_offset[, padding_idx]) -> (output, offset2bag, bag_size, max_indices). LibTorch's quantized
  // bag kernels compute sums correctly but not means or maxima, so only sum bags without per-sample weights
  // or a padding index (which the float op leaves out of the sum) are rewritten.
  void rewriteBag(torch::jit::Node* node) {
    const std::string what = "an embedding bag";
    if (node->inputs().size() < 8) return;
    std::string whyNot;
    const torch::Tensor table = constantTable(node->input(0), whyNot);
    const auto mode = torch::jit::toIValue(node->input(4));
    if (!table.defined()) {
    } else if (!mode || !mode->isInt() || mode->toInt() != 0) {
      whyNot = "LibTorch's quantized bag kernels compute only mode='sum' correctly";
    } else if (!isNoneOrNegative(node->input(6))) {
      whyNot = "it has per-sample weights";
    } else if (node->inputs().size() > 8 && !isNoneOrNegative(node->input(8))) {
      whyNot = "it has a padding index";
    } else {
      for (size_t i = 1; i < node->outputs().size(); ++i)
        if (node->output(i)->hasUses()) whyNot = "the graph uses more than the bag sums";
    }
    if (!whyNot.empty()) {
      result_.skipped.push_back(what + " stays float: " + whyNot);
      return;
    }
    if (!tableFits(table, what)) return;
    torch::jit::WithInsertPoint insert(node);
    torch::jit::Value* packed = packedRows(table);
    torch::jit::Value* none = graph_->insertConstant(c10::IValue());
    torch::jit::Value* sums =
        graph_->insert(weights_ == EmbeddingWeights::Int8 ? kEmbeddingBagByte : kEmbeddingBag4Bit,
                       {packed, node->input(1), node->input(2), node->input(3), node->input(4),
                        /*pruned_weights=*/false, none, none, node->input(7)});
    sums->setType(node->output(0)->type());
    node->output(0)->replaceAllUsesWith(sums);
    node->destroy();
    ++result_.bags;
  }

  torch::jit::Module& frozen_;
  EmbeddingWeights weights_;
  std::shared_ptr<torch::jit::Graph> graph_;
  EmbeddingRewrite result_;
};

bool isEmbeddingLayer(const LayerQuantization& layer) {
  return layer.opKind == "Embedding" || layer.opKind == "EmbeddingBag";
}

}  // namespace

ParamSpec embeddingsParam() {
  return {"embeddings",
          ParamType::Choice,
          "float",
          0,
          0,
          {"float", "int8", "4bit"},
          "Embedding tables, weight-only: float (as quantize_dynamic), int8 or 4bit rows with a float scale "
          "and offset per row, looked up on LibTorch's quantized embedding kernels."};
}

EmbeddingWeights parseEmbeddingWeights(const std::string& text) {
  if (text == "float") return EmbeddingWeights::Float;
  if (text == "int8") return EmbeddingWeights::Int8;
  if (text == "4bit") return EmbeddingWeights::FourBit;
  throw Error("embeddings=" + text + " is not one of: float, int8, 4bit.",
              "int8 and 4bit quantize embedding rows weight-only; float keeps them as they are.");
}

EmbeddingWeights embeddingWeightsOf(const ParamValues& params) {
  const auto found = params.find("embeddings");
  return found == params.end() ? EmbeddingWeights::Float : parseEmbeddingWeights(found->second);
}

std::string toString(EmbeddingWeights weights) {
  switch (weights) {
    case EmbeddingWeights::Float:
      return "float";
    case EmbeddingWeights::Int8:
      return "int8";
    case EmbeddingWeights::FourBit:
      return "4bit";
  }
  return "?";
}

EmbeddingRewrite quantizeEmbeddings(torch::jit::Module& frozen, EmbeddingWeights weights) {
  if (weights == EmbeddingWeights::Float) return {};
  try {
    return Rewriter(frozen, weights).run();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("Quantizing the embedding tables (embeddings=" + toString(weights) +
                    ") failed in LibTorch: " + std::string(e.what()).substr(0, 400),
                "embeddings=float keeps them float.");
  }
}

void describeEmbeddingLayers(std::vector<LayerQuantization>& layers, EmbeddingWeights weights) {
  for (LayerQuantization& layer : layers) {
    if (!isEmbeddingLayer(layer)) continue;
    if (layer.quantized) {
      const bool bag = layer.opKind == "EmbeddingBag";
      const bool int8 = weights == EmbeddingWeights::Int8;
      layer.weightBits = int8 ? 0 : 4;  // 0 reads as the technique's int8
      layer.scheme = std::string("weight-only ") + (int8 ? "int8" : "4-bit") +
                     " rows on quantized::" + (bag ? "embedding_bag_" : "embedding_") +
                     (int8 ? "byte" : "4bit") + ", output float: " + layer.scheme;
    } else if (weights == EmbeddingWeights::Float) {
      layer.scheme =
          "stays float: embeddings=float (as quantize_dynamic); embeddings=int8 or 4bit quantizes its rows "
          "weight-only";
    } else {
      layer.scheme = "stays float: its lookup could not be rewritten (the notes say why)";
    }
  }
}

std::string embeddingNote(const EmbeddingRewrite& rewrite, EmbeddingWeights weights) {
  if (rewrite.lookups + rewrite.bags == 0 && rewrite.skipped.empty()) return {};
  std::string note =
      std::to_string(rewrite.lookups + rewrite.bags) + " embedding lookup(s) run on " +
      (weights == EmbeddingWeights::Int8 ? "int8" : "4-bit") +
      " rows, weight-only (per-row float scale and offset, as float_qparams_weight_only_qconfig" +
      (weights == EmbeddingWeights::Int8 ? "" : "_4bit") + "; output float)";
  if (rewrite.bags > 0) note += ", " + std::to_string(rewrite.bags) + " of them sum bags";
  note += ".";
  for (const auto& skipped : rewrite.skipped) note += " Not rewritten: " + skipped + ".";
  return note;
}

}  // namespace quantscope
