// Mirrors torch.ao.quantization.quantize_dynamic_jit: InsertObservers (DYNAMIC) -> InsertQuantDeQuant ->
// Finalize, so the Linear layers end up as quantized::linear_dynamic with prepacked int8 weights. Then what
// those passes leave float: LSTM/GRU calls are rewritten to aten::quantized_lstm / quantized_gru
// (core/quant/dynamic_rnn), transformer encoder layers get an int8 forward of their own
// (core/quant/dynamic_transformer), and embeddings become weight-only int8/4-bit on request.
#include "core/techniques/dynamic_quantization.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include "core/errors.h"
#include "core/internal/dynamic_rnn.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/internal/observers.h"
#include "core/internal/qconfig_recipe.h"
#include "core/internal/weight_report.h"
#include "core/quant/dynamic_transformer.h"
#include "core/quant/embedding_quantization.h"
#include "core/runtime/runtime_info.h"

namespace quantscope {
namespace {

// FBGEMM alone has fp16 dynamic kernels; ask the build instead of assuming.
void requireFp16DynamicKernels() {
  try {
    torch::jit::Stack stack{torch::randn({4, 4}), c10::IValue()};
    c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack_fp16", "").callBoxed(&stack);
  } catch (const std::exception& e) {
    throw Error(
        "float16 dynamic quantization is not available in this LibTorch build: its fp16 kernels "
        "(quantized::linear_prepack_fp16 / linear_dynamic_fp16) come with FBGEMM, and this build has "
        "only the " +
            bestQuantizedEngine() + " and qnnpack engines (" + shortTorchMessage(e) + ").",
        "Use dtype=qint8.");
  }
}

// The kernels take reduce_range as an argument; the recipe decides it, as nn.quantized.dynamic.Linear does.
int setReduceRange(const std::shared_ptr<torch::jit::Graph>& graph, bool reduceRange) {
  int kernels = 0;
  forEachNode(graph, [&](torch::jit::Node* node) {
    if (node->kind() != c10::Symbol::fromQualString("quantized::linear_dynamic") &&
        node->kind() != c10::Symbol::fromQualString("quantized::linear_relu_dynamic"))
      return;
    ++kernels;
    if (node->inputs().size() < 3) return;
    torch::jit::WithInsertPoint insertPoint(node);
    node->replaceInput(2, graph->insertConstant(reduceRange));
  });
  return kernels;
}

}  // namespace

std::vector<ParamSpec> dynamicQuantizationParams() {
  return {
      {"dtype",
       ParamType::Choice,
       "qint8",
       0,
       0,
       {"qint8", "float16"},
       "Weight type. qint8: int8 weights and per-batch int8 activations. float16 needs FBGEMM's fp16 "
       "kernels."},
      qconfigParam(
          "Numerics recipe. fbgemm/x86 quantize activations to 7 bits (reduce_range), as PyTorch does for "
          "them; qnnpack/onednn use the full 8 bits. The kernels run on the best engine this LibTorch has."),
      engineParam(),
      {"weight_granularity",
       ParamType::Choice,
       "per_tensor",
       0,
       0,
       {"per_tensor", "per_channel"},
       "per_tensor: one scale per weight, as quantize_dynamic's default qconfig. per_channel: one scale per "
       "output row (usually more accurate)."},
      embeddingsParam(),
  };
}

QuantizationOutcome runDynamicQuantization(const Model& model, const ParamValues& params,
                                           const TechniqueContext& context) {
  const Progress& progress = context.progress;
  const QConfigRecipe& recipe = qconfigRecipe(params.at("qconfig"));
  if (params.at("dtype") == "float16") requireFp16DynamicKernels();
  const bool perChannel = params.at("weight_granularity") == "per_channel";
  const EmbeddingWeights embeddings = embeddingWeightsOf(params);
  configureRuntime(0);
  useQuantizedEngine(params.at("engine"));
  const RuntimeInfo runtime = currentRuntimeInfo();

  progress.update("Inserting observers", 0.1);
  torch::jit::Module source = model.impl().module.clone();
  source.eval();
  // Transformer encoder layers get an int8 forward of their own (LibTorch's fused one would stay float).
  const RoutedTransformerLayers transformerLayers =
      routeTransformerLayersToInt8(source, {perChannel, recipe.reduceRangeActivations});
  ObserverSettings weightObserver;
  weightObserver.dtype = kQInt8Code;
  weightObserver.perChannel = perChannel;
  torch::jit::QConfigDict qconfigs{
      {"", torch::jit::QConfig(makeDynamicPlaceholderObserver(recipe.reduceRangeActivations),
                               makeMinMaxObserver(weightObserver))}};
  torch::jit::Module quantized;
  try {
    torch::jit::Module observed = torch::jit::InsertObservers(source, "forward", qconfigs, /*inplace=*/false,
                                                              torch::jit::QuantType::DYNAMIC);
    progress.update("Quantizing weights", 0.4);
    torch::jit::Module withQuantOps =
        torch::jit::InsertQuantDeQuant(observed, "forward", /*inplace=*/false,
                                       /*debug=*/false, torch::jit::QuantType::DYNAMIC);
    progress.update("Packing int8 weights for " + runtime.quantizedEngine, 0.7);
    quantized = torch::jit::Finalize(withQuantOps, torch::jit::QuantType::DYNAMIC);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("Dynamic quantization failed in LibTorch's graph passes: " + shortTorchMessage(e));
  }
  auto graph = quantized.get_method("forward").graph();
  torch::jit::ConstantPropagation(graph);
  keepTransformerWeightsAsAttributes(quantized, transformerLayers);
  const int rnnLayers = quantizeRnnLayers(quantized, {perChannel, recipe.reduceRangeActivations});
  const EmbeddingRewrite embeddingRewrite = quantizeEmbeddings(quantized, embeddings);
  torch::jit::EliminateDeadCode(graph);
  const int kernels = setReduceRange(graph, recipe.reduceRangeActivations) + rnnLayers +
                      embeddingRewrite.lookups + embeddingRewrite.bags;

  const std::string json =
      QJsonDocument(QJsonObject{{"technique", "dynamic"},
                                {"recipe", QString::fromStdString(recipe.name)},
                                {"engine", QString::fromStdString(runtime.quantizedEngine)},
                                {"dtype", QString::fromStdString(params.at("dtype"))},
                                {"embeddings", QString::fromStdString(toString(embeddings))}})
          .toJson(QJsonDocument::Compact)
          .toStdString();
  QuantizationOutcome outcome{
      makeDerivedModel(quantized, model, "dynamic " + params.at("dtype"), runtime.quantizedEngine, json),
      "dynamic",
      params,
      recipe.name,
      runtime.quantizedEngine,
      {},
      {},
      false};
  outcome.layers = reportWeightQuantization(model.impl().module, quantized,
                                            {"Linear", "LSTM", "GRU", "NonDynamicallyQuantizableLinear"});
  describeEmbeddingLayers(outcome.layers, embeddings);
  describeRoutedTransformerLayers(transformerLayers, outcome);
  recordLayerNames(outcome.model, outcome.layers);
  for (auto& layer : outcome.layers) {
    if (!layer.quantized && (layer.opKind == "LSTM" || layer.opKind == "GRU")) {
      layer.scheme =
          "stays float: QuantScope moves " + layer.opKind +
          " calls of the forward graph onto LibTorch's quantized RNN kernels "
          "(aten::quantized_lstm / quantized_gru), and this layer's call was not one it could move";
    }
  }
  if (kernels == 0) {
    throw Error(
        "The model has no Linear layer that dynamic quantization can quantize; nothing was written.",
        "Dynamic quantization acts on Linear layers; for convolutions use static or fx quantization.");
  }
  const auto runsInt8 = std::count_if(outcome.layers.begin(), outcome.layers.end(),
                                      [](const LayerQuantization& l) { return l.quantized; });
  if (const std::string note = embeddingNote(embeddingRewrite, embeddings); !note.empty())
    outcome.notes.push_back(note);
  if (rnnLayers > 0) {
    outcome.notes.push_back(std::to_string(rnnLayers) +
                            " LSTM/GRU layer(s) run on LibTorch's quantized RNN kernels "
                            "(aten::quantized_lstm / quantized_gru, int8 weights, dynamic activations).");
  }
  outcome.notes.push_back(std::to_string(runsInt8) + " layer(s) run int8; " + std::to_string(kernels) +
                          " int8 dynamic op(s) in the graph (" + recipe.name + " recipe on " +
                          runtime.quantizedEngine + " kernels, activations " +
                          (recipe.reduceRangeActivations ? "7-bit reduce_range" : "8-bit") + ").");
  progress.update("Quantized", 1.0);
  return outcome;
}

TechniqueDescriptor dynamicQuantizationTechnique() {
  TechniqueDescriptor d;
  d.name = "dynamic";
  d.listPosition = 1;
  d.apiFunction = "dynamic_quantization";
  d.displayName = "Dynamic quantization";
  d.summary = "int8 weights; activations quantized per batch at run time. No calibration data needed.";
  d.params = dynamicQuantizationParams();
  d.layerTypes = {"Linear", "LSTM", "GRU", "Embedding", "EmbeddingBag"};
  d.available = true;
  d.needsCalibration = false;
  d.trains = false;
  d.run = runDynamicQuantization;
  return d;
}

namespace {
const TechniqueRegistration registration(dynamicQuantizationTechnique);
}  // namespace

}  // namespace quantscope
