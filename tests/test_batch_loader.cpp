// The training loop's batches (core/data/batch_loader): every sample exactly once per epoch, seeded orders
// (the same seed and epoch give the same order, another epoch another order), the last partial batch kept
// or dropped, labels following their samples, and augmentation applied per batch with its own seeded
// generator. LibTorch headers: Qt's keywords stay off here.
#include <QtTest>
#include <algorithm>
#include <numeric>
#include <set>

#include "core/data/batch_loader.h"
#include "core/internal/dataset_impl.h"
#include "tests/test_support.h"

using namespace quantscope;

namespace {

// Sample i's input is the constant i (a 1x2x2 image), its label i % 10: a batch shows which samples it holds.
Dataset numberedSamples(int64_t n) {
  const torch::Tensor values = torch::arange(n, torch::kFloat).reshape({n, 1, 1, 1}).expand({n, 1, 2, 2});
  return makeDataset("numbered", values.contiguous(), torch::arange(n, torch::kLong).remainder(10));
}

std::vector<int64_t> toVector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kLong);
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// The order of one epoch, batch by batch, as sample indices; checks each batch's inputs and labels match.
std::vector<std::vector<int64_t>> epochBatches(BatchLoader& loader, int epoch) {
  loader.startEpoch(epoch);
  std::vector<std::vector<int64_t>> batches;
  while (std::optional<Batch> batch = loader.next()) {
    const std::vector<int64_t> indices = toVector(batch->indices);
    // Without augmentation the inputs are the samples themselves: pixel (0, 0) holds the sample's number.
    const std::vector<int64_t> fromInputs = toVector(batch->inputs.select(1, 0).select(1, 0).select(1, 0));
    if (fromInputs != indices) throw std::runtime_error("inputs do not follow their indices");
    std::vector<int64_t> expectedLabels;
    for (const int64_t i : indices) expectedLabels.push_back(i % 10);
    if (toVector(batch->labels) != expectedLabels) throw std::runtime_error("labels do not follow");
    batches.push_back(indices);
  }
  return batches;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

}  // namespace

class TestBatchLoader : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void everySampleExactlyOncePerEpochWithThePartialBatchLast() {
    BatchOptions options;
    options.batchSize = 32;
    options.seed = 7;
    BatchLoader loader(numberedSamples(100), options);
    QCOMPARE(loader.samples(), int64_t{100});
    QCOMPARE(loader.batchesPerEpoch(), int64_t{4});
    for (int epoch = 0; epoch < 3; ++epoch) {
      const auto batches = epochBatches(loader, epoch);
      QCOMPARE(batches.size(), size_t{4});
      QCOMPARE(batches[0].size(), size_t{32});
      QCOMPARE(batches[1].size(), size_t{32});
      QCOMPARE(batches[2].size(), size_t{32});
      QCOMPARE(batches[3].size(), size_t{4});  // 100 = 3 x 32 + 4
      std::vector<int64_t> all = flatten(batches);
      std::sort(all.begin(), all.end());
      std::vector<int64_t> expected(100);
      std::iota(expected.begin(), expected.end(), 0);
      QCOMPARE(all, expected);
    }
    QVERIFY(!loader.next());  // the epoch is over until the next startEpoch
  }

  void dropLastDropsOnlyThePartialBatch() {
    BatchOptions options;
    options.batchSize = 32;
    options.dropLast = true;
    BatchLoader loader(numberedSamples(100), options);
    QCOMPARE(loader.batchesPerEpoch(), int64_t{3});
    const auto batches = epochBatches(loader, 0);
    QCOMPARE(batches.size(), size_t{3});
    std::set<int64_t> seen;
    for (const auto& b : batches) {
      QCOMPARE(b.size(), size_t{32});
      seen.insert(b.begin(), b.end());
    }
    QCOMPARE(seen.size(), size_t{96});  // no sample twice; the 4 left over wait for another epoch's order
    // An exact multiple of the batch size loses nothing.
    BatchLoader exact(numberedSamples(64), options);
    QCOMPARE(flatten(epochBatches(exact, 0)).size(), size_t{64});
  }

  void ordersAreSeededByTheSeedAndTheEpoch() {
    BatchOptions options;
    options.batchSize = 10;
    options.seed = 3;
    BatchLoader a(numberedSamples(50), options), b(numberedSamples(50), options);
    const auto epoch0 = flatten(epochBatches(a, 0));
    const auto epoch1 = flatten(epochBatches(a, 1));
    QCOMPARE(flatten(epochBatches(b, 0)), epoch0);  // same seed, same epoch: same order
    QVERIFY(epoch0 != epoch1);                      // another epoch: another order
    // An epoch's order does not depend on what ran before: epoch 1 straight away gives the same order.
    BatchLoader fresh(numberedSamples(50), options);
    QCOMPARE(flatten(epochBatches(fresh, 1)), epoch1);
    // Another seed: another order; no shuffling: stored order.
    options.seed = 4;
    BatchLoader other(numberedSamples(50), options);
    QVERIFY(flatten(epochBatches(other, 0)) != epoch0);
    options.shuffle = false;
    BatchLoader stored(numberedSamples(50), options);
    std::vector<int64_t> inOrder(50);
    std::iota(inOrder.begin(), inOrder.end(), 0);
    QCOMPARE(flatten(epochBatches(stored, 0)), inOrder);
    QVERIFY(epoch0 != inOrder);
  }

  void augmentationRunsOnEachBatchWithItsOwnSeededGenerator() {
    BatchOptions options;
    options.batchSize = 8;
    options.seed = 11;
    int calls = 0;
    options.augmentation = [&calls](const torch::Tensor& inputs, std::mt19937_64& rng) {
      ++calls;
      return inputs + double(rng() % 1000);  // a seeded offset per batch
    };
    const Dataset data = numberedSamples(20);
    BatchLoader loader(data, options);
    const auto offsets = [&](int epoch) {
      loader.startEpoch(epoch);
      std::vector<double> result;
      while (std::optional<Batch> batch = loader.next()) {
        // Augmented inputs minus the samples they came from: one offset per batch, labels untouched.
        const torch::Tensor original = data.impl().inputs.index_select(0, batch->indices);
        const torch::Tensor offset = batch->inputs - original;
        if (!torch::allclose(offset, torch::full_like(offset, offset.flatten()[0].item<double>())))
          throw std::runtime_error("one batch, one offset");
        result.push_back(offset.flatten()[0].item<double>());
      }
      return result;
    };
    const std::vector<double> first = offsets(0);
    QCOMPARE(first.size(), size_t{3});  // 8 + 8 + 4
    QCOMPARE(calls, 3);
    QCOMPARE(offsets(0), first);  // restarting the epoch restarts its generator
    QVERIFY(offsets(1) != first);
  }

  void randomShiftMovesImagesByAtMostOnePixel() {
    torch::Tensor images = torch::zeros({16, 1, 5, 5});
    images.select(2, 2).select(2, 2).fill_(1.0);  // one bright pixel in the middle of each image
    std::mt19937_64 rng(5), same(5);
    const torch::Tensor shifted = randomShiftAugmentation()(images, rng);
    QCOMPARE(shifted.sizes().vec(), images.sizes().vec());
    QVERIFY(torch::equal(shifted, randomShiftAugmentation()(images, same)));  // seeded
    std::set<int64_t> positions;
    for (int64_t i = 0; i < 16; ++i) {
      QCOMPARE(shifted[i].sum().item<double>(), 1.0);  // the pixel moved, nothing else appeared
      const int64_t at = shifted[i].flatten().argmax().item<int64_t>();
      const int64_t y = at / 5, x = at % 5;
      QVERIFY(y >= 1 && y <= 3 && x >= 1 && x <= 3);
      positions.insert(at);
    }
    QVERIFY(positions.size() > 1);  // 16 images, 9 possible shifts: not all the same
    // Anything but [N, C, H, W] passes through.
    const torch::Tensor flat = torch::ones({4, 6});
    QVERIFY(torch::equal(randomShiftAugmentation()(flat, rng), flat));
  }

  void badOptionsAreRefused() {
    BatchOptions options;
    options.batchSize = 0;
    test::expectError([&] { BatchLoader loader(numberedSamples(4), options); },
                      {"batch size must be at least 1"});
    options.batchSize = 2;
    test::expectError(
        [&] {
          BatchLoader(torch::zeros({4, 3}), torch::zeros({3}, torch::kLong), options);
        },
        {"4 samples but 3 labels"});
    BatchLoader unlabelled(torch::zeros({5, 3}), torch::Tensor(), options);
    unlabelled.startEpoch(0);
    const std::optional<Batch> batch = unlabelled.next();
    QVERIFY(batch && !batch->labels.defined());
    QCOMPARE(batch->inputs.size(0), int64_t{2});
  }
};

QTEST_GUILESS_MAIN(TestBatchLoader)
#include "test_batch_loader.moc"
