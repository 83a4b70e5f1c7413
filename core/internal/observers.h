#pragma once
// Observers as TorchScript modules, built in C++ for LibTorch's graph-mode passes (InsertObservers and
// InsertQuantDeQuant read their `dtype` and `qscheme` attributes and call `calculate_qparams`).
// Numerics follow torch.ao.quantization.observer in PyTorch 1.13.
#include <torch/script.h>

namespace quantscope {

// c10::ScalarType codes for the dtypes observers produce.
constexpr int64_t kQInt8Code = static_cast<int64_t>(c10::ScalarType::QInt8);
constexpr int64_t kQUInt8Code = static_cast<int64_t>(c10::ScalarType::QUInt8);

struct ObserverSettings {
  int64_t dtype = kQInt8Code;
  bool perChannel = false;
  bool symmetric = true;
  bool reduceRange = false;
  int64_t channelAxis = 0;
};

// MinMaxObserver / PerChannelMinMaxObserver.
torch::jit::Module makeMinMaxObserver(const ObserverSettings& settings);
// PlaceholderObserver: dynamic quantization picks activation qparams at run time, per batch.
torch::jit::Module makeDynamicPlaceholderObserver(bool reduceRange);

}  // namespace quantscope
