// Quantization-aware training, as torch.ao.quantization's prepare_qat + convert with the recipe's QAT
// qconfig: fake quantization where `fx` puts int8, fine-tuning on the training data, conversion through
// the same graph passes with the learned activation ranges.
#include "core/techniques/quantization_aware_training.h"

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/params/param_values.h"
#include "core/quant/fake_quant.h"
#include "core/quant/post_training_pipeline.h"
#include "core/training/fake_quant_training.h"
#include "core/training/training_options.h"

namespace quantscope {

std::vector<ParamSpec> quantizationAwareTrainingParams() {
  std::vector<ParamSpec> params = recipeAndEngineParams();
  params.push_back(
      {"freeze_observer_epoch",
       ParamType::Int,
       "2",
       0,
       1000,
       {},
       "From this epoch on, activation ranges stop updating (PyTorch's disable_observer), so the last "
       "epochs train against the ranges the int8 model will use."});
  params.push_back(
      {"freeze_bn_epoch",
       ParamType::Int,
       "2",
       0,
       1000,
       {},
       "Until this epoch, batch norms normalize each batch and update their statistics; from it on they "
       "are frozen and folded into the convolutions (PyTorch's freeze_bn_stats), so the last epochs "
       "train exactly the int8 model's folded weights. 0 folds them before training."});
  for (auto& p : trainingParams("epochs", 3, 1e-4)) params.push_back(std::move(p));
  return params;
}

QuantizationOutcome runQuantizationAwareTraining(const Model& model, const ParamValues& params,
                                                 const TechniqueContext& context) {
  const Progress& progress = context.progress;
  const Dataset& data = requireTrainingData(
      context, model, "qat", "Choose training data (e.g. digits:train) as calibration/training data.");
  const TrainingOptions options = trainingOptionsFrom(params);
  const int64_t freezeObserverEpoch = TypedParams(params).integer("freeze_observer_epoch");
  const int freezeBatchNormEpoch = static_cast<int>(TypedParams(params).integer("freeze_bn_epoch"));
  const TrainingData split = splitTrainingData(data, options, /*needsLabels=*/true, "qat");

  progress.update("Inserting fake quantization", 0.0);
  FakeQuantSession session = startFakeQuantSession(model.impl().module, params, freezeBatchNormEpoch > 0);
  // The session trains its own copy; the fp32 baseline runs on a clone too, since predict() switches the
  // module it is given between modes and the caller's model must not change at all.
  torch::jit::Module original = model.clone().impl().module;
  const double fp32Validation =
      topOneAccuracy(predict(original, split.validationInputs), split.validationLabels);
  TrainingHooks hooks;
  hooks.beforeEpoch = [&](int epoch) {
    setActivationObserversEnabled(session.observed, epoch < freezeObserverEpoch);
  };
  TrainingCurve curve = trainWithFakeQuant(session, split, options, hooks, "qat", freezeBatchNormEpoch,
                                           progress.part(0.0, 0.9));

  ConvertedModel converted =
      convertAndDescribe(session, model, split, "qat", params, "qat", progress.part(0.9, 1.0));
  QuantizationOutcome outcome = std::move(converted.outcome);
  outcome.trainingCurve = std::move(curve);
  if (fp32Validation >= 0) {
    outcome.figures.insert(outcome.figures.begin(),
                           {"qat", "fp32 validation top-1 (before training)", fp32Validation, "%"});
  }
  outcome.figures.push_back({"qat", "seconds per epoch", secondsPerEpoch(outcome.trainingCurve, "qat"), "s"});
  outcome.notes.insert(
      outcome.notes.begin(),
      "Trained " + std::to_string(options.epochs) + " epochs on " +
          std::to_string(split.trainInputs.size(0)) + " samples of " + split.name + " (" +
          std::to_string(split.validationInputs.size(0)) +
          " held out for validation) with fake quantization where fx puts int8; " +
          (freezeBatchNormEpoch > 0
               ? "batch norms live for " + std::to_string(std::min(freezeBatchNormEpoch, options.epochs)) +
                     " epoch(s), then frozen and folded into the convolutions; "
               : std::string("batch norms folded into the convolutions before training; ")) +
          "activation ranges frozen from epoch " + std::to_string(freezeObserverEpoch + 1) + ".");
  if (converted.fakeQuantValidationTop1 >= 0 && converted.int8ValidationTop1 >= 0) {
    char text[200];
    std::snprintf(
        text, sizeof(text),
        "Validation top-1: fake-quant %.2f %% just before conversion, int8 %.2f %% after (%+.2f pt).",
        converted.fakeQuantValidationTop1, converted.int8ValidationTop1,
        converted.int8ValidationTop1 - converted.fakeQuantValidationTop1);
    outcome.notes.insert(outcome.notes.begin() + 1, text);
  }
  return outcome;
}

TechniqueDescriptor quantizationAwareTrainingTechnique() {
  TechniqueDescriptor d;
  d.name = "qat";
  d.listPosition = 3;
  d.apiFunction = "quantization_aware_training";
  d.displayName = "Quantization-aware training";
  d.summary =
      "Fine-tunes with simulated int8 (fake quantization where fx puts int8) so the model adapts, then "
      "converts to int8 kernels. Trains on the training data (labels needed).";
  d.params = quantizationAwareTrainingParams();
  d.layerTypes = convAndLinearTypes();
  d.available = true;
  d.needsCalibration = true;
  d.trains = true;
  d.run = runQuantizationAwareTraining;
  return d;
}

namespace {
const TechniqueRegistration registration(quantizationAwareTrainingTechnique);
}  // namespace

}  // namespace quantscope
