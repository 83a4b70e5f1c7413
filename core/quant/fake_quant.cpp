#include "core/quant/fake_quant.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/quantization/dedup_module_uses.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include <set>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

constexpr int64_t kQUInt8 = static_cast<int64_t>(c10::ScalarType::QUInt8);
constexpr int64_t kQInt8 = static_cast<int64_t>(c10::ScalarType::QInt8);
constexpr const char* kObserverTypeName = "FakeQuantObserver";

// Moving-average range for activations (MovingAverageMinMaxObserver, averaging constant 0.01), the current
// range for weights; qparams as ObserverBase._calculate_qparams; LibTorch's fake_quantize ops.
const char* const kFakeQuantSource = R"JIT(
def update_qparams(self):
    min_neg = torch.clamp(self.min_val, max=0.0)
    max_pos = torch.clamp(self.max_val, min=0.0)
    if self.symmetric:
        max_pos = torch.max(-min_neg, max_pos)
        self.scale = torch.clamp(max_pos / (float(self.quant_max - self.quant_min) / 2.0), min=self.eps)
        self.zero_point = torch.zeros(self.scale.size(), dtype=4)
    else:
        self.scale = torch.clamp((max_pos - min_neg) / float(self.quant_max - self.quant_min), min=self.eps)
        self.zero_point = torch.clamp(self.quant_min - torch.round(min_neg / self.scale).to(4), self.quant_min, self.quant_max)

def forward(self, x):
    if x.numel() == 0:
        return x
    if self.is_weight or (self.training and self.observer_enabled):
        y = x.detach().float()
        if self.ch_axis >= 0:
            z = y.transpose(0, self.ch_axis).flatten(1)
            current_min = torch.amin(z, 1)
            current_max = torch.amax(z, 1)
        else:
            current_min = torch.min(y).reshape([1])
            current_max = torch.max(y).reshape([1])
        if self.batches == 0 or self.is_weight:
            self.min_val = current_min
            self.max_val = current_max
        else:
            self.min_val = self.min_val + self.averaging_constant * (current_min - self.min_val)
            self.max_val = self.max_val + self.averaging_constant * (current_max - self.max_val)
        self.batches = self.batches + 1
        self.update_qparams()
    if self.fake_quant_enabled and self.batches > 0:
        if self.ch_axis >= 0:
            return torch.fake_quantize_per_channel_affine(x, self.scale, self.zero_point.int(), self.ch_axis, self.quant_min, self.quant_max)
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point.int(), self.quant_min, self.quant_max)
    return x

def calculate_qparams(self):
    return (self.scale, self.zero_point)
)JIT";

bool isObserverCall(torch::jit::Node* node) {
  if (node->kind() != c10::prim::CallMethod || node->s(c10::attr::name) != "forward") return false;
  const auto type = node->input(0)->type()->cast<c10::ClassType>();
  return type && type->name() && type->name()->name().find(kObserverTypeName) != std::string::npos;
}

// Every graph of the module's methods once (module types, and so graphs, can be shared by instances).
void forEachObserverCall(const torch::jit::Module& module,
                         const std::function<void(torch::jit::Node*)>& visit) {
  std::set<torch::jit::Graph*> seen;
  for (const auto& sub : module.named_modules()) {
    for (const auto& method : sub.value.get_methods()) {
      auto graph = method.graph();
      if (!seen.insert(graph.get()).second) continue;
      std::vector<torch::jit::Node*> calls;
      forEachNode(graph, [&](torch::jit::Node* node) {
        if (isObserverCall(node)) calls.push_back(node);
      });
      for (auto* call : calls) visit(call);
    }
  }
}

}  // namespace

torch::jit::Module makeFakeQuantObserver(bool isWeight, bool perChannel, bool reduceRange) {
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module m(c10::QualifiedName(std::string("__torch__.quantscope.observers.") + kObserverTypeName),
                       unit, true);
  const int64_t dtype = isWeight ? kQInt8 : kQUInt8;
  const bool symmetric =
      isWeight;  // oneDNN needs zero-point-0 weights; PyTorch's QAT weight fake quant agrees
  int64_t qmin = isWeight ? -128 : 0, qmax = isWeight ? 127 : 255;
  if (reduceRange) qmax = isWeight ? 63 : 127, qmin = isWeight ? -64 : 0;
  m.register_attribute("training", c10::BoolType::get(), false);
  m.register_attribute("dtype", c10::IntType::get(), dtype);
  m.register_attribute("qscheme", c10::IntType::get(),
                       int64_t{perChannel ? (symmetric ? 3 : 1) : (symmetric ? 2 : 0)});
  m.register_attribute("ch_axis", c10::IntType::get(), int64_t{perChannel ? 0 : -1});
  m.register_attribute("is_weight", c10::BoolType::get(), isWeight);
  m.register_attribute("symmetric", c10::BoolType::get(), symmetric);
  m.register_attribute("reduce_range", c10::BoolType::get(), reduceRange);
  m.register_attribute("quant_min", c10::IntType::get(), qmin);
  m.register_attribute("quant_max", c10::IntType::get(), qmax);
  m.register_attribute("eps", c10::FloatType::get(), double(std::numeric_limits<float>::epsilon()));
  m.register_attribute("averaging_constant", c10::FloatType::get(), 0.01);
  m.register_attribute("observer_enabled", c10::BoolType::get(), true);
  m.register_attribute("fake_quant_enabled", c10::BoolType::get(), true);
  m.register_attribute("batches", c10::IntType::get(), int64_t{0});
  m.register_buffer("min_val", torch::zeros({1}));
  m.register_buffer("max_val", torch::zeros({1}));
  m.register_buffer("scale", torch::ones({1}));
  m.register_buffer("zero_point", torch::zeros({1}, torch::kLong));
  m.define(kFakeQuantSource);
  return m;
}

torch::jit::Module dedupedFloatCopy(const torch::jit::Module& module) {
  torch::jit::Module copy = module.clone();
  copy.eval();
  torch::jit::DedupModuleUses(copy);  // a module called twice (ResNet's relu) gets one copy per call
  return copy;
}

torch::jit::Module foldedFloatCopy(const torch::jit::Module& module) {
  return torch::jit::FoldConvBatchNorm(dedupedFloatCopy(module));
}

torch::jit::Module insertFakeQuant(const torch::jit::Module& folded, const QConfigRecipe& recipe) {
  torch::jit::QConfigDict qconfigs;
  qconfigs[""] = torch::jit::QConfig(makeFakeQuantObserver(false, false, recipe.reduceRangeActivations),
                                     makeFakeQuantObserver(true, recipe.perChannelWeights, false));
  torch::jit::Module observed;
  try {
    observed = torch::jit::InsertObservers(const_cast<torch::jit::Module&>(folded), "forward", qconfigs,
                                           /*inplace=*/false, torch::jit::QuantType::STATIC);
  } catch (const std::exception& e) {
    throw Error("Inserting fake quantization failed in LibTorch's graph passes: " + shortTorchMessage(e));
  }
  // InsertObservers routes every observed value through its observer's forward, which here returns the
  // fake-quantized value: the model now computes with int8 numerics.
  int observers = 0;
  forEachObserverCall(observed, [&](torch::jit::Node*) { ++observers; });
  if (observers == 0) {
    throw Error(
        "The model has no layer that quantization-aware training can quantize (no Conv or Linear reached "
        "by the graph); nothing was written.");
  }
  return observed;
}

std::vector<torch::jit::Module> fakeQuantObservers(const torch::jit::Module& module) {
  std::vector<torch::jit::Module> found;
  for (const auto& sub : module.named_modules()) {
    const auto& name = sub.value.type()->name();
    if (name && name->name().find(kObserverTypeName) != std::string::npos) found.push_back(sub.value);
  }
  return found;
}

void setActivationObserversEnabled(const torch::jit::Module& module, bool enabled) {
  for (auto& o : fakeQuantObservers(module)) {
    if (!o.attr("is_weight").toBool()) o.setattr("observer_enabled", enabled);
  }
}

void setFakeQuantEnabled(const torch::jit::Module& module, bool enabled) {
  for (auto& o : fakeQuantObservers(module)) o.setattr("fake_quant_enabled", enabled);
}

torch::jit::Module convertFakeQuant(const torch::jit::Module& observed, const torch::Tensor& sampleInput) {
  torch::jit::Module copy = observed.clone();
  copy.eval();
  setFakeQuantEnabled(copy, true);
  {
    torch::NoGradGuard noGrad;
    copy.forward({sampleInput});  // weight ranges from the final weights
  }
  for (auto& o : fakeQuantObservers(copy)) {
    if (o.attr("batches").toInt() == 0) {
      throw Error("A fake-quant observer never saw data (a branch training never took); cannot convert.",
                  "Train on data that reaches every branch of the model.");
    }
  }
  torch::jit::Module quantized;
  try {
    torch::jit::Module withQuantOps =
        torch::jit::InsertQuantDeQuant(copy, "forward", /*inplace=*/false,
                                       /*debug=*/false, torch::jit::QuantType::STATIC);
    quantized = torch::jit::Finalize(withQuantOps, torch::jit::QuantType::STATIC);
  } catch (const std::exception& e) {
    throw Error("Converting the fake-quant model to int8 failed in LibTorch's graph passes: " +
                shortTorchMessage(e));
  }
  auto graph = quantized.get_method("forward").graph();
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
  return quantized;
}

}  // namespace quantscope
