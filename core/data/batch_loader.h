#pragma once
// Mini-batches for training: a seeded reshuffle each epoch, a batch size, dropping the last partial batch on
// request, and an augmentation hook applied to each batch. The training loop reads its batches here instead
// of slicing tensors itself. Internal: LibTorch tensors (core/training/ and tests only).
#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <random>

namespace quantscope {

class Dataset;

// Changes a batch's inputs (e.g. a random shift of images), drawing any randomness from `rng` only: the
// loader seeds it per epoch, so the same seed and epoch give the same augmented batches.
using Augmentation = std::function<torch::Tensor(const torch::Tensor& inputs, std::mt19937_64& rng)>;

struct BatchOptions {
  int64_t batchSize = 32;
  uint64_t seed = 0;
  bool shuffle = true;        // false: every epoch in stored order
  bool dropLast = false;      // drop the last batch of an epoch when it is smaller than batchSize
  Augmentation augmentation;  // none when empty
};

struct Batch {
  torch::Tensor inputs;   // augmented when the options have an augmentation
  torch::Tensor labels;   // undefined when the data has none
  torch::Tensor indices;  // int64 positions of the batch's samples in the loader's data
};

class BatchLoader {
 public:
  // `labels` may be undefined (unlabelled data). Throws Error for a batch size below 1 or labels whose
  // count differs from the inputs'.
  BatchLoader(torch::Tensor inputs, torch::Tensor labels, BatchOptions options);
  BatchLoader(const Dataset& data, BatchOptions options);

  int64_t samples() const { return inputs_.size(0); }
  int64_t batchesPerEpoch() const;
  // The seed of epoch `epoch`'s order and augmentation: a function of (seed, epoch) only, so an epoch gives
  // the same batches whether or not earlier epochs ran in this loader (training in phases, reruns).
  uint64_t epochSeed(int epoch) const;

  // Starts epoch `epoch`: a fresh order from epochSeed(epoch) and a fresh augmentation generator.
  void startEpoch(int epoch);
  // The epoch's next batch; nullopt when the epoch is over (or before the first startEpoch).
  std::optional<Batch> next();

 private:
  torch::Tensor inputs_, labels_;
  BatchOptions options_;
  torch::Tensor order_;  // this epoch's sample order
  int64_t position_ = 0;
  std::mt19937_64 augmentRng_;
};

// +-1 pixel random shift of each image of a [N, C, H, W] batch (zero fill), as torchvision's
// RandomCrop(size, padding=1) does; other shapes pass through unchanged.
Augmentation randomShiftAugmentation();

}  // namespace quantscope
