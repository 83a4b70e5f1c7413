#include "core/runtime/op_profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <map>
#include <set>

#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

bool isConversion(const std::string& op) {
  return op == "aten::quantize_per_tensor" || op == "aten::quantize_per_channel" ||
         op == "aten::dequantize" || op == "aten::_choose_qparams_per_tensor";
}

// Profiler events carry no dtype, so the graph tells which ops see quantized tensors: values made by
// quantize or quantized:: ops are int8, dequantize makes float, other ops pass their first input's kind on.
std::map<std::string, OpPrecision> precisionByOp(const Model& model) {
  auto graph = model.impl().module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  std::set<const torch::jit::Value*> quantized;
  std::map<std::string, std::set<bool>> seen;
  forEachNode(graph, [&](torch::jit::Node* node) {
    const std::string op = node->kind().toQualString();
    if (op.rfind("prim::", 0) == 0) {
      // Lists and tuples of quantized values stay quantized (e.g. the inputs of a quantized cat).
      bool anyQuantized = false;
      for (const auto* input : node->inputs()) anyQuantized |= quantized.count(input) > 0;
      if (anyQuantized)
        for (const auto* output : node->outputs()) quantized.insert(output);
      return;
    }
    bool inputQuantized = false;
    for (const auto* input : node->inputs()) {
      if (input->type()->kind() == c10::TypeKind::TensorType ||
          input->type()->kind() == c10::TypeKind::ListType) {
        inputQuantized = quantized.count(input) > 0;
        break;
      }
    }
    const bool makesQuantized = op.rfind("quantized::", 0) == 0 ? op.find("prepack") == std::string::npos
                                : op == "aten::dequantize"      ? false
                                : op.rfind("aten::quantize_per", 0) == 0 ? true
                                                                         : inputQuantized;
    if (makesQuantized)
      for (const auto* output : node->outputs()) quantized.insert(output);
    seen[op].insert(op.rfind("quantized::", 0) == 0 || inputQuantized);
  });
  std::map<std::string, OpPrecision> precision;
  for (const auto& [op, kinds] : seen) {
    precision[op] = isConversion(op)   ? OpPrecision::Conversion
                    : kinds.size() > 1 ? OpPrecision::Mixed
                    : *kinds.begin()   ? OpPrecision::Int8
                                       : OpPrecision::Float;
  }
  return precision;
}

}  // namespace

std::string toString(OpPrecision precision) {
  switch (precision) {
    case OpPrecision::Int8:
      return "int8";
    case OpPrecision::Float:
      return "float";
    case OpPrecision::Conversion:
      return "quantize/dequantize";
    case OpPrecision::Mixed:
      return "int8 and float";
  }
  return "?";
}

OpProfile profileOperators(const Model& model, const InputSpec& input, int runs) {
  torch::InferenceMode inference;
  activateEngineOf(model);
  const torch::Tensor x = makeInput(input, /*random=*/true);
  forwardOrExplain(model, x);  // warm-up: first runs pack and allocate
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  for (int i = 0; i < runs; ++i) forwardOrExplain(model, x);
  const thread_event_lists events = disableProfilerLegacy();

  // Time each op at the top level (ops called inside other ops are part of their caller's time).
  std::map<std::string, std::pair<int64_t, double>> byOp;
  for (const auto& thread : events) {
    std::vector<const LegacyEvent*> stack;
    for (const LegacyEvent& e : thread) {
      if (e.kind() == EventKind::PushRange) {
        stack.push_back(&e);
      } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
        const LegacyEvent* start = stack.back();
        stack.pop_back();
        const std::string name = start->name();
        bool nestedInOp = false;
        for (const LegacyEvent* outer : stack)
          nestedInOp |= std::string(outer->name()).find("::") != std::string::npos;
        if (nestedInOp || name.find("::") == std::string::npos) continue;
        byOp[name].first += 1;
        byOp[name].second += start->cpuElapsedUs(e) / 1000.0;
      }
    }
  }
  const auto precision = precisionByOp(model);
  OpProfile profile;
  profile.runs = runs;
  double total = 0;
  for (const auto& [op, stats] : byOp) total += stats.second;
  for (const auto& [op, stats] : byOp) {
    OpTime t;
    t.op = op;
    const auto it = precision.find(op);
    t.precision = it != precision.end()
                      ? it->second
                      : (op.rfind("quantized::", 0) == 0 ? OpPrecision::Int8 : OpPrecision::Float);
    t.calls = stats.first / runs;
    t.totalMs = stats.second / runs;
    t.share = total > 0 ? stats.second / total : 0;
    switch (t.precision) {
      case OpPrecision::Int8:
        profile.int8Share += t.share;
        break;
      case OpPrecision::Float:
        profile.floatShare += t.share;
        break;
      case OpPrecision::Conversion:
        profile.conversionShare += t.share;
        break;
      case OpPrecision::Mixed:
        profile.mixedShare += t.share;
        break;
    }
    profile.ops.push_back(t);
  }
  std::sort(profile.ops.begin(), profile.ops.end(),
            [](const OpTime& a, const OpTime& b) { return a.totalMs > b.totalMs; });
  return profile;
}

}  // namespace quantscope
