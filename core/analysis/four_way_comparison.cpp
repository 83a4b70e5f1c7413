#include "core/analysis/four_way_comparison.h"

#include <functional>
#include <limits>
#include <map>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/quant/fake_quant.h"

namespace quantscope {
namespace {

bool isFakeQuantObserver(const torch::jit::Module& module) {
  const auto& name = module.type()->name();
  return name && name->name().find("FakeQuantObserver") != std::string::npos;
}

// The observers each module's graphs call, as "path.attribute", in graph order. InsertObservers names
// observers in an order that can differ between two runs on the same model, but it places their calls
// identically, so two observed copies of one model pair up call by call.
std::vector<std::pair<std::string, torch::jit::Module>> observersInCallOrder(
    const torch::jit::Module& root, const std::function<bool(const torch::jit::Module&)>& isObserver) {
  std::vector<std::pair<std::string, torch::jit::Module>> observers;
  for (const auto& sub : root.named_modules()) {
    for (const auto& method : sub.value.get_methods()) {
      forEachNode(method.graph(), [&](torch::jit::Node* node) {
        if (node->kind() != c10::prim::CallMethod) return;
        torch::jit::Node* get = node->input(0)->node();
        if (get->kind() != c10::prim::GetAttr || get->input()->type() != sub.value.type()) return;
        const std::string name = get->s(c10::attr::name);
        if (!sub.value.hasattr(name)) return;
        const c10::IValue member = sub.value.attr(name);
        if (!member.isObject()) return;
        const torch::jit::Module module(member.toObject());
        if (isObserver(module))
          observers.emplace_back(sub.name.empty() ? name : sub.name + "." + name, module);
      });
    }
  }
  return observers;
}

}  // namespace

torch::jit::Module simulatedModel(const AnalysisSession& session, SimulatedPart part) {
  torch::jit::Module simulated = insertFakeQuant(session.folded, *session.recipe);
  const auto calibratedObservers = observersInCallOrder(session.observed, isCalibrationObserver);
  const auto fakeQuantObservers = observersInCallOrder(simulated, isFakeQuantObserver);
  if (calibratedObservers.size() != fakeQuantObservers.size()) {
    throw Error("The simulated model has " + std::to_string(fakeQuantObservers.size()) +
                " quantizers, the calibrated model " + std::to_string(calibratedObservers.size()) +
                "; the two cannot be compared.");
  }
  std::map<std::string, torch::jit::Module> calibrated;
  for (size_t i = 0; i < fakeQuantObservers.size(); ++i) {
    const torch::jit::Module& source = calibratedObservers[i].second;
    if (source.attr("is_weight").toBool() != fakeQuantObservers[i].second.attr("is_weight").toBool()) {
      throw Error("The simulated model's quantizer at '" + fakeQuantObservers[i].first +
                  "' does not pair with the calibrated model's; the two cannot be compared.");
    }
    calibrated.emplace(fakeQuantObservers[i].first, source);
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
