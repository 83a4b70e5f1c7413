#include "core/pruning/channel_removal.h"

#include <algorithm>
#include <set>

#include "core/errors.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

const std::set<std::string> kLayerTypes{"Conv1d", "Conv2d", "Conv3d", "Linear"};
// Modules and ops that act on each channel separately: a zero channel stays zero through them.
const std::set<std::string> kChannelwiseModules{"ReLU",
                                                "ReLU6",
                                                "MaxPool1d",
                                                "MaxPool2d",
                                                "MaxPool3d",
                                                "AvgPool1d",
                                                "AvgPool2d",
                                                "AvgPool3d",
                                                "Dropout",
                                                "Identity",
                                                "AdaptiveAvgPool2d",
                                                "AdaptiveMaxPool2d",
                                                "FakeQuantObserver"};
const std::set<std::string> kChannelwiseOps{"aten::relu",       "aten::relu_",
                                            "aten::max_pool2d", "aten::avg_pool2d",
                                            "aten::dropout",    "aten::adaptive_avg_pool2d",
                                            "aten::max_pool1d", "aten::avg_pool1d"};

// The child module a CallMethod node calls, when it is `self.<name>` of the graph's module.
std::optional<std::pair<std::string, torch::jit::Module>> calledChild(torch::jit::Node* call,
                                                                      const torch::jit::Module& owner) {
  if (call->kind() != c10::prim::CallMethod || call->s(c10::attr::name) != "forward") return std::nullopt;
  torch::jit::Node* getAttr = call->input(0)->node();
  if (getAttr->kind() != c10::prim::GetAttr || getAttr->input(0) != getAttr->owningGraph()->inputs()[0]) {
    return std::nullopt;
  }
  const std::string name = getAttr->s(c10::attr::name);
  if (!owner.hasattr(name) || !owner.attr(name).isModule()) return std::nullopt;
  return std::make_pair(name, owner.attr(name).toModule());
}

std::string typeOf(const torch::jit::Module& m) {
  const std::string type = shortTypeName(m);
  return type.find("FakeQuantObserver") != std::string::npos ? "FakeQuantObserver" : type;
}

void planFrom(torch::jit::Node* producer, ChannelRemovalPlan& plan, const torch::jit::Module& owner,
              const std::string& prefix) {
  struct Pending {
    torch::jit::Value* value;
    bool flattened;
  };
  std::vector<Pending> pending{{producer->output(), false}};
  const auto block = [&](const std::string& reason) {
    if (plan.reason.empty()) plan.reason = reason;
  };
  while (!pending.empty()) {
    const Pending current = pending.back();
    pending.pop_back();
    for (const auto& use : current.value->uses()) {
      torch::jit::Node* user = use.user;
      if (user->owningBlock() != producer->owningBlock()) {
        block("its output is used inside an if/loop block");
        continue;
      }
      if (auto child = calledChild(user, owner)) {
        const std::string type = typeOf(child->second);
        if (kChannelwiseModules.count(type)) {
          pending.push_back({user->output(), current.flattened});
        } else if (type == "Flatten") {
          pending.push_back({user->output(), true});
        } else if (kLayerTypes.count(type) && use.offset == 1) {
          const bool conv = type != "Linear";
          if (conv && (current.flattened || child->second.attr("groups").toInt() != 1)) {
            block("its output feeds a grouped or depthwise convolution");
          } else if (!conv && !current.flattened && plan.module.attr("weight").toTensor().dim() != 2) {
            block("its output feeds a Linear layer without being flattened");
          } else {
            plan.consumers.push_back({prefix + child->first, child->second, current.flattened});
          }
        } else {
          block("its output feeds " + type);
        }
        continue;
      }
      const std::string kind = user->kind().toQualString();
      if (kChannelwiseOps.count(kind) && use.offset == 0) {
        pending.push_back({user->output(), current.flattened});
      } else if (kind == "aten::flatten" && use.offset == 0) {
        pending.push_back({user->output(), true});
      } else if (kind == "prim::Return") {
        block("its output is the model's output");
      } else if (kind == "aten::add" || kind == "aten::add_") {
        block("its output feeds a residual add");
      } else {
        block("its output feeds " + kind);
      }
    }
  }
  plan.removable = plan.reason.empty() && !plan.consumers.empty();
  if (plan.reason.empty() && plan.consumers.empty())
    plan.reason = "no following Conv/Linear consumes its output";
}

torch::Tensor keepIndex(int64_t size, const std::vector<int64_t>& removed) {
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < size; ++i) {
    if (!std::binary_search(removed.begin(), removed.end(), i)) keep.push_back(i);
  }
  return torch::tensor(keep, torch::kLong);
}

void replaceParameter(torch::jit::Module& module, const std::string& name, const torch::Tensor& value) {
  module.register_parameter(name, value.detach().contiguous().requires_grad_(true), /*is_buffer=*/false);
}

// Linear's in/out_features are plain attributes in some exports and constants of the class in others (a
// constant cannot change, and forward does not read it).
void setSizeAttribute(torch::jit::Module& module, const std::string& name, int64_t value) {
  if (module.type()->hasConstant(name) || !module.hasattr(name)) return;
  module.setattr(name, value);
}

}  // namespace

std::map<std::string, ChannelRemovalPlan> planChannelRemoval(const torch::jit::Module& model) {
  std::map<std::string, ChannelRemovalPlan> plans;
  for (const auto& sub : model.named_modules()) {
    const std::string prefix = sub.name.empty() ? "" : sub.name + ".";
    if (!sub.value.find_method("forward")) continue;
    auto graph = sub.value.get_method("forward").graph();
    for (torch::jit::Node* node : graph->nodes()) {
      auto child = calledChild(node, sub.value);
      if (!child || !kLayerTypes.count(typeOf(child->second))) continue;
      const std::string name = prefix + child->first;
      ChannelRemovalPlan plan{name, child->second, false, {}, {}};
      if (plans.count(name)) {
        plans[name].removable = false;
        plans[name].reason = "the layer is called more than once";
        continue;
      }
      planFrom(node, plan, sub.value, prefix);
      plans.emplace(name, std::move(plan));
    }
  }
  return plans;
}

void removeChannels(const ChannelRemovalPlan& plan, const std::vector<int64_t>& channels) {
  if (!plan.removable)
    throw Error("Internal: channels of " + plan.layer + " cannot be removed: " + plan.reason);
  if (channels.empty()) return;
  torch::NoGradGuard noGrad;
  torch::jit::Module producer = plan.module;
  const torch::Tensor weight = producer.attr("weight").toTensor();
  const int64_t channelCount = weight.size(0);
  const torch::Tensor keep = keepIndex(channelCount, channels);
  replaceParameter(producer, "weight", weight.index_select(0, keep));
  const c10::IValue bias = producer.attr("bias");
  if (bias.isTensor() && bias.toTensor().defined())
    replaceParameter(producer, "bias", bias.toTensor().index_select(0, keep));
  setSizeAttribute(producer, "out_features", keep.size(0));
  for (const auto& consumer : plan.consumers) {
    torch::jit::Module next = consumer.module;
    const torch::Tensor nextWeight = next.attr("weight").toTensor();
    torch::Tensor index = keep;
    if (consumer.flattened) {
      const int64_t block = nextWeight.size(1) / channelCount;
      if (block * channelCount != nextWeight.size(1)) {
        throw Error("Internal: " + consumer.layer + " has " + std::to_string(nextWeight.size(1)) +
                    " inputs, not a multiple of " + std::to_string(channelCount) + " channels.");
      }
      index = (keep.unsqueeze(1) * block + torch::arange(block, torch::kLong).unsqueeze(0)).flatten();
    }
    replaceParameter(next, "weight", nextWeight.index_select(1, index));
    setSizeAttribute(next, "in_features", index.size(0));
  }
}

}  // namespace quantscope
