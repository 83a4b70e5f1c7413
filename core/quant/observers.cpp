#include "core/internal/observers.h"

#include <limits>

namespace quantscope {
namespace {

// Shared by every observer: qparams from running min/max, as ObserverBase._calculate_qparams does.
const char* const kCalculateQParams = R"JIT(
def calculate_qparams(self):
    min_val_neg = torch.clamp(self.min_val, max=0.0)
    max_val_pos = torch.clamp(self.max_val, min=0.0)
    scale = torch.ones(min_val_neg.size(), dtype=6)
    zero_point = torch.zeros(min_val_neg.size(), dtype=3)
    if self.qscheme == 2 or self.qscheme == 3:
        max_val_pos = torch.max(-min_val_neg, max_val_pos)
        scale = max_val_pos / (float(self.quant_max - self.quant_min) / 2.0)
        scale = torch.clamp(scale, min=self.eps)
        if self.dtype == 13:
            zero_point = zero_point + 128
    else:
        scale = (max_val_pos - min_val_neg) / float(self.quant_max - self.quant_min)
        scale = torch.clamp(scale, min=self.eps)
        zero_point = self.quant_min - torch.round(min_val_neg / scale).to(3)
        zero_point = torch.clamp(zero_point, self.quant_min, self.quant_max)
    return (scale, zero_point)
)JIT";

const char* const kPerTensorForward = R"JIT(
def forward(self, x):
    if x.numel() == 0:
        return x
    x_detached = x.detach().float()
    self.min_val = torch.min(torch.min(x_detached), self.min_val)
    self.max_val = torch.max(torch.max(x_detached), self.max_val)
    return x
)JIT";

const char* const kPerChannelForward = R"JIT(
def forward(self, x):
    if x.numel() == 0:
        return x
    y = x.detach().float().transpose(0, self.ch_axis).flatten(1)
    current_min = torch.amin(y, 1)
    current_max = torch.amax(y, 1)
    if self.min_val.numel() == 0:
        self.min_val = current_min
        self.max_val = current_max
    else:
        self.min_val = torch.min(current_min, self.min_val)
        self.max_val = torch.max(current_max, self.max_val)
    return x
)JIT";

void addQuantRange(torch::jit::Module& m, int64_t dtype, bool reduceRange) {
  int64_t qmin = dtype == kQUInt8Code ? 0 : -128;
  int64_t qmax = dtype == kQUInt8Code ? 255 : 127;
  if (reduceRange) {
    qmin = dtype == kQUInt8Code ? 0 : -64;
    qmax = dtype == kQUInt8Code ? 127 : 63;
  }
  m.register_attribute("quant_min", c10::IntType::get(), qmin);
  m.register_attribute("quant_max", c10::IntType::get(), qmax);
  m.register_attribute("eps", c10::FloatType::get(),
                       static_cast<double>(std::numeric_limits<float>::epsilon()));
}

torch::jit::Module newObserverModule(const std::string& className) {
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module m(c10::QualifiedName("__torch__.quantscope.observers." + className), unit,
                       /*shouldMangle=*/true);
  m.register_attribute("training", c10::BoolType::get(), false);
  return m;
}

}  // namespace

torch::jit::Module makeMinMaxObserver(const ObserverSettings& s) {
  torch::jit::Module m = newObserverModule(s.perChannel ? "PerChannelMinMaxObserver" : "MinMaxObserver");
  const int64_t qscheme = s.perChannel ? (s.symmetric ? 3 : 1) : (s.symmetric ? 2 : 0);
  m.register_attribute("dtype", c10::IntType::get(), s.dtype);
  m.register_attribute("qscheme", c10::IntType::get(), qscheme);
  m.register_attribute("ch_axis", c10::IntType::get(), s.channelAxis);
  addQuantRange(m, s.dtype, s.reduceRange);
  if (s.perChannel) {
    m.register_buffer("min_val", torch::empty({0}));
    m.register_buffer("max_val", torch::empty({0}));
  } else {
    m.register_buffer("min_val", torch::tensor(std::numeric_limits<float>::infinity()));
    m.register_buffer("max_val", torch::tensor(-std::numeric_limits<float>::infinity()));
  }
  m.define(s.perChannel ? kPerChannelForward : kPerTensorForward);
  m.define(kCalculateQParams);
  return m;
}

torch::jit::Module makeDynamicPlaceholderObserver(bool reduceRange) {
  torch::jit::Module m = newObserverModule("PlaceholderObserver");
  // As PyTorch's default_dynamic_quant_observer: the tensor stays float (dtype), the kernel computes in
  // quint8 (compute_dtype); InsertQuantDeQuant reads compute_dtype to emit the per-batch choose_qparams.
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(c10::ScalarType::Float));
  m.register_attribute("compute_dtype", c10::IntType::get(), kQUInt8Code);
  m.register_attribute("qscheme", c10::IntType::get(), int64_t{0});
  m.register_attribute("ch_axis", c10::IntType::get(), int64_t{-1});
  addQuantRange(m, kQUInt8Code, reduceRange);
  m.register_buffer("min_val", torch::tensor(0.0f));
  m.register_buffer("max_val", torch::tensor(0.0f));
  m.define("def forward(self, x):\n    return x\n");
  m.define(kCalculateQParams);
  return m;
}

}  // namespace quantscope
