#pragma once
// A TorchScript model as QuantScope handles it. The class is a cheap, shared handle: copies of a Model are
// the same model. clone() makes an independent one, and a const Model gives only const access to its
// internals, so code that must not change a model (a technique, a worker thread) takes it const or clones it.
// The LibTorch internals stay in core's implementation files so that no front end sees a torch header.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/input_spec.h"

namespace quantscope {

struct LayerInfo {
  std::string name;                          // qualified name, e.g. "layer1.0.conv1"
  std::string type;                          // module type, e.g. "Conv2d", "Linear", "LSTM"
  std::vector<std::string> parameterShapes;  // "weight 16x1x3x3", "bias 16"
  int64_t parameterCount = 0;
  std::string dtype;                       // "float32", "qint8 (packed)", ...
  std::vector<std::string> quantizableBy;  // technique names that can quantize this layer
};

struct ModelInfo {
  std::string path;
  int64_t fileBytes = 0;
  int64_t parameterCount = 0;
  int64_t parameterBytes = 0;
  bool quantized = false;
  std::string quantizedEngine;  // engine the model's packed weights need, when quantized
  std::optional<InputSpec> inputSpec;
  std::vector<LayerInfo> layers;
};

class Model {
 public:
  struct Impl;

  // Loads a TorchScript archive (torch.jit.save of a scripted or traced module). Throws Error with a
  // message that names the problem: missing file, truncated archive, a torch.save pickle, ONNX, ...
  static Model load(const std::string& path);
  explicit Model(std::shared_ptr<Impl> impl);

  // An independent deep copy: the module with its own parameters, buffers and attributes, and the handle's
  // own input spec, names and quantization record. Changing either model leaves the other as it was.
  Model clone() const;

  const std::string& sourcePath() const;
  std::string displayName() const;
  std::optional<InputSpec> inputSpec() const;
  void setInputSpec(const InputSpec& spec);
  // The input spec or, when the model carries none, an Error asking the user for one.
  InputSpec requireInputSpec() const;

  ModelInfo inspect() const;
  // The archive exactly as save() writes it; its size is what the file weighs.
  std::string serialize() const;
  // Writes atomically (temporary file, then rename) and refuses to overwrite the file it was loaded from.
  void save(const std::string& path) const;
  // Runs one forward pass on zeros of `spec`; throws Error naming expected and given shapes if it fails.
  void checkInput(const InputSpec& spec) const;
  // Operators of the forward graph with submodule calls inlined, e.g. {"quantized::linear_dynamic": 2}.
  std::map<std::string, int> graphOperators() const;

  // Internals for core's own files. A const Model gives only const access (nothing changes through it);
  // the non-const overload is for code that owns the model it changes. The module inside is LibTorch's
  // handle, so even through const access a caller must not train or rewrite it in place: clone() first.
  const Impl& impl() const { return *impl_; }
  Impl& impl() { return *impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace quantscope
