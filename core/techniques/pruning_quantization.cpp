// Pruning-aware quantization: magnitude pruning of Conv/Linear weights (single weights or whole output
// channels, per layer or global, one-shot or gradual), fine-tuning with the masks kept and fake
// quantization on, then int8 through the graph passes. Channel pruning really removes channels.
#include "core/techniques/pruning_quantization.h"

#include <zlib.h>

#include <cmath>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"
#include "core/params/param_values.h"
#include "core/pruning/channel_removal.h"
#include "core/pruning/pruning_masks.h"
#include "core/quant/fake_quant.h"
#include "core/quant/post_training_pipeline.h"
#include "core/training/fake_quant_training.h"
#include "core/training/training_options.h"

namespace quantscope {

std::vector<ParamSpec> pruningQuantizationParams() {
  std::vector<ParamSpec> params{
      {"pruning_rate",
       ParamType::Float,
       "0.5",
       0.0,
       0.99,
       {},
       "Fraction of weights (unstructured) or output channels (channels) set to zero."},
      {"structure",
       ParamType::Choice,
       "unstructured",
       0,
       0,
       {"unstructured", "channels"},
       "unstructured: single weights (smaller download, not faster on these kernels); channels: whole output "
       "channels, removed from the model where the next layer allows (smaller and faster)."},
      {"scope",
       ParamType::Choice,
       "global",
       0,
       0,
       {"global", "layer"},
       "global: the smallest weights of the whole model (small, sensitive layers lose less); layer: every "
       "layer "
       "loses pruning_rate of its weights."},
      {"schedule",
       ParamType::Choice,
       "one_shot",
       0,
       0,
       {"one_shot", "gradual"},
       "one_shot prunes before fine-tuning; gradual raises sparsity on a cubic schedule during fine-tuning."},
  };
  for (auto& p : recipeAndEngineParams()) params.push_back(std::move(p));
  for (auto& p : trainingParams("finetune_epochs", 2, 1e-4)) params.push_back(std::move(p));
  return params;
}

namespace {

// What the archive costs to download: zeros compress, dense values do not (zlib, default level).
int64_t compressedBytes(const std::string& bytes) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size()));
  std::vector<Bytef> out(size);
  if (compress(out.data(), &size, reinterpret_cast<const Bytef*>(bytes.data()),
               static_cast<uLong>(bytes.size())) != Z_OK) {
    return -1;
  }
  return static_cast<int64_t>(size);
}

// The int8 weight tensors of a converted model, keyed as LayerQuantization::packedAs names them.
std::map<std::string, torch::Tensor> int8Weights(const torch::jit::Module& quantized) {
  std::map<std::string, torch::Tensor> found;
  for (const auto& record : collectParameters(quantized)) {
    if (!record.tensor.is_quantized()) continue;
    found[packedLayerPath(record)] = record.tensor;
  }
  return found;
}

int64_t nonZeroInt8(const torch::Tensor& q) {
  const torch::Tensor values = q.int_repr().to(torch::kLong);
  if (q.qscheme() == at::kPerTensorAffine || q.qscheme() == at::kPerTensorSymmetric) {
    return values.ne(q.q_zero_point()).sum().item<int64_t>();
  }
  std::vector<int64_t> shape(size_t(values.dim()), 1);
  shape[size_t(q.q_per_channel_axis())] = -1;
  return values.ne(q.q_per_channel_zero_points().reshape(shape)).sum().item<int64_t>();
}

}  // namespace

QuantizationOutcome runPruningQuantization(const Model& model, const ParamValues& params,
                                           const TechniqueContext& context) {
  const Progress& progress = context.progress;
  const Dataset& data = requireTrainingData(
      context, model, "pruning", "Choose training data (e.g. digits:train) as calibration/training data.");
  const TypedParams p(params);
  const TrainingOptions options = trainingOptionsFrom(params, "finetune_epochs");
  const double rate = p.number("pruning_rate");
  const PruningStructure structure =
      p.text("structure") == "channels" ? PruningStructure::Channels : PruningStructure::Unstructured;
  const PruningScope scope = p.text("scope") == "global" ? PruningScope::Global : PruningScope::Layer;
  const bool gradual = p.text("schedule") == "gradual" && options.epochs > 0;
  const TrainingData split = splitTrainingData(data, options, /*needsLabels=*/options.epochs > 0, "pruning");

  progress.update("Folding batch norms, inserting fake quantization", 0.0);
  FakeQuantSession session = startFakeQuantSession(model.impl().module, params);
  trainableParameters(session.observed);
  calibrateActivationRanges(session.observed, split.trainInputs);
  const std::map<std::string, ChannelRemovalPlan> plans = planChannelRemoval(session.observed);
  std::set<std::string> removable;
  for (const auto& [name, plan] : plans) {
    if (plan.removable) removable.insert(name);
  }
  PruningMasks masks(session.observed, structure, scope, removable);
  const bool labelled = split.validationLabels.defined() && split.validationInputs.size(0) > 0;
  const double beforeTop1 =
      labelled ? topOneAccuracy(predict(session.observed, split.validationInputs), split.validationLabels)
               : -1;
  if (!gradual) {
    masks.prune(rate);
    masks.apply();
  }
  const double prunedTop1 =
      labelled ? topOneAccuracy(predict(session.observed, split.validationInputs), split.validationLabels)
               : -1;

  TrainingHooks hooks;
  hooks.afterStep = [&](int64_t step, int64_t totalSteps) {
    // Masks follow the schedule in about 50 updates: ranking all weights every step would cost more than it
    // buys.
    const int64_t updateEvery = std::max<int64_t>(1, totalSteps / 50);
    if (gradual && (step % updateEvery == 0 || step == totalSteps))
      masks.prune(gradualPruningRate(rate, step, totalSteps));
    masks.apply();
  };
  TrainingCurve curve;
  if (options.epochs > 0)
    curve = trainModule(session.observed, split, options, hooks, "pruning", progress.part(0.0, 0.85));

  // Channels whose masks are zero leave the model for real where the next layer allows.
  std::map<std::string, int64_t> removedChannels;
  if (structure == PruningStructure::Channels) {
    progress.update("Removing pruned channels", 0.86);
    for (const auto& layer : masks.layers()) {
      const std::vector<int64_t> channels = masks.prunedChannels(layer);
      removeChannels(plans.at(layer.name), channels);
      removedChannels[layer.name] = static_cast<int64_t>(channels.size());
    }
  }

  ConvertedModel converted =
      convertAndDescribe(session, model, split, "pruning", params, "pruning", progress.part(0.87, 0.97));
  QuantizationOutcome outcome = std::move(converted.outcome);
  outcome.trainingCurve = std::move(curve);

  // Sparsity per layer, against the weights the layer had before pruning: zeros in the float weights, and
  // int8 values equal to the zero point (a removed channel counts as pruned in both).
  const auto quantizedWeights = int8Weights(outcome.model.impl().module);
  int64_t prunedTotal = 0, weightTotal = 0, int8PrunedTotal = 0;
  for (const auto& layer : masks.layers()) {
    const torch::Tensor weight = layer.module.attr("weight").toTensor();
    const int64_t nonZero = weight.ne(0).sum().item<int64_t>();
    for (auto& row : outcome.layers) {
      if (row.layer != layer.name) continue;
      row.sparsity = 1.0 - double(nonZero) / double(layer.originalWeights);
      row.channelsRemoved = removedChannels.count(layer.name) ? removedChannels[layer.name] : 0;
      const auto q = quantizedWeights.find(row.packedAs);
      if (q != quantizedWeights.end()) {
        const int64_t int8NonZero = nonZeroInt8(q->second);
        row.int8Sparsity = 1.0 - double(int8NonZero) / double(layer.originalWeights);
        int8PrunedTotal += layer.originalWeights - int8NonZero;
      }
      char text[160];
      std::snprintf(text, sizeof(text), "; pruned %.1f %% of weights", 100.0 * row.sparsity);
      row.scheme += text;
      if (row.channelsRemoved) {
        row.scheme += ", " + std::to_string(row.channelsRemoved) + " of " +
                      std::to_string(layer.originalChannels) + " output channels removed";
      }
    }
    prunedTotal += layer.originalWeights - nonZero;
    weightTotal += layer.originalWeights;
  }
  if (structure == PruningStructure::Channels) {
    for (auto& row : outcome.layers) {
      const auto plan = plans.find(row.layer);
      if (plan != plans.end() && !plan->second.removable)
        row.scheme += "; channels kept: " + plan->second.reason;
    }
  }
  const std::string original = model.serialize(), pruned = outcome.model.serialize();
  auto& figures = outcome.figures;
  if (beforeTop1 >= 0) {
    figures.insert(figures.begin(),
                   {{"pruning", "fake-quant validation top-1 before pruning", beforeTop1, "%"},
                    {"pruning",
                     gradual ? "fake-quant validation top-1 before fine-tuning (unpruned)"
                             : "fake-quant validation top-1 after pruning, before fine-tuning",
                     prunedTop1, "%"}});
  }
  figures.push_back(
      {"pruning", "weights pruned (fp32)", 100.0 * double(prunedTotal) / double(weightTotal), "%"});
  figures.push_back({"pruning", "int8 weights equal to the zero point",
                     100.0 * double(int8PrunedTotal) / double(weightTotal), "%"});
  figures.push_back({"size", "original archive, zlib-compressed", double(compressedBytes(original)), "B"});
  figures.push_back({"size", "pruned int8 archive", double(pruned.size()), "B"});
  figures.push_back({"size", "pruned int8 archive, zlib-compressed", double(compressedBytes(pruned)), "B"});
  if (options.epochs > 0)
    figures.push_back(
        {"pruning", "seconds per epoch", secondsPerEpoch(outcome.trainingCurve, "pruning"), "s"});

  char summary[400];
  std::snprintf(
      summary, sizeof(summary),
      "Pruned %.1f %% of the Conv/Linear weights (%s, %s scope, %s), fine-tuned %d epochs with fake "
      "quantization and the masks kept.",
      100.0 * double(prunedTotal) / double(weightTotal),
      structure == PruningStructure::Channels ? "whole output channels" : "single weights by magnitude",
      scope == PruningScope::Global ? "global" : "per-layer", gradual ? "gradual cubic schedule" : "one-shot",
      options.epochs);
  outcome.notes.insert(outcome.notes.begin(), summary);
  if (structure == PruningStructure::Unstructured) {
    outcome.notes.insert(
        outcome.notes.begin() + 1,
        "Unstructured sparsity does not make these int8 kernels faster (they multiply the zeros); "
        "it makes the file compress better. Use structure=channels for speed.");
  } else {
    int64_t removed = 0;
    for (const auto& [name, count] : removedChannels) removed += count;
    outcome.notes.insert(outcome.notes.begin() + 1,
                         std::to_string(removed) + " output channels removed from " +
                             std::to_string(masks.layers().size()) +
                             " layers; layers whose output feeds a residual "
                             "add, the model output or another operation keep theirs (see the layer table).");
  }
  if (options.epochs == 0)
    outcome.notes.push_back("finetune_epochs=0: no fine-tuning; this shows what pruning costs by itself.");
  return outcome;
}

TechniqueDescriptor pruningQuantizationTechnique() {
  TechniqueDescriptor d;
  d.name = "pruning";
  d.listPosition = 6;
  d.apiFunction = "pruning_aware_quantization";
  d.displayName = "Pruning-aware quantization";
  d.summary =
      "Prunes the smallest weights or whole channels, fine-tunes with fake quantization and the masks kept, "
      "then quantizes to int8. Trains on the training data (labels needed).";
  d.params = pruningQuantizationParams();
  d.layerTypes = convAndLinearTypes();
  d.available = true;
  d.needsCalibration = true;
  d.trains = true;
  d.run = runPruningQuantization;
  return d;
}

namespace {
const TechniqueRegistration registration(pruningQuantizationTechnique);
}  // namespace

}  // namespace quantscope
