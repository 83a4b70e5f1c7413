#include "core/training/fake_quant_training.h"

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/params/param_values.h"
#include "core/quant/fake_quant.h"
#include "core/quant/int8_outcome.h"

namespace quantscope {

const Dataset& requireTrainingData(const TechniqueContext& context, const Model& model,
                                   const std::string& technique, const std::string& hint) {
  const Dataset* data = context.training();
  if (!data) throw Error("'" + technique + "' trains and needs training data; none was given.", hint);
  data->checkFits(model);
  return *data;
}

FakeQuantSession startFakeQuantSession(const torch::jit::Module& module, const ParamValues& params,
                                       bool batchNormsLive) {
  const TypedParams p(params);
  FakeQuantSession session;
  session.recipe = &qconfigRecipe(p.text("qconfig"));
  configureRuntime(0);
  useQuantizedEngine(p.text("engine"));  // weights are packed for the engine active at conversion
  session.runtime = currentRuntimeInfo();
  session.source = dedupedFloatCopy(module);
  session.batchNormsLive = batchNormsLive;
  session.observed =
      insertFakeQuant(batchNormsLive ? session.source : foldedFloatCopy(session.source), *session.recipe);
  return session;
}

void calibrateActivationRanges(torch::jit::Module& observed, const torch::Tensor& inputs) {
  torch::NoGradGuard noGrad;
  observed.eval();
  std::vector<std::pair<torch::jit::Module, bool>> observers;
  for (auto& o : fakeQuantObservers(observed)) {
    observers.emplace_back(o, o.attr("observer_enabled").toBool());
    o.setattr("training", true);
    o.setattr("observer_enabled", true);
  }
  for (int64_t start = 0; start < std::min<int64_t>(inputs.size(0), 256); start += 32) {
    observed.forward({inputs.slice(0, start, std::min(inputs.size(0), start + 32))});
  }
  for (auto& [o, enabled] : observers) {
    o.setattr("training", false);
    o.setattr("observer_enabled", enabled);
  }
}

void freezeBatchNorms(FakeQuantSession& session, const torch::Tensor& calibrationInputs) {
  if (!session.batchNormsLive) return;
  torch::jit::Module trained = session.source.clone();
  std::map<std::string, torch::Tensor> learned;
  for (const auto& p : session.observed.named_parameters()) learned[p.name] = p.value;
  for (const auto& b : session.observed.named_buffers()) learned[b.name] = b.value;
  {
    torch::NoGradGuard noGrad;
    for (const auto& p : trained.named_parameters()) p.value.copy_(learned.at(p.name));
    for (const auto& b : trained.named_buffers()) b.value.copy_(learned.at(b.name));
  }
  session.observed = insertFakeQuant(foldedFloatCopy(trained), *session.recipe);
  session.batchNormsLive = false;
  calibrateActivationRanges(session.observed, calibrationInputs);
}

TrainingCurve trainWithFakeQuant(FakeQuantSession& session, const TrainingData& data,
                                 const TrainingOptions& options, const TrainingHooks& hooks,
                                 const std::string& series, int freezeBatchNormEpoch,
                                 const Progress& progress) {
  const int liveEpochs = session.batchNormsLive ? std::clamp(freezeBatchNormEpoch, 0, options.epochs) : 0;
  const double share = options.epochs ? double(liveEpochs) / options.epochs : 0.0;
  TrainingCurve curve = trainModule(session.observed, data, options, hooks, series, progress.part(0.0, share),
                                    EpochRange{0, liveEpochs, 0.0});
  progress.update("Folding batch norms into the trained convolutions", share);
  freezeBatchNorms(session, data.trainInputs);
  const TrainingCurve folded =
      trainModule(session.observed, data, options, hooks, series, progress.part(share, 1.0),
                  EpochRange{liveEpochs, options.epochs, curve.empty() ? 0.0 : curve.back().elapsedSeconds});
  curve.insert(curve.end(), folded.begin(), folded.end());
  // With no epoch at all, activation ranges come from calibration instead (folding calibrates them too).
  if (options.epochs == 0 && liveEpochs == 0) calibrateActivationRanges(session.observed, data.trainInputs);
  return curve;
}

torch::jit::Module trainedFloatModel(const torch::jit::Module& observed) {
  torch::jit::Module copy = observed.clone();
  setFakeQuantEnabled(copy, false);
  return copy;
}

ConvertedModel convertAndDescribe(const FakeQuantSession& session, const Model& original,
                                  const TrainingData& data, const std::string& technique,
                                  const ParamValues& params, const std::string& figureGroup,
                                  const Progress& progress) {
  torch::jit::Module observed = session.observed;
  const bool validate = data.validationInputs.defined() && data.validationInputs.size(0) > 0;
  double fakeQuantTop1 = -1;
  if (validate && data.validationLabels.defined()) {
    progress.update("Measuring fake-quant accuracy before conversion", 0.1);
    fakeQuantTop1 = topOneAccuracy(predict(observed, data.validationInputs), data.validationLabels);
  }
  progress.update("Converting to int8 kernels on " + session.runtime.quantizedEngine, 0.4);
  torch::jit::Module quantized = convertFakeQuant(observed, data.trainInputs.slice(0, 0, 1));
  Int8ModelSource source;
  source.original = &original;
  source.floatReference = trainedFloatModel(observed);
  source.quantized = quantized;
  source.technique = technique;
  source.params = params;
  source.recipe = session.recipe;
  source.engine = session.runtime.quantizedEngine;
  source.sampleInputs = data.trainInputs.slice(0, 0, 32);
  progress.update("Comparing each layer's output with the trained float model", 0.7);
  ConvertedModel converted{describeInt8Model(source)};
  converted.fakeQuantValidationTop1 = fakeQuantTop1;
  if (validate) {
    converted.int8ValidationOutputs = predict(quantized, data.validationInputs);
    if (data.validationLabels.defined()) {
      converted.int8ValidationTop1 = topOneAccuracy(converted.int8ValidationOutputs, data.validationLabels);
      auto& figures = converted.outcome.figures;
      figures.push_back({figureGroup, "fake-quant validation top-1 (before conversion)",
                         converted.fakeQuantValidationTop1, "%"});
      figures.push_back(
          {figureGroup, "int8 validation top-1 (after conversion)", converted.int8ValidationTop1, "%"});
    }
  }
  progress.update("Converted", 1.0);
  return converted;
}

double secondsPerEpoch(const TrainingCurve& curve, const std::string& series) {
  double last = 0;
  int epochs = 0;
  for (const auto& point : curve) {
    if (point.series != series || !point.endOfEpoch) continue;
    last = point.elapsedSeconds;
    ++epochs;
  }
  return epochs ? last / epochs : -1;
}

}  // namespace quantscope
