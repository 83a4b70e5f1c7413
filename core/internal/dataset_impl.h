#pragma once
// LibTorch side of Dataset: all samples as one tensor, labels as another (undefined when unlabelled).
#include <torch/script.h>

#include "core/data/dataset.h"

namespace quantscope {

struct Dataset::Impl {
  DatasetInfo info;
  torch::Tensor inputs;  // [N, ...sample shape]
  torch::Tensor labels;  // [N] int64, or undefined
};

Dataset makeDataset(std::string name, torch::Tensor inputs, torch::Tensor labels);

// Loaders for each kind of source; Dataset::load picks one by the location's form.
Dataset loadDigits(const std::string& split);
Dataset loadImageFolder(const DataSource& source, const std::optional<InputSpec>& modelSpec);
Dataset loadTensorFile(const std::string& path);
Dataset loadCsv(const DataSource& source);

}  // namespace quantscope
