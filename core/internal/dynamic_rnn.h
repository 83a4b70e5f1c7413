#pragma once
// Dynamic quantization of LSTM/GRU layers: rewrites aten::lstm / aten::gru in a frozen graph to LibTorch's
// quantized RNN kernels (aten::quantized_lstm / quantized_gru) with int8 weights packed into CellParams,
// as torch.ao.nn.quantized.dynamic.LSTM/GRU do.
#include <torch/script.h>

#include <vector>

#include "core/results/quantization_outcome.h"

namespace quantscope {

struct RnnQuantization {
  bool perChannel = false;
  bool reduceRange = false;
};

// Returns how many RNN layers now run on the quantized kernels.
int quantizeRnnLayers(torch::jit::Module& frozen, const RnnQuantization& settings);

// Symmetric int8 weight quantization, as MinMaxObserver / PerChannelMinMaxObserver with qint8 (per-channel:
// one scale per output row). Shared with the transformer rewrite (core/quant/dynamic_transformer).
torch::Tensor quantizeDynamicWeight(const torch::Tensor& weight, bool perChannel);

// The int8 weights and float biases held by a CellParamsBase object (for sizes and reports).
std::vector<torch::Tensor> unpackCellParams(const c10::IValue& cellParams);

}  // namespace quantscope
