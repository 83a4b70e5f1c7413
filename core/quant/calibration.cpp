#include "core/internal/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/csrc/jit/runtime/graph_executor.h>

#include "core/errors.h"
#include "core/internal/layer_outputs.h"

namespace quantscope {
namespace {

constexpr int64_t kHistogramBins = 2048;         // as HistogramObserver
constexpr int64_t kHistogramUpsampleRate = 128;  // as HistogramObserver
constexpr int64_t kQUInt8 = static_cast<int64_t>(c10::ScalarType::QUInt8);

// One pass over the data: min/max (or their moving average) per tensor or per channel and, for the
// histogram and percentile kinds, a histogram that grows with the range as
// torch.ao.quantization.HistogramObserver's does (a histogram already kept is upsampled onto a wider grid
// by upsample_rate and merged), but on the exact float range rather than 1.13's int(min)/int(max).
// forward has one return, so that once inlined its output is its input (probes find the layers' weights).
const char* const kObserverSource = R"JIT(
def forward(self, x):
    if x.numel() > 0:
        y = x.detach().float()
        if self.ch_axis >= 0:
            z = y.transpose(0, self.ch_axis).flatten(1)
            current_min = torch.amin(z, 1)
            current_max = torch.amax(z, 1)
        else:
            current_min, current_max = torch.aminmax(y)
            current_min = current_min.reshape([1])
            current_max = current_max.reshape([1])
        if self.keeps_histogram:
            self.add_to_histogram(y, float(current_min.item()), float(current_max.item()))
        if self.batches == 0:
            self.min_val = current_min
            self.max_val = current_max
        elif self.averaging_constant > 0.0:
            self.min_val = self.min_val + self.averaging_constant * (current_min - self.min_val)
            self.max_val = self.max_val + self.averaging_constant * (current_max - self.max_val)
        else:
            self.min_val = torch.min(current_min, self.min_val)
            self.max_val = torch.max(current_max, self.max_val)
        self.batches = self.batches + 1
    return x

def add_to_histogram(self, y, new_min: float, new_max: float):
    if self.batches == 0 or self.hist_min == self.hist_max:
        self.histogram = torch.histc(y, self.bins, new_min, new_max)
        self.hist_min = new_min
        self.hist_max = new_max
    elif new_min >= self.hist_min and new_max <= self.hist_max:
        self.histogram = self.histogram + torch.histc(y, self.bins, self.hist_min, self.hist_max)
    else:
        combined_min = min(new_min, self.hist_min)
        combined_max = max(new_max, self.hist_max)
        fine_width = (self.hist_max - self.hist_min) / float(self.bins * self.upsample_rate)
        ratio = (combined_max - combined_min) / (float(self.bins) * fine_width)
        downsample_rate = int(ratio)
        if float(downsample_rate) < ratio:
            downsample_rate = downsample_rate + 1
        if downsample_rate <= 8 * self.upsample_rate:
            # HistogramObserver._adjust_min_max and _combine_histograms
            combined_max = combined_min + float(downsample_rate * self.bins) * fine_width
            start = int(round((self.hist_min - combined_min) / fine_width))
            start = max(0, min(start, self.bins * (downsample_rate - self.upsample_rate)))
            wide = torch.zeros([self.bins * downsample_rate], dtype=7)
            wide[start:start + self.bins * self.upsample_rate] = self.histogram.double().repeat_interleave(self.upsample_rate)
            integral = torch.cumsum(wide, 0)[downsample_rate - 1::downsample_rate]
            shifted = torch.zeros([self.bins], dtype=7)
            shifted[1:] = integral[:-1]
            merged = ((integral - shifted) / float(self.upsample_rate)).float()
        else:
            # The kept range is a sliver of the new one (over 8 old bins per new bin): the upsampled grid
            # would be huge (billions of cells), and each old bin falls inside one new bin nearly whole.
            new_width = (combined_max - combined_min) / float(self.bins)
            centers = self.hist_min + (torch.arange(self.bins).double() + 0.5) * (fine_width * float(self.upsample_rate))
            index = ((centers - combined_min) / new_width).long().clamp(0, self.bins - 1)
            merged = torch.zeros([self.bins]).index_add_(0, index, self.histogram)
        self.histogram = torch.histc(y, self.bins, combined_min, combined_max) + merged
        self.hist_min = combined_min
        self.hist_max = combined_max

def calculate_qparams(self):
    return (self.qscale, self.qzero)
)JIT";

// ObserverBase._calculate_qparams for a min/max pair (tensors of one element, or one per channel).
std::pair<torch::Tensor, torch::Tensor> qparamsFromRange(torch::Tensor minVal, torch::Tensor maxVal,
                                                         int64_t dtype, bool symmetric, int64_t qmin,
                                                         int64_t qmax) {
  const double eps = std::numeric_limits<float>::epsilon();
  torch::Tensor minNeg = torch::clamp_max(minVal, 0.0), maxPos = torch::clamp_min(maxVal, 0.0);
  torch::Tensor scale, zeroPoint = torch::zeros(minNeg.sizes(), torch::kLong);
  if (symmetric) {
    maxPos = torch::max(-minNeg, maxPos);
    scale = torch::clamp_min(maxPos / (double(qmax - qmin) / 2.0), eps);
    if (dtype == kQUInt8) zeroPoint += (qmin + qmax + 1) / 2;
  } else {
    scale = torch::clamp_min((maxPos - minNeg) / double(qmax - qmin), eps);
    zeroPoint = torch::clamp(qmin - torch::round(minNeg / scale).to(torch::kLong), qmin, qmax);
  }
  return {scale.to(torch::kFloat), zeroPoint};
}

double histogramNorm(double deltaBegin, double deltaEnd, double density) {
  return density * (deltaEnd * deltaEnd * deltaEnd - deltaBegin * deltaBegin * deltaBegin) / 3.0;
}

// HistogramObserver._compute_quantization_error.
double quantizationError(const std::vector<double>& histogram, double binWidth, int64_t startBin,
                         int64_t endBin, int64_t destinationBins) {
  const auto bins = static_cast<int64_t>(histogram.size());
  const double dstBinWidth = binWidth * double(endBin - startBin + 1) / double(destinationBins);
  if (dstBinWidth == 0.0) return 0.0;
  double norm = 0;
  for (int64_t src = 0; src < bins; ++src) {
    const double density = histogram[size_t(src)] / binWidth;
    if (density == 0) continue;
    const double srcBegin = double(src - startBin) * binWidth, srcEnd = srcBegin + binWidth;
    const double dstOfBegin =
        std::clamp(std::floor(srcBegin / dstBinWidth), 0.0, double(destinationBins - 1));
    const double dstOfEnd = std::clamp(std::floor(srcEnd / dstBinWidth), 0.0, double(destinationBins - 1));
    const double dstOfBeginCenter = (dstOfBegin + 0.5) * dstBinWidth;
    norm += histogramNorm(srcBegin - dstOfBeginCenter, dstBinWidth / 2, density);
    norm += (dstOfEnd - dstOfBegin - 1) * histogramNorm(-dstBinWidth / 2, dstBinWidth / 2, density);
    const double dstOfEndCenter = dstOfEnd * dstBinWidth + dstBinWidth / 2;
    norm += histogramNorm(-dstBinWidth / 2, srcEnd - dstOfEndCenter, density);
  }
  return norm;
}

std::pair<double, double> percentileRange(const std::vector<double>& histogram, double minVal, double maxVal,
                                          double percentile) {
  double total = 0;
  for (double c : histogram) total += c;
  const double binWidth = (maxVal - minVal) / double(histogram.size());
  const double lowTarget = total * (100.0 - percentile) / 100.0, highTarget = total * percentile / 100.0;
  double sum = 0;
  size_t low = 0, high = histogram.size() - 1;
  for (size_t i = 0; i < histogram.size(); ++i) {
    sum += histogram[i];
    if (sum <= lowTarget) low = i + 1;
    if (sum < highTarget) high = i + 1;
  }
  high = std::min(high, histogram.size() - 1);
  return {minVal + binWidth * double(low), minVal + binWidth * double(high + 1)};
}

std::vector<torch::jit::Module> observersOf(torch::jit::Module& module) {
  std::vector<torch::jit::Module> found;
  for (const auto& sub : module.named_modules())
    if (isCalibrationObserver(sub.value)) found.push_back(sub.value);
  return found;
}

}  // namespace

bool isCalibrationObserver(const torch::jit::Module& module) {
  const auto& name = module.type()->name();
  return name && name->name().find("CalibrationObserver") != std::string::npos;
}

ObserverKind parseObserverKind(const std::string& name) {
  if (name == "minmax") return ObserverKind::MinMax;
  if (name == "moving_average_minmax") return ObserverKind::MovingAverageMinMax;
  if (name == "histogram") return ObserverKind::Histogram;
  if (name == "percentile") return ObserverKind::Percentile;
  throw Error("Unknown observer '" + name + "'.",
              "Use minmax, moving_average_minmax, histogram or percentile.");
}

torch::jit::Module makeCalibrationObserver(const CalibrationObserverSpec& s) {
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module m(c10::QualifiedName("__torch__.quantscope.observers.CalibrationObserver"), unit, true);
  m.register_attribute("training", c10::BoolType::get(), false);
  m.register_attribute("dtype", c10::IntType::get(), s.dtype);
  const int64_t qscheme = s.perChannel ? (s.symmetric ? 3 : 1) : (s.symmetric ? 2 : 0);
  m.register_attribute("qscheme", c10::IntType::get(), qscheme);
  m.register_attribute("ch_axis", c10::IntType::get(), int64_t{s.perChannel ? 0 : -1});
  m.register_attribute("is_weight", c10::BoolType::get(), s.isWeight);
  m.register_attribute("reduce_range", c10::BoolType::get(), s.reduceRange);
  m.register_attribute("bits", c10::IntType::get(), int64_t{s.bits});
  m.register_attribute("observer_kind", c10::IntType::get(), static_cast<int64_t>(s.kind));
  m.register_attribute("percentile", c10::FloatType::get(), s.percentile);
  m.register_attribute("averaging_constant", c10::FloatType::get(),
                       s.kind == ObserverKind::MovingAverageMinMax ? 0.01 : 0.0);
  m.register_attribute(
      "keeps_histogram", c10::BoolType::get(),
      !s.isWeight && (s.kind == ObserverKind::Histogram || s.kind == ObserverKind::Percentile));
  m.register_attribute("upsample_rate", c10::IntType::get(), kHistogramUpsampleRate);
  m.register_attribute("batches", c10::IntType::get(), int64_t{0});
  m.register_attribute("bins", c10::IntType::get(), kHistogramBins);
  m.register_attribute("hist_min", c10::FloatType::get(), 0.0);
  m.register_attribute("hist_max", c10::FloatType::get(), 0.0);
  m.register_buffer("min_val", torch::zeros({1}));
  m.register_buffer("max_val", torch::zeros({1}));
  m.register_buffer("histogram", torch::zeros({kHistogramBins}));
  m.register_buffer("qscale", torch::ones({1}));
  m.register_buffer("qzero", torch::zeros({1}, torch::kLong));
  m.define(kObserverSource);
  return m;
}

torch::jit::QConfig makeCalibrationQConfig(const CalibrationQConfigSpec& spec) {
  CalibrationObserverSpec activation;
  activation.dtype = kQUInt8;
  activation.reduceRange = spec.reduceRangeActivations;
  activation.kind = spec.activationKind;
  activation.percentile = spec.percentile;
  activation.bits = spec.activationBits;
  CalibrationObserverSpec weight;
  weight.isWeight = true;
  weight.dtype = static_cast<int64_t>(c10::ScalarType::QInt8);
  weight.symmetric = true;
  weight.perChannel = spec.perChannelWeights;
  weight.bits = spec.weightBits;
  return torch::jit::QConfig(makeCalibrationObserver(activation), makeCalibrationObserver(weight));
}

std::pair<double, double> histogramL2Range(const std::vector<double>& histogram, double minVal, double maxVal,
                                           int64_t destinationBins) {
  const auto bins = static_cast<int64_t>(histogram.size());
  const double binWidth = (maxVal - minVal) / double(bins);
  std::vector<double> cumulative(histogram.size());
  double total = 0;
  for (size_t i = 0; i < histogram.size(); ++i) cumulative[i] = (total += histogram[i]);
  const double stepSize = 1e-5;
  double alpha = 0.0, beta = 1.0, normMin = std::numeric_limits<double>::infinity();
  int64_t startBin = 0, endBin = bins - 1;
  while (alpha < beta) {
    const double nextAlpha = alpha + stepSize, nextBeta = beta - stepSize;
    int64_t l = startBin, r = endBin;
    while (l < endBin && cumulative[size_t(l)] < nextAlpha * total) ++l;
    while (r > startBin && cumulative[size_t(r)] > nextBeta * total) --r;
    int64_t nextStart = startBin, nextEnd = endBin;
    if ((l - startBin) > (endBin - r)) {
      nextStart = l;
      alpha = nextAlpha;
    } else {
      nextEnd = r;
      beta = nextBeta;
    }
    if (nextStart == startBin && nextEnd == endBin) continue;
    const double norm = quantizationError(histogram, binWidth, nextStart, nextEnd, destinationBins);
    if (norm > normMin) break;
    normMin = norm;
    startBin = nextStart;
    endBin = nextEnd;
  }
  return {minVal + binWidth * double(startBin), minVal + binWidth * double(endBin + 1)};
}

void calibrate(torch::jit::Module& observed, const torch::Tensor& inputs, int64_t batchSize,
               const Progress& progress, FloatLayerOutputs* firstBatchOutputs) {
  if (observersOf(observed).empty()) {
    throw Error(
        "The model has no layer that static quantization can quantize (no Conv or Linear reached by the "
        "graph); nothing was written.");
  }
  // One pass: histograms grow with the range as they go (add_to_histogram), as PyTorch's do.
  torch::InferenceMode inference;
  // A forward or two per graph: the executor's profiling and optimization passes would not pay off.
  torch::jit::GraphOptimizerEnabledGuard runAsIs(false);
  const int64_t n = inputs.size(0);
  // The per-layer report's samples, when asked for, are a batch of their own: the first `samples` of
  // the first batch; the rest of that batch follows, then the others as usual.
  int64_t firstEnd = std::min(n, batchSize);
  if (firstBatchOutputs && firstBatchOutputs->samples > 0)
    firstEnd = std::min(firstEnd, firstBatchOutputs->samples);
  for (int64_t start = 0; start < n;) {
    progress.update("Calibrating", double(start) / double(n));
    const int64_t end = start == 0 ? firstEnd : std::min(n, (start / batchSize + 1) * batchSize);
    const torch::Tensor batch = inputs.slice(0, start, end);
    if (start == 0 && firstBatchOutputs) {
      // The observed model computes the float model's values: its layer outputs on this batch are the
      // reference of the per-layer output report, with no second float forward.
      captureLayerOutputs(observed, batch, *firstBatchOutputs);
    } else {
      observed.forward({batch});
    }
    start = end;
  }
  computeObserverQParams(observed);
}

std::pair<int64_t, int64_t> quantRange(int64_t dtype, bool reduceRange, int bits) {
  const bool unsignedType = dtype == kQUInt8;
  if (bits < 8) {
    return unsignedType
               ? std::pair<int64_t, int64_t>{0, (int64_t{1} << bits) - 1}
               : std::pair<int64_t, int64_t>{-(int64_t{1} << (bits - 1)), (int64_t{1} << (bits - 1)) - 1};
  }
  if (reduceRange)
    return unsignedType ? std::pair<int64_t, int64_t>{0, 127} : std::pair<int64_t, int64_t>{-64, 63};
  return unsignedType ? std::pair<int64_t, int64_t>{0, 255} : std::pair<int64_t, int64_t>{-128, 127};
}

std::vector<ActivationGrid> reducedActivationGrids(const torch::jit::Module& observed) {
  std::vector<ActivationGrid> grids;
  for (auto& o : observersOf(const_cast<torch::jit::Module&>(observed))) {
    const int bits = static_cast<int>(o.attr("bits").toInt());
    if (o.attr("is_weight").toBool() || bits >= 8 || o.attr("batches").toInt() == 0) continue;
    const auto [qmin, qmax] = quantRange(o.attr("dtype").toInt(), false, bits);
    grids.push_back(
        {o.attr("qscale").toTensor().item<float>(), o.attr("qzero").toTensor().item<int64_t>(), qmin, qmax});
  }
  return grids;
}

void computeObserverQParams(torch::jit::Module& observed) {
  for (auto& o : observersOf(observed)) {
    if (o.attr("batches").toInt() == 0) continue;  // a branch calibration never took
    const int64_t dtype = o.attr("dtype").toInt();
    const int bits = static_cast<int>(o.attr("bits").toInt());
    const auto [qmin, qmax] = quantRange(dtype, o.attr("reduce_range").toBool(), bits);
    torch::Tensor minVal = o.attr("min_val").toTensor(), maxVal = o.attr("max_val").toTensor();
    const auto kind = static_cast<ObserverKind>(o.attr("observer_kind").toInt());
    if (!o.attr("is_weight").toBool() &&
        (kind == ObserverKind::Histogram || kind == ObserverKind::Percentile)) {
      const torch::Tensor h = o.attr("histogram").toTensor().to(torch::kDouble).contiguous();
      const std::vector<double> histogram(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
      const double lo = o.attr("hist_min").toDouble(), hi = o.attr("hist_max").toDouble();
      if (hi > lo) {
        // As HistogramObserver, the L2 search targets the grid's levels: 256 at 8 bits, 2^b below, so a
        // 4-bit activation gets the clipping that is optimal for 16 levels, not for 256.
        const int64_t levels = int64_t{1} << std::min(bits, 8);
        const auto [newMin, newMax] =
            kind == ObserverKind::Histogram
                ? histogramL2Range(histogram, lo, hi, levels)
                : percentileRange(histogram, lo, hi, o.attr("percentile").toDouble());
        minVal = torch::full({1}, newMin);
        maxVal = torch::full({1}, newMax);
      }
    }
    const int64_t qscheme = o.attr("qscheme").toInt();
    auto [scale, zeroPoint] =
        qparamsFromRange(minVal, maxVal, dtype, qscheme == 2 || qscheme == 3, qmin, qmax);
    o.setattr("qscale", scale);
    o.setattr("qzero", zeroPoint);
  }
}

}  // namespace quantscope
