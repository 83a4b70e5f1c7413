// The one-pass histogram observer: batches whose range grows are merged as PyTorch's HistogramObserver
// merges them (upsampled onto the wider grid), so the counts are kept and the chosen range stays close to
// the one an exact histogram of all the data gives.
#include <QtTest>

#include "core/internal/calibration.h"

using namespace quantscope;

namespace {

torch::jit::Module histogramObserver() {
  CalibrationObserverSpec spec;
  spec.dtype = static_cast<int64_t>(c10::ScalarType::QUInt8);
  spec.kind = ObserverKind::Histogram;
  return makeCalibrationObserver(spec);
}

// Scale of the L2-optimal range of an exact 2048-bin histogram of `data`, as the observer computes it.
double exactScale(const torch::Tensor& data) {
  const double lo = data.min().item<double>(), hi = data.max().item<double>();
  const torch::Tensor h = torch::histc(data, 2048, lo, hi).to(torch::kDouble).contiguous();
  const auto [newMin, newMax] =
      histogramL2Range(std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + 2048), lo, hi, 256);
  return (std::max(newMax, 0.0) - std::min(newMin, 0.0)) / 255.0;
}

}  // namespace

class TestCalibration : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void growingRangesKeepCountsAndRange() {
    torch::manual_seed(3);
    const std::vector<torch::Tensor> batches{torch::randn({4, 8, 16, 16}),
                                             torch::randn({4, 8, 16, 16}) * 3 + 1,
                                             torch::rand({4, 8, 16, 16}), torch::randn({4, 8, 16, 16}) * 5};
    torch::jit::Module observer = histogramObserver();
    for (const auto& batch : batches) observer.forward({batch});
    const torch::Tensor all = torch::cat(batches);
    const torch::Tensor histogram = observer.attr("histogram").toTensor();
    QVERIFY(std::abs(histogram.sum().item<double>() - double(all.numel())) < 1e-3 * double(all.numel()));
    // The kept range covers every value (the max end is relaxed onto the merged grid, as PyTorch does).
    QVERIFY(observer.attr("hist_min").toDouble() <= all.min().item<double>());
    QVERIFY(observer.attr("hist_max").toDouble() >= all.max().item<double>());
    computeObserverQParams(observer);
    const double scale = observer.attr("qscale").toTensor().item<double>();
    const double exact = exactScale(all);
    QVERIFY2(std::abs(scale / exact - 1.0) < 0.05, qPrintable(QString("%1 vs %2").arg(scale).arg(exact)));
  }
  void aTinyFirstRangeMergesIntoAHugeOne() {
    // A first batch of near-zero values, then values 10^5 times larger: the merge must not build an
    // upsampled grid of billions of bins, and still keep every count.
    torch::manual_seed(4);
    torch::jit::Module observer = histogramObserver();
    observer.forward({torch::randn({1000}) * 1e-4});
    observer.forward({torch::randn({1000}) * 10});
    QVERIFY(std::abs(observer.attr("histogram").toTensor().sum().item<double>() - 2000.0) < 1.0);
    computeObserverQParams(observer);
    QVERIFY(observer.attr("qscale").toTensor().item<double>() > 0.01);
  }
  void oneBatchIsExact() {
    torch::manual_seed(5);
    const torch::Tensor data = torch::randn({16, 4, 8, 8}) * 2;
    torch::jit::Module observer = histogramObserver();
    observer.forward({data});
    computeObserverQParams(observer);
    const double scale = observer.attr("qscale").toTensor().item<double>();
    QVERIFY2(std::abs(scale / exactScale(data) - 1.0) < 1e-5, qPrintable(QString::number(scale)));
  }
};

QTEST_GUILESS_MAIN(TestCalibration)
#include "test_calibration.moc"
