#pragma once
// LibTorch side of Model. Included only by core's implementation files.
#include <torch/script.h>

#include <optional>
#include <string>

#include "core/model/model.h"
#include "core/results/quantization_outcome.h"

namespace quantscope {

// Names of the extra files QuantScope stores inside the archives it writes (torch.jit.save's
// _extra_files can write the same ones from Python).
constexpr const char* kInputSpecExtraFile = "quantscope/input_spec.json";
constexpr const char* kQuantizationExtraFile = "quantscope/quantization.json";

struct Model::Impl {
  torch::jit::Module module;
  std::string sourcePath;   // empty for models made in memory
  std::string label;        // shown for models made in memory, e.g. "digits_cnn.pt (dynamic int8)"
  std::string derivedFrom;  // the original model's file, which saving must never overwrite
  std::optional<InputSpec> inputSpec;
  std::string quantizedEngine;   // engine whose packed weights the module holds; empty for float models
  std::string quantizationJson;  // what produced it, stored in the archive
};

// Activates the quantized engine a quantized model's packed weights belong to (no-op for float models).
void activateEngineOf(const Model& model);
// Runs forward; on failure of a quantized model, the Error names the engine, the failing op and the fix.
c10::IValue forwardOrExplain(const Model& model, const torch::Tensor& input);

Model makeModel(torch::jit::Module module, std::optional<InputSpec> spec, std::string quantizedEngine = {},
                std::string quantizationJson = {});

// A quantized model made from `original`: keeps its input spec, remembers the original file (never to be
// overwritten), and records how it was made inside the archive.
Model makeDerivedModel(torch::jit::Module quantized, const Model& original, const std::string& label,
                       const std::string& engine, const std::string& quantizationJson);
// Adds {"layers": {packed weight: original layer}} to the model's quantization record, so that inspecting
// the saved file shows the original layer names that freezing erased.
void recordLayerNames(Model& model, const std::vector<LayerQuantization>& layers);

// The first tensor in a model's output (a tensor, or the first tensor inside tuples/lists).
torch::Tensor firstTensorOutput(const c10::IValue& output);
torch::Tensor makeInput(const InputSpec& spec, bool random = false);
// First line of a LibTorch error message, without its C++ backtrace.
std::string shortTorchMessage(const std::exception& error);

}  // namespace quantscope

namespace quantscope {

// One weight-like tensor of a model: a float parameter, or the weight/bias inside a packed quantized op.
struct ParameterRecord {
  std::string owner;  // qualified module name ("" for the root)
  std::string ownerType;
  std::string name;   // "weight", "bias", "_packed_params.weight"
  std::string dtype;  // "float32", "qint8", ...
  std::vector<int64_t> shape;
  int64_t numel = 0;
  int64_t bytes = 0;  // storage incl. per-channel scales and zero points of quantized tensors
  torch::Tensor tensor;
};

std::vector<ParameterRecord> collectParameters(const torch::jit::Module& module);
std::string shortTypeName(const torch::jit::Module& module);
std::string dtypeName(const torch::Tensor& tensor);

}  // namespace quantscope
