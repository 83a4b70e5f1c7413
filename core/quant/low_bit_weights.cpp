#include "core/quant/low_bit_weights.h"

#include <torch/csrc/jit/frontend/resolver.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

// LibTorch's message without backtrace; a TorchScript compile error keeps its lines (its first is empty).
std::string torchMessage(const std::exception& e) {
  const std::string shortMessage = shortTorchMessage(e);
  if (!shortMessage.empty()) return shortMessage;
  const auto* c10Error = dynamic_cast<const c10::Error*>(&e);
  const std::string full = c10Error ? c10Error->what_without_backtrace() : e.what();
  return full.substr(std::min(full.find_first_not_of('\n'), full.size()));
}

void checkBits(int bits, const std::string& what) {
  if (bits < 2 || bits > 8) {
    throw Error(
        "Cannot store " + what + " at " + std::to_string(bits) + " bits: low-bit weights take 2 to 8 bits.",
        "Choose a bit width from 2 to 8.");
  }
}

// The TorchScript class of one stored layer. Its state is everything __setstate__ needs, because after
// torch.jit.load only the state exists: the packed bitstream, the weight's shape and bit width, float32
// scales, optional zero points, the channel axis (-1: per tensor), the float bias, for convolutions their
// geometry, and `training`. __setstate__ unpacks the bitstream and prepacks the int8 weight for the engine
// active at load time, as torch.ao.nn.quantized's LinearPackedParams does.
std::string classSource(const std::string& prepackCall, bool convolution) {
  const std::string geometryType = convolution ? "List[int], List[int], List[int], int, " : "";
  const std::string geometryGet =
      convolution ? "self.stride, self.padding, self.dilation, self.groups, " : std::string();
  const std::string geometrySet = convolution ? R"(
    self.stride = state[7]
    self.padding = state[8]
    self.dilation = state[9]
    self.groups = state[10])"
                                              : std::string();
  const std::string trainingIndex = convolution ? "11" : "7";
  // dtypes are numbers, as in the code torch.jit.save prints: 0 uint8, 1 int8, 3 int32, 4 int64, 7 float64.
  return R"(
def _unpacked_weight(self) -> Tensor:
    count = 1
    for size in self.weight_shape:
        count = count * size
    bits = self.bits
    stream = ((self.packed_weight.unsqueeze(1) >> torch.arange(8, dtype=0)) & 1).flatten()
    digits = stream[: count * bits].view(count, bits)
    unsigned = torch.zeros([count], dtype=3)
    for k in range(bits):
        unsigned += digits[:, k].to(3) << k
    signed = unsigned - (unsigned >= (1 << (bits - 1))).to(3) * (1 << bits)
    ints = signed.to(1).view(self.weight_shape)
    zero_points = self.zero_points
    if self.axis < 0:
        zero_point = 0
        if zero_points is not None:
            zero_point = int(zero_points[0].item())
        return torch._make_per_tensor_quantized_tensor(ints, float(self.scales[0].item()), zero_point)
    if zero_points is None:
        zero_points = torch.zeros([self.scales.size(0)], dtype=4)
    return torch._make_per_channel_quantized_tensor(ints, self.scales.to(7), zero_points, self.axis)

def __getstate__(self):
    return (self.packed_weight, self.weight_shape, self.bits, self.scales, self.zero_points, self.axis, self.bias, )" +
         geometryGet + R"(self.training)

def __setstate__(self, state: Tuple[Tensor, List[int], int, Tensor, Optional[Tensor], int, Optional[Tensor], )" +
         geometryType + R"(bool]) -> None:
    self.packed_weight = state[0]
    self.weight_shape = state[1]
    self.bits = state[2]
    self.scales = state[3]
    self.zero_points = state[4]
    self.axis = state[5]
    self.bias = state[6])" +
         geometrySet + R"(
    self.training = state[)" +
         trainingIndex + R"(]
    weight = self._unpacked_weight()
    self.packed_params = )" +
         prepackCall + R"(
)";
}

// Compiles the class source from C++: LibTorch's native resolver knows `torch` only; `ops.<namespace>.<op>`
// resolves here as in the code torch.jit.save prints (and Python's torch.ops).
struct OpsNamespaces : torch::jit::SugaredValue {
  std::string kind() const override { return "ops"; }
  std::shared_ptr<torch::jit::SugaredValue> attr(const torch::jit::SourceRange&, torch::jit::GraphFunction&,
                                                 const std::string& field) override {
    return std::make_shared<torch::jit::BuiltinModule>(field);
  }
};

struct OpsResolver : torch::jit::NativeResolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name,
                                                         torch::jit::GraphFunction& m,
                                                         const torch::jit::SourceRange& loc) override {
    if (name == "ops") return std::make_shared<OpsNamespaces>();
    return NativeResolver::resolveValue(name, m, loc);
  }
};

enum class Kind { Linear, Conv1d, Conv2d, Conv3d };

struct KindInfo {
  const char* className;
  const char* unpackOp;
  const char* geometryPrefix;  // quantized::<prefix>_stride, ...
  const char* prepackCall;
};

const KindInfo& info(Kind kind) {
  static const std::map<Kind, KindInfo> table{
      {Kind::Linear,
       {"LowBitLinearWeight", "quantized::linear_unpack", "",
        "ops.quantized.linear_prepack(weight, self.bias)"}},
      {Kind::Conv1d,
       {"LowBitConv1dWeight", "quantized::conv1d_unpack", "quantized::conv2d",
        "ops.quantized.conv1d_prepack(weight, self.bias, self.stride, self.padding, self.dilation, "
        "self.groups)"}},
      {Kind::Conv2d,
       {"LowBitConv2dWeight", "quantized::conv2d_unpack", "quantized::conv2d",
        "ops.quantized.conv2d_prepack(weight, self.bias, self.stride, self.padding, self.dilation, "
        "self.groups)"}},
      {Kind::Conv3d,
       {"LowBitConv3dWeight", "quantized::conv3d_unpack", "quantized::conv3d",
        "ops.quantized.conv3d_prepack(weight, self.bias, self.stride, self.padding, self.dilation, "
        "self.groups)"}},
  };
  return table.at(kind);
}

std::vector<int64_t> geometry(const std::string& op, const c10::IValue& packed, bool lastOnly) {
  std::vector<int64_t> values = callRegisteredOp(op, {packed}).at(0).toIntVector();
  if (lastOnly && !values.empty()) values = {values.back()};  // conv1d runs as a 1xN conv2d
  return values;
}

c10::IValue optionalTensor(const std::optional<torch::Tensor>& t) {
  return t ? c10::IValue(*t) : c10::IValue();
}

// Everything needed to replace one packed-params attribute, computed before the model is touched.
struct Plan {
  LowBitWeight request;
  std::string submodule;
  std::vector<torch::jit::Node*> reads;  // GetAttr nodes of the old attribute, in any method
  std::set<std::string> methods;         // the methods holding them
  torch::jit::Module holder;
  LowBitStorage storage;
};

// Holders of one kind share one class (the first one built defines it), so a file stores each kind's
// TorchScript code once, not once per layer: that code would outweigh a small layer's saving.
using HolderClasses = std::map<std::string, torch::jit::Module>;

Plan planOne(const torch::jit::Module& quantized, const LowBitWeight& w, HolderClasses& classes) {
  Plan plan;
  plan.request = w;
  const std::string what = "layer '" + w.layer + "'";
  checkBits(w.bits, what);
  if (!quantized.hasattr(w.packedAttribute)) {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) +
                    " bits: the model has no attribute '" + w.packedAttribute + "'.",
                "Name the packed weight attribute of the quantized model (as the weight report lists it).");
  }
  const c10::IValue packed = quantized.attr(w.packedAttribute);
  const std::string typeName = packed.type()->str();
  std::set<std::string> users;
  for (const auto& method : quantized.get_methods()) {
    forEachNode(method.graph(), [&](torch::jit::Node* node) {
      if (node->kind() != c10::prim::GetAttr || node->s(c10::attr::name) != w.packedAttribute) return;
      if (node->input()->type()->cast<c10::ClassType>() != quantized.type()) return;
      plan.reads.push_back(node);
      plan.methods.insert(method.name());
      for (const auto& use : node->output()->uses()) users.insert(use.user->kind().toQualString());
    });
  }
  Kind kind;
  if (typeName.find("LinearPackedParamsBase") != std::string::npos) {
    kind = Kind::Linear;
  } else if (typeName.find("Conv2dPackedParamsBase") != std::string::npos) {
    kind = std::any_of(users.begin(), users.end(),
                       [](const std::string& u) { return u.rfind("quantized::conv1d", 0) == 0; })
               ? Kind::Conv1d
               : Kind::Conv2d;
  } else if (typeName.find("Conv3dPackedParamsBase") != std::string::npos) {
    kind = Kind::Conv3d;
  } else {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) + " bits: its packed weights are " +
                    typeName + ", not int8 Linear or Conv1d/2d/3d packed params.",
                "Low-bit storage handles quantized Linear and Conv layers; keep this layer at int8.");
  }
  if (plan.reads.empty()) {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) +
                    " bits: no method of the model reads '" + w.packedAttribute + "'.",
                "Name a packed weight attribute the quantized model's forward uses.");
  }
  const KindInfo& k = info(kind);
  const bool convolution = kind != Kind::Linear;

  torch::Tensor weight;
  std::optional<torch::Tensor> bias;
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
  try {
    const torch::jit::Stack unpacked = callRegisteredOp(k.unpackOp, {packed});
    weight = unpacked.at(0).toTensor();
    if (unpacked.size() > 1 && unpacked.at(1).isTensor()) bias = unpacked.at(1).toTensor().detach().clone();
    if (convolution) {
      const std::string prefix = k.geometryPrefix;
      if (callRegisteredOp(prefix + "_transpose", {packed}).at(0).toInt() != 0) {
        throw Error("Cannot store " + what + " at " + std::to_string(w.bits) +
                        " bits: it is a transposed convolution, which low-bit storage does not handle.",
                    "Keep this layer at int8.");
      }
      const bool lastOnly = kind == Kind::Conv1d;
      stride = geometry(prefix + "_stride", packed, lastOnly);
      padding = geometry(prefix + "_padding", packed, lastOnly);
      dilation = geometry(prefix + "_dilation", packed, lastOnly);
      groups = callRegisteredOp(prefix + "_groups", {packed}).at(0).toInt();
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) +
                    " bits: its packed weights could not be unpacked: " + torchMessage(e),
                "Low-bit storage handles int8 Linear and Conv layers (not float16 packed weights).");
  }
  if (!weight.is_quantized() || weight.scalar_type() != c10::kQInt8) {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) + " bits: its weight is " +
                    dtypeName(weight) + ", not qint8.",
                "Low-bit storage handles layers with int8 (qint8) weights; keep this layer as it is.");
  }
  torch::Tensor scales, zeroPoints;
  int64_t axis = -1;
  const auto scheme = weight.qscheme();
  if (scheme == at::kPerChannelAffine || scheme == at::kPerChannelSymmetric) {
    axis = weight.q_per_channel_axis();
    scales = weight.q_per_channel_scales();
    zeroPoints = weight.q_per_channel_zero_points().to(torch::kLong);
  } else if (scheme == at::kPerTensorAffine || scheme == at::kPerTensorSymmetric) {
    scales = torch::tensor({weight.q_scale()}, torch::kDouble);
    zeroPoints = torch::tensor({weight.q_zero_point()}, torch::kLong);
  } else {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) +
                    " bits: its weight's quantization scheme (" + std::string(c10::toString(scheme)) +
                    ") is neither per-channel nor per-tensor affine.",
                "Keep this layer at int8.");
  }
  const int64_t half = int64_t{1} << (w.bits - 1);
  const torch::Tensor ints = weight.int_repr().clamp(-half, half - 1).contiguous();
  const torch::Tensor packedBits = packSignedBits(ints, w.bits);
  const torch::Tensor scales32 = scales.to(torch::kFloat).contiguous();
  std::optional<torch::Tensor> storedZeroPoints;
  if (zeroPoints.ne(0).any().item<bool>()) storedZeroPoints = zeroPoints.contiguous();

  const auto shared = classes.find(k.className);
  torch::jit::Module holder =
      shared != classes.end()
          ? torch::jit::Module(c10::ivalue::Object::create(
                c10::StrongTypePtr(shared->second._ivalue()->compilation_unit(), shared->second.type()),
                shared->second.type()->numAttributes()))
          : torch::jit::Module(c10::QualifiedName(std::string("__torch__.quantscope.") + k.className),
                               std::make_shared<torch::jit::CompilationUnit>(), /*shouldMangle=*/true);
  const auto optionalTensorType = c10::OptionalType::create(c10::TensorType::get());
  const auto intList = c10::ListType::ofInts();
  // On a shared class the attributes exist: register_attribute then only sets the value.
  holder.register_attribute("training", c10::BoolType::get(), false);
  holder.register_attribute("packed_weight", c10::TensorType::get(), packedBits);
  holder.register_attribute("weight_shape", intList, c10::List<int64_t>(weight.sizes().vec()));
  holder.register_attribute("bits", c10::IntType::get(), int64_t{w.bits});
  holder.register_attribute("scales", c10::TensorType::get(), scales32);
  holder.register_attribute("zero_points", optionalTensorType, optionalTensor(storedZeroPoints));
  holder.register_attribute("axis", c10::IntType::get(), axis);
  holder.register_attribute("bias", optionalTensorType, optionalTensor(bias));
  if (convolution) {
    holder.register_attribute("stride", intList, c10::List<int64_t>(stride));
    holder.register_attribute("padding", intList, c10::List<int64_t>(padding));
    holder.register_attribute("dilation", intList, c10::List<int64_t>(dilation));
    holder.register_attribute("groups", c10::IntType::get(), groups);
  }
  holder.register_attribute("packed_params", packed.type(), packed);  // replaced by __setstate__ below
  try {
    if (shared == classes.end()) {
      holder.define(classSource(k.prepackCall, convolution), std::make_shared<OpsResolver>());
      classes.emplace(k.className, holder);
    }
    // The live packed params come from the very state that is saved: what runs now is what loads later.
    const c10::IValue state = holder.run_method("__getstate__");
    holder.run_method("__setstate__", state);
  } catch (const std::exception& e) {
    throw Error("Cannot store " + what + " at " + std::to_string(w.bits) +
                    " bits: rebuilding its packed weights failed: " + torchMessage(e),
                "The active quantized engine may not support this layer; keep it at int8.");
  }

  plan.holder = holder;
  std::string name = "lowbit_" + w.layer;
  std::replace(name.begin(), name.end(), '.', '_');
  plan.submodule = name;
  plan.storage = {w.layer, w.bits, weight.numel(), packedBits.numel(),
                  scales32.numel() * 4 + (storedZeroPoints ? storedZeroPoints->numel() * 8 : 0)};
  return plan;
}

}  // namespace

torch::jit::Stack callRegisteredOp(const std::string& op, torch::jit::Stack stack) {
  c10::Dispatcher::singleton().findSchemaOrThrow(op.c_str(), "").callBoxed(&stack);
  return stack;
}

torch::Tensor packSignedBits(const torch::Tensor& values, int bits) {
  checkBits(bits, "weights");
  if (values.scalar_type() != torch::kChar) {
    throw Error("Only int8 values can be packed to " + std::to_string(bits) + " bits, not " +
                dtypeName(values) + ".");
  }
  const torch::Tensor flat = values.contiguous().flatten();
  const int64_t n = flat.numel();
  const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  const int8_t* in = flat.data_ptr<int8_t>();
  torch::Tensor packed = torch::zeros({(n * bits + 7) / 8}, torch::kByte);
  uint8_t* out = packed.data_ptr<uint8_t>();
  const uint32_t mask = (1u << bits) - 1;
  uint64_t buffer = 0;
  int filled = 0;
  int64_t o = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (in[i] < lo || in[i] > hi) {
      throw Error("Value " + std::to_string(int(in[i])) + " at index " + std::to_string(i) + " is off the " +
                      std::to_string(bits) + "-bit grid [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "].",
                  "Clamp or requantize the weights to the bit width first.");
    }
    buffer |= uint64_t(uint32_t(int32_t(in[i])) & mask) << filled;
    filled += bits;
    while (filled >= 8) {
      out[o++] = uint8_t(buffer & 0xff);
      buffer >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) out[o++] = uint8_t(buffer & 0xff);
  return packed;
}

torch::Tensor unpackSignedBits(const torch::Tensor& packed, int64_t count, int bits) {
  checkBits(bits, "weights");
  if (packed.scalar_type() != torch::kByte || count < 0 || packed.numel() * 8 < count * bits) {
    throw Error("A " + std::to_string(bits) + "-bit stream of " + std::to_string(count) +
                " values needs at least " + std::to_string((count * bits + 7) / 8) + " uint8 bytes; got " +
                std::to_string(packed.numel()) + " " + dtypeName(packed) + " values.");
  }
  const torch::Tensor bytes = packed.contiguous().flatten();
  const uint8_t* in = bytes.data_ptr<uint8_t>();
  torch::Tensor values = torch::empty({count}, torch::kChar);
  int8_t* out = values.data_ptr<int8_t>();
  const uint32_t mask = (1u << bits) - 1, sign = 1u << (bits - 1);
  uint64_t buffer = 0;
  int filled = 0;
  int64_t next = 0;
  for (int64_t i = 0; i < count; ++i) {
    while (filled < bits) {
      buffer |= uint64_t(in[next++]) << filled;
      filled += 8;
    }
    const uint32_t u = uint32_t(buffer) & mask;
    buffer >>= bits;
    filled -= bits;
    out[i] = int8_t((u & sign) ? int32_t(u) - int32_t(1u << bits) : int32_t(u));
  }
  return values;
}

std::vector<LowBitStorage> storeLowBitWeights(torch::jit::Module& quantized,
                                              const std::vector<LowBitWeight>& weights) {
  // Everything that can fail happens before the model is changed.
  std::vector<Plan> plans;
  std::set<std::string> attributes, submodules;
  HolderClasses classes;
  for (const auto& w : weights) {
    if (!attributes.insert(w.packedAttribute).second) {
      throw Error("'" + w.packedAttribute + "' is listed twice for low-bit storage.",
                  "List each packed weight once, with one bit width.");
    }
    plans.push_back(planOne(quantized, w, classes));
    if (!submodules.insert(plans.back().submodule).second || quantized.hasattr(plans.back().submodule)) {
      throw Error("Cannot store layer '" + w.layer + "' at low bits: the model already has a member named '" +
                      plans.back().submodule + "'.",
                  "Give each stored layer a distinct name.");
    }
  }
  std::vector<LowBitStorage> stored;
  std::set<std::string> rewrittenMethods;
  for (auto& plan : plans) {
    rewrittenMethods.insert(plan.methods.begin(), plan.methods.end());
    quantized.register_module(plan.submodule, plan.holder);
    for (torch::jit::Node* read : plan.reads) {
      torch::jit::Graph& graph = *read->owningGraph();
      torch::jit::WithInsertPoint insertBefore(read);
      torch::jit::Value* holder = graph.insertGetAttr(read->input(), plan.submodule);
      torch::jit::Value* params = graph.insertGetAttr(holder, "packed_params");
      read->output()->replaceAllUsesWith(params);
      read->destroy();
    }
    // Object first: it finds the slot through the class, which must still list the attribute.
    quantized._ivalue()->unsafeRemoveAttr(plan.request.packedAttribute);
    quantized.type()->unsafeRemoveAttribute(plan.request.packedAttribute);
    stored.push_back(plan.storage);
  }
  // A method that has run keeps executing the plan it optimized from its old graph; only a new function
  // starts afresh. So each rewritten method is re-registered with its graph, as freezing does.
  const auto unit = quantized._ivalue()->compilation_unit();
  for (const std::string& name : rewrittenMethods) {
    auto& old = torch::jit::toGraphFunction(quantized.get_method(name).function());
    const c10::QualifiedName qualified = old.qualname();
    const std::shared_ptr<torch::jit::Graph> graph = old.graph();
    const c10::FunctionSchema schema = old.getSchema();
    quantized.type()->unsafeRemoveMethod(name);
    unit->unsafeRemoveMethod(qualified);
    torch::jit::Function* fresh = unit->create_function(qualified, graph);
    fresh->setSchema(schema);
    quantized.type()->addMethod(fresh);
  }
  return stored;
}

}  // namespace quantscope
