#include "core/data/batch_loader.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/errors.h"
#include "core/internal/dataset_impl.h"

namespace quantscope {

BatchLoader::BatchLoader(torch::Tensor inputs, torch::Tensor labels, BatchOptions options)
    : inputs_(std::move(inputs)), labels_(std::move(labels)), options_(std::move(options)) {
  if (!inputs_.defined() || inputs_.dim() == 0) throw Error("Batches need samples: the inputs are empty.");
  if (options_.batchSize < 1) {
    throw Error("The batch size must be at least 1; it is " + std::to_string(options_.batchSize) + ".");
  }
  if (labels_.defined() && labels_.size(0) != inputs_.size(0)) {
    throw Error("The data has " + std::to_string(inputs_.size(0)) + " samples but " +
                std::to_string(labels_.size(0)) + " labels.");
  }
}

BatchLoader::BatchLoader(const Dataset& data, BatchOptions options)
    : BatchLoader(data.impl().inputs, data.impl().labels, std::move(options)) {}

int64_t BatchLoader::batchesPerEpoch() const {
  const int64_t n = samples();
  return options_.dropLast ? n / options_.batchSize : (n + options_.batchSize - 1) / options_.batchSize;
}

uint64_t BatchLoader::epochSeed(int epoch) const {
  return options_.seed * 1000003 + static_cast<uint64_t>(epoch);
}

void BatchLoader::startEpoch(int epoch) {
  const uint64_t seed = epochSeed(epoch);
  if (options_.shuffle) {
    auto generator = at::detail::createCPUGenerator(seed);
    order_ = torch::randperm(samples(), generator, torch::kLong);
  } else {
    order_ = torch::arange(samples(), torch::kLong);
  }
  position_ = 0;
  augmentRng_.seed(seed);
}

std::optional<Batch> BatchLoader::next() {
  if (!order_.defined()) return std::nullopt;
  const int64_t n = samples();
  const int64_t end = std::min(n, position_ + options_.batchSize);
  if (position_ >= n || (options_.dropLast && end - position_ < options_.batchSize)) return std::nullopt;
  Batch batch;
  batch.indices = order_.slice(0, position_, end);
  batch.inputs = inputs_.index_select(0, batch.indices);
  if (labels_.defined()) batch.labels = labels_.index_select(0, batch.indices);
  if (options_.augmentation) batch.inputs = options_.augmentation(batch.inputs, augmentRng_);
  position_ = end;
  return batch;
}

Augmentation randomShiftAugmentation() {
  return [](const torch::Tensor& images, std::mt19937_64& rng) {
    if (images.dim() != 4) return images;
    const int64_t h = images.size(2), w = images.size(3);
    const torch::Tensor padded = torch::constant_pad_nd(images, {1, 1, 1, 1}, 0);
    std::vector<torch::Tensor> shifted;
    shifted.reserve(size_t(images.size(0)));
    std::uniform_int_distribution<int> offset(0, 2);
    for (int64_t i = 0; i < images.size(0); ++i) {
      const int dy = offset(rng), dx = offset(rng);
      shifted.push_back(padded[i].narrow(1, dy, h).narrow(2, dx, w));
    }
    return torch::stack(shifted);
  };
}

}  // namespace quantscope
