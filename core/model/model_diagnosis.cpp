// When a model fails: the short cause of a LibTorch error, the operator a quantized model failed in (and
// the engine to try instead), and what input the model's first layer takes.
#include <torch/csrc/autograd/profiler_legacy.h>

#include <sstream>

#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/model/model.h"

namespace quantscope {
namespace {

// Re-runs a failing forward under the profiler: an op that throws still closes its range, so the failing op
// is the last top-level op that started.
std::string locateFailingOp(const Model& model, const torch::Tensor& input) {
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU,
                                                             /*report_input_shapes=*/true));
  bool failed = false;
  torch::jit::Module module = model.impl().module;  // LibTorch's forward is non-const; it changes nothing
  try {
    module.forward({input});
  } catch (const std::exception&) {
    failed = true;
  }
  const thread_event_lists events = disableProfilerLegacy();
  if (!failed) return {};
  std::string found;
  for (const auto& thread : events) {
    std::vector<const LegacyEvent*> open;
    for (const LegacyEvent& e : thread) {
      if (e.kind() == EventKind::PopRange && !open.empty()) open.pop_back();
      if (e.kind() != EventKind::PushRange) continue;
      const std::string name = e.name();
      bool insideOp = false;
      for (const LegacyEvent* outer : open)
        insideOp |= std::string(outer->name()).find("::") != std::string::npos;
      open.push_back(&e);
      if (insideOp || name.find("::") == std::string::npos) continue;
      found = name;
      const auto shapes = e.shapes();
      if (!shapes.empty() && !shapes.front().empty())
        found += " on an input of shape " + InputSpec::shapeToString(shapes.front());
    }
  }
  return found;
}

}  // namespace

std::string shortTorchMessage(const std::exception& error) {
  const auto* c10Error = dynamic_cast<const c10::Error*>(&error);
  std::string message = c10Error ? c10Error->what_without_backtrace() : error.what();
  // TorchScript errors start with a traceback of the model's code; the cause is on the last
  // "SomethingError: ..." line.
  if (message.rfind("The following operation failed in the TorchScript interpreter", 0) == 0) {
    std::istringstream lines(message);
    std::string line, cause;
    while (std::getline(lines, line)) {
      const size_t colon = line.find("Error: ");
      if (!line.empty() && line[0] != ' ' && colon != std::string::npos) cause = line.substr(colon + 7);
    }
    if (!cause.empty()) return cause;
  }
  const size_t newline = message.find('\n');
  return newline == std::string::npos ? message : message.substr(0, newline);
}

c10::IValue forwardOrExplain(const Model& model, const torch::Tensor& input) {
  torch::jit::Module module = model.impl().module;  // LibTorch's forward is non-const; it changes nothing
  try {
    return module.forward({input});
  } catch (const std::exception& e) {
    const std::string engine = model.impl().quantizedEngine;
    if (engine.empty()) throw;
    const std::string failingOp = locateFailingOp(model, input);
    const std::string other = engine == "onednn" ? "qnnpack" : "onednn";
    throw Error("The quantized model failed on the " + engine + " engine with input " +
                    InputSpec::shapeToString(input.sizes().vec()) +
                    (failingOp.empty() ? "" : ", in " + failingOp) + ": " + shortTorchMessage(e),
                "Quantize again with engine=" + other +
                    " (this LibTorch's oneDNN fails on some depthwise "
                    "convolutions, depending on the batch sizes a model has run with).");
  }
}

void Model::checkInput(const InputSpec& spec) const {
  torch::InferenceMode inference;
  activateEngineOf(*this);
  try {
    forwardOrExplain(*this, makeInput(spec));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string expected;
    if (impl_->inputSpec && !(*impl_->inputSpec == spec)) {
      expected = "The model's stored input spec is " + impl_->inputSpec->toString() + ". ";
    }
    // The first weight tells what the model's first layer takes.
    for (const auto& p : collectParameters(impl_->module)) {
      if (p.name.find("weight") == std::string::npos || p.shape.size() < 2) continue;
      const std::string where = "Its first layer '" + p.owner + "' (" + p.ownerType + ")";
      if (p.shape.size() == 4) {
        expected += where + " takes " + std::to_string(p.shape[1]) + " input channels (NCHW, e.g. 1x" +
                    std::to_string(p.shape[1]) + "xHxW).";
      } else if (p.shape.size() == 2) {
        expected += where + " takes " + std::to_string(p.shape[1]) + " features in the last dimension.";
      }
      break;
    }
    throw Error("The model rejected an input of shape " + spec.toString() + ": " + shortTorchMessage(e),
                expected);
  }
}

}  // namespace quantscope
