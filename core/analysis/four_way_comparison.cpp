#include "core/analysis/four_way_comparison.h"

#include <limits>
#include <map>

#include "core/errors.h"
#include "core/quant/fake_quant.h"

namespace quantscope {
namespace {

bool isFakeQuantObserver(const torch::jit::Module& module) {
  const auto& name = module.type()->name();
  return name && name->name().find("FakeQuantObserver") != std::string::npos;
}

}  // namespace

torch::jit::Module simulatedModel(const AnalysisSession& session, SimulatedPart part) {
  torch::jit::Module simulated = insertFakeQuant(session.folded, *session.recipe);
  // Both modules come from InsertObservers on the same float model with one qconfig for the whole graph,
  // so each observer has the same path in both.
  std::map<std::string, torch::jit::Module> calibrated;
  for (const auto& sub : session.observed.named_modules()) {
    if (isCalibrationObserver(sub.value) && !sub.value.attr("is_weight").toBool())
      calibrated.emplace(sub.name, sub.value);
  }
  for (const auto& sub : simulated.named_modules()) {
    if (!isFakeQuantObserver(sub.value)) continue;
    torch::jit::Module observer = sub.value;
    const bool weight = observer.attr("is_weight").toBool();
    if (!weight) {
      const auto found = calibrated.find(sub.name);
      if (found == calibrated.end()) {
        throw Error("The simulated model has an activation quantizer at '" + sub.name +
                    "' that the calibrated model lacks; the two cannot be compared.");
      }
      const torch::jit::Module& source = found->second;
      const auto [qmin, qmax] = quantRange(source.attr("dtype").toInt(), source.attr("reduce_range").toBool(),
                                           source.attr("bits").toInt());
      observer.setattr("scale", source.attr("qscale").toTensor().to(torch::kFloat).clone());
      observer.setattr("zero_point", source.attr("qzero").toTensor().to(torch::kLong).clone());
      observer.setattr("quant_min", qmin);
      observer.setattr("quant_max", qmax);
      observer.setattr("observer_enabled", false);
      observer.setattr("batches", int64_t{1});
    }
    const bool rounds = part == SimulatedPart::Both || (weight == (part == SimulatedPart::Weights));
    observer.setattr("fake_quant_enabled", rounds);
  }
  return simulated;
}

std::vector<FourWayRow> compareFourWays(const AnalysisSession& session, torch::jit::Module& int8Model) {
  const PlanEvaluator& evaluator = *session.evaluator;
  std::vector<FourWayRow> rows;
  FourWayRow fp32{"fp32", "float", false, {}};
  fp32.measured = {evaluator.floatMetric(), 0.0, std::numeric_limits<double>::infinity()};
  rows.push_back(fp32);
  for (const auto& [name, part] : {std::make_pair("weights only", SimulatedPart::Weights),
                                   std::make_pair("activations only", SimulatedPart::Activations)}) {
    torch::jit::Module simulated = simulatedModel(session, part);
    rows.push_back({name, "simulated (fake quantization)", true, session.measure(simulated, evaluator)});
  }
  rows.push_back(
      {"full int8", "int8 kernels (" + session.engine + ")", false, session.measure(int8Model, evaluator)});
  return rows;
}

}  // namespace quantscope
