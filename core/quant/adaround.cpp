#include "core/quant/adaround.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/errors.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"
#include "core/quant/low_bit_weights.h"

namespace quantscope {

std::vector<ParamSpec> adaroundParams() {
  return {
      {"adaround",
       ParamType::Bool,
       "false",
       0,
       0,
       {},
       "AdaRound: learn per layer whether each int8 weight rounds up or down, to reproduce the float layer's "
       "output on the calibration data (instead of rounding to nearest)."},
      {"adaround_iters",
       ParamType::Int,
       "500",
       10,
       100000,
       {},
       "AdaRound's Adam steps per layer (AIMET uses 10000; 500 already settles the rounding of small layers "
       "and keeps a MobileNetV2 within minutes on 2 cores)."},
      {"adaround_reg",
       ParamType::Float,
       "0.01",
       0.0,
       100.0,
       {},
       "Weight of AdaRound's regularizer that pushes each weight to round fully up or down (AIMET's 0.01)."},
  };
}

bool adaroundRequested(const ParamValues& params) {
  const auto found = params.find("adaround");
  return found != params.end() && found->second == "true";
}

AdaRoundSettings adaroundSettings(const ParamValues& params) {
  AdaRoundSettings settings;
  if (const auto it = params.find("adaround_iters"); it != params.end())
    settings.iterations = std::stoi(it->second);
  if (const auto it = params.find("adaround_reg"); it != params.end())
    settings.regularization = std::stod(it->second);
  return settings;
}

namespace {

// The rectified sigmoid's stretch (the paper's zeta and gamma): h(V) reaches 0 and 1 at finite V.
constexpr double kZeta = 1.1, kGamma = -0.1;

torch::jit::Module submoduleAt(const torch::jit::Module& root, const std::string& path) {
  for (const auto& sub : root.named_modules())
    if (sub.name == path) return sub.value;
  throw Error("The float model has no module '" + path + "'.");
}

// The module holding a packed-params attribute and the attribute's name there ("a.b._packed_params" or a
// root attribute such as "quantized_forward._jit_pass_packed_weight_3").
std::pair<torch::jit::Module, std::string> packedOwner(const torch::jit::Module& quantized,
                                                       const std::string& path) {
  try {
    return attributeOwner(quantized, path);
  } catch (const std::out_of_range&) {
    throw Error("The int8 model has no packed weight '" + path + "'.");
  }
}

// What one layer's objective needs from the calibration data: either the input rows themselves (when a
// row is longer than there are rows) or their Gram matrix X^T X, per group; both give the same objective.
struct LayerInputs {
  bool isConv = false;
  std::vector<int64_t> kernel, stride, padding, dilation;
  int64_t groups = 1;
  int64_t rowLength = 0;  // per group
  bool useGram = false;
  torch::Tensor gram;                // [groups, rowLength, rowLength], summed
  std::vector<torch::Tensor> parts;  // [groups, rows, rowLength] per batch, when not useGram
  int64_t rows = 0;
};

// The rows a layer's input gives, [groups, rows, rowLength]: a convolution's input patches (im2col, with
// the layer's padding, stride and dilation), a Linear's input vectors; `quota` rows per sample at most.
torch::Tensor sampleRows(const torch::Tensor& input, const LayerInputs& layer, int64_t quota,
                         at::Generator& generator) {
  std::vector<torch::Tensor> perSample;
  const int64_t samples = input.size(0);
  for (int64_t i = 0; i < samples; ++i) {
    torch::Tensor rows;  // [positions, groups * rowLength]
    if (layer.isConv) {
      rows = at::im2col(input[i].unsqueeze(0).to(torch::kFloat), layer.kernel, layer.dilation, layer.padding,
                        layer.stride)[0]
                 .t();
    } else {
      rows = input[i].to(torch::kFloat).reshape({-1, layer.groups * layer.rowLength});
    }
    if (rows.size(0) > quota) {
      const torch::Tensor pick =
          torch::randperm(rows.size(0), generator, torch::TensorOptions().dtype(torch::kLong))
              .slice(0, 0, quota);
      rows = rows.index_select(0, pick);
    }
    perSample.push_back(rows);
  }
  const torch::Tensor all = torch::cat(perSample, 0);
  return all.reshape({all.size(0), layer.groups, layer.rowLength}).transpose(0, 1).contiguous();
}

// D G / rows for weight differences D [groups, channels, rowLength], G = X^T X summed over the rows (kept,
// or computed here from the rows): the objective is sum(D G * D) / rows.
torch::Tensor timesGram(const torch::Tensor& d, const LayerInputs& in) {
  if (in.useGram) return torch::bmm(d, in.gram) / double(in.rows);
  return torch::bmm(torch::bmm(d, in.parts.front().transpose(1, 2)), in.parts.front()) / double(in.rows);
}

// sum over output channels, mean over rows, of (D x)^2.
double objective(const torch::Tensor& d, const LayerInputs& in) {
  return (timesGram(d, in) * d).sum().item<double>();
}

struct LayerJob {
  const LayerQuantization* layer = nullptr;
  std::pair<torch::jit::Module, std::string> packedAt;
  c10::IValue packed;
  torch::Tensor floatWeight;  // [groups, channels per group, rowLength]
  torch::Tensor qweight;      // the finalized int8 weight, as unpacked
  c10::optional<torch::Tensor> bias;
  int bits = 8;
  LayerInputs inputs;
};

// Scale and zero point of each weight, broadcast to [groups, channels per group, 1].
std::pair<torch::Tensor, torch::Tensor> gridOf(const torch::Tensor& q, int64_t groups) {
  const int64_t channels = q.size(0);
  const auto scheme = q.qscheme();
  if (scheme == at::kPerChannelAffine || scheme == at::kPerChannelSymmetric) {
    if (q.q_per_channel_axis() != 0)
      throw Error("per-channel weights along axis " + std::to_string(q.q_per_channel_axis()));
    return {q.q_per_channel_scales().to(torch::kFloat).reshape({groups, channels / groups, 1}),
            q.q_per_channel_zero_points().to(torch::kFloat).reshape({groups, channels / groups, 1})};
  }
  if (scheme == at::kPerTensorAffine || scheme == at::kPerTensorSymmetric) {
    return {torch::full({1, 1, 1}, q.q_scale(), torch::kFloat),
            torch::full({1, 1, 1}, double(q.q_zero_point()), torch::kFloat)};
  }
  throw Error(std::string("weight quantization scheme ") + c10::toString(scheme));
}

// Learns the rounding of one layer; returns the hard-rounded ints and the objective with them.
torch::Tensor learnRounding(const LayerJob& job, const torch::Tensor& scale, const torch::Tensor& zeroPoint,
                            double qmin, double qmax, const AdaRoundSettings& settings,
                            const Progress& progress) {
  const torch::Tensor& w = job.floatWeight;
  const torch::Tensor scaled = w / scale;
  const torch::Tensor floor = scaled.floor();
  const torch::Tensor rest = scaled - floor;
  // h(V) = rest: sigmoid(V) = (rest - gamma) / (zeta - gamma).
  torch::Tensor v = -torch::log((kZeta - kGamma) / (rest - kGamma) - 1.0);
  torch::Tensor m = torch::zeros_like(v), s2 = torch::zeros_like(v);
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEpsilon = 1e-8;
  const int iterations = settings.iterations;
  const int warmUp = static_cast<int>(settings.warmUp * iterations);
  for (int t = 0; t < iterations; ++t) {
    if (t % 50 == 0) progress.update("AdaRound: " + job.layer->layer, double(t) / iterations);
    const torch::Tensor sigmoid = torch::sigmoid(v);
    const torch::Tensor stretched = sigmoid * (kZeta - kGamma) + kGamma;
    const torch::Tensor h = stretched.clamp(0.0, 1.0);
    const torch::Tensor level = floor + h + zeroPoint;
    const torch::Tensor inRange = (level >= qmin).logical_and(level <= qmax);
    const torch::Tensor d = w - scale * (level.clamp(qmin, qmax) - zeroPoint);
    // d(objective)/dD = 2 D G; D = W - s * (clamp(...) - z), so d/dh = -2 s (D G) inside the grid.
    torch::Tensor gradH = -2.0 * timesGram(d, job.inputs) * scale * inRange;
    if (t >= warmUp && settings.regularization > 0) {
      const double progressOfAnnealing = double(t - warmUp) / std::max(1, iterations - warmUp);
      const double beta = settings.betaEnd + 0.5 * (settings.betaStart - settings.betaEnd) *
                                                 (1.0 + std::cos(progressOfAnnealing * M_PI));
      // regularizer: lambda * sum(1 - |2h - 1|^beta); d/dh = -2 lambda beta |2h-1|^(beta-1) sign(2h-1).
      const torch::Tensor a = 2.0 * h - 1.0;
      gradH = gradH - 2.0 * settings.regularization * beta * a.abs().pow(beta - 1.0) * a.sign();
    }
    const torch::Tensor unclamped = (stretched > 0.0).logical_and(stretched < 1.0);
    const torch::Tensor grad = gradH * sigmoid * (1.0 - sigmoid) * (kZeta - kGamma) * unclamped;
    m.mul_(kBeta1).add_(grad, 1.0 - kBeta1);
    s2.mul_(kBeta2).addcmul_(grad, grad, 1.0 - kBeta2);
    const double correction1 = 1.0 - std::pow(kBeta1, t + 1), correction2 = 1.0 - std::pow(kBeta2, t + 1);
    v.sub_(settings.learningRate * (m / correction1) / ((s2 / correction2).sqrt() + kEpsilon));
  }
  return (floor + (v >= 0).to(torch::kFloat) + zeroPoint).clamp(qmin, qmax);
}

c10::IValue repack(const LayerJob& job, const torch::Tensor& qweight) {
  if (!job.inputs.isConv) return callRegisteredOp("quantized::linear_prepack", {qweight, job.bias}).at(0);
  return callRegisteredOp("quantized::conv2d_prepack",
                          {qweight, job.bias, c10::List<int64_t>(job.inputs.stride),
                           c10::List<int64_t>(job.inputs.padding), c10::List<int64_t>(job.inputs.dilation),
                           job.inputs.groups})
      .at(0);
}

std::string formatted(const char* format, double value) {
  char text[48];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

}  // namespace

std::vector<AdaRoundLayer> adaroundWeights(torch::jit::Module& quantized, const torch::jit::Module& folded,
                                           const std::vector<LayerQuantization>& layers,
                                           const torch::Tensor& calibrationInputs,
                                           const AdaRoundSettings& settings, const Progress& progress) {
  if (settings.iterations < 1) throw Error("AdaRound needs at least one iteration.");
  torch::NoGradGuard noGrad;
  std::vector<AdaRoundLayer> results;
  std::vector<LayerJob> jobs;
  for (const auto& layer : layers) {
    AdaRoundLayer result;
    result.layer = layer.layer;
    auto skip = [&](const std::string& why) {
      result.skipped = why;
      results.push_back(result);
    };
    if (!layer.quantized || layer.packedAs.empty()) continue;
    if (layer.opKind != "Conv2d" && layer.opKind != "Linear") {
      skip("AdaRound handles Conv2d and Linear layers, not " + layer.opKind);
      continue;
    }
    LayerJob job;
    job.layer = &layer;
    try {
      job.packedAt = packedOwner(quantized, layer.packedAs);
      job.packed = job.packedAt.first.attr(job.packedAt.second);
      const bool conv = layer.opKind == "Conv2d";
      const torch::jit::Stack unpacked =
          callRegisteredOp(conv ? "quantized::conv2d_unpack" : "quantized::linear_unpack", {job.packed});
      job.qweight = unpacked.at(0).toTensor();
      if (unpacked.size() > 1 && unpacked.at(1).isTensor()) job.bias = unpacked.at(1).toTensor();
      LayerInputs& in = job.inputs;
      in.isConv = conv;
      if (conv) {
        auto ints = [&](const char* what) {
          return callRegisteredOp(std::string("quantized::conv2d_") + what, {job.packed}).at(0).toIntVector();
        };
        if (callRegisteredOp("quantized::conv2d_transpose", {job.packed}).at(0).toInt() != 0) {
          skip("a transposed convolution");
          continue;
        }
        in.stride = ints("stride");
        in.padding = ints("padding");
        in.dilation = ints("dilation");
        in.groups = callRegisteredOp("quantized::conv2d_groups", {job.packed}).at(0).toInt();
      }
    } catch (const Error& e) {
      skip(e.what());
      continue;
    } catch (const std::exception& e) {
      skip("its packed weights could not be unpacked: " + shortTorchMessage(e));
      continue;
    }
    const torch::Tensor floatWeight =
        submoduleAt(folded, layer.layer).attr("weight").toTensor().detach().to(torch::kFloat);
    if (floatWeight.sizes() != job.qweight.sizes() || job.qweight.scalar_type() != c10::kQInt8 ||
        (job.inputs.isConv && floatWeight.dim() != 4)) {
      skip("its int8 weight (" + dtypeName(job.qweight) + ") does not match the float weight's shape");
      continue;
    }
    LayerInputs& in = job.inputs;
    const int64_t channels = floatWeight.size(0);
    if (in.isConv) in.kernel = {floatWeight.size(2), floatWeight.size(3)};
    in.rowLength = floatWeight[0].numel();
    job.floatWeight = floatWeight.reshape({in.groups, channels / in.groups, in.rowLength});
    if (const auto bits = settings.weightBits.find(layer.layer); bits != settings.weightBits.end())
      job.bits = bits->second;
    jobs.push_back(std::move(job));
    result.weights = floatWeight.numel();
    results.push_back(result);
  }
  if (jobs.empty()) return results;

  // The float model's input to every layer, batch by batch, reduced at once to rows or Gram matrices.
  const torch::jit::Module frozen = torch::jit::freeze_module(folded, {}, true, /*preserveParameters=*/true);
  const int64_t samples = calibrationInputs.size(0);
  const int64_t quota = std::max<int64_t>(1, (settings.maxRows + samples - 1) / samples);
  at::Generator generator = at::detail::createCPUGenerator(settings.seed);
  const Progress capture = progress.part(0.0, 0.15);
  for (int64_t begin = 0; begin < samples; begin += settings.batchSize) {
    capture.update("AdaRound: taking each layer's input from the float model", double(begin) / samples);
    const torch::Tensor batch = calibrationInputs.slice(0, begin, begin + settings.batchSize);
    std::map<std::string, torch::Tensor> inputs;
    {
      torch::InferenceMode inference;
      inputs = captureLayerInputs(frozen, batch);
    }
    for (auto& job : jobs) {
      const auto found = inputs.find(job.layer->layer);
      if (found == inputs.end()) continue;
      LayerInputs& in = job.inputs;
      const torch::Tensor rows = sampleRows(found->second, in, quota, generator);
      in.rows += rows.size(1);
      in.parts.push_back(rows);
      // Once there are more rows than a row is long, their Gram matrix is the smaller of the two.
      if (in.rows > in.rowLength) {
        for (const torch::Tensor& part : in.parts) {
          const torch::Tensor gram = torch::bmm(part.transpose(1, 2), part);
          in.gram = in.gram.defined() ? in.gram + gram : gram;
        }
        in.parts.clear();
        in.useGram = true;
      }
    }
  }

  const Progress learning = progress.part(0.15, 1.0);
  for (size_t j = 0; j < jobs.size(); ++j) {
    LayerJob& job = jobs[j];
    AdaRoundLayer& result = *std::find_if(results.begin(), results.end(),
                                          [&](const auto& r) { return r.layer == job.layer->layer; });
    LayerInputs& in = job.inputs;
    if (in.rows == 0) {
      result.skipped =
          "its input could not be taken from the float model (it runs more than once per forward, or inside "
          "a branch or loop)";
      continue;
    }
    if (!in.useGram) in.parts = {torch::cat(in.parts, 1)};
    const Progress layerProgress = learning.part(double(j) / jobs.size(), double(j + 1) / jobs.size());
    torch::Tensor scale, zeroPoint;
    try {
      std::tie(scale, zeroPoint) = gridOf(job.qweight, in.groups);
    } catch (const Error& e) {
      result.skipped = std::string("its weights use ") + e.what() + ", which AdaRound does not handle";
      continue;
    }
    const double qmax = double((int64_t{1} << (job.bits - 1)) - 1), qmin = -qmax - 1;
    const torch::Tensor nearest =
        job.qweight.int_repr().to(torch::kFloat).reshape(job.floatWeight.sizes()).clamp(qmin, qmax);
    // The finalized weight must be the nearest rounding of this float weight, else the pairing is wrong.
    // Ties are left out: a symmetric scale puts each channel's largest weight at exactly +-127.5 steps.
    const torch::Tensor scaled = job.floatWeight.to(torch::kDouble) / scale.to(torch::kDouble);
    const torch::Tensor tie = (scaled - scaled.floor() - 0.5).abs().lt(1e-3);
    const torch::Tensor expected = scaled.round().add(zeroPoint).clamp(qmin, qmax);
    const double mismatch = (expected - nearest)
                                .abs()
                                .gt(0.5)
                                .logical_and(tie.logical_not())
                                .to(torch::kFloat)
                                .mean()
                                .item<double>();
    if (mismatch > 0.01) {
      result.skipped = "its int8 weight is not the nearest rounding of its float weight (" +
                       formatted("%.1f", 100 * mismatch) + " % differ)";
      continue;
    }
    const torch::Tensor learned = learnRounding(job, scale, zeroPoint, qmin, qmax, settings, layerProgress);
    const double channels = double(job.floatWeight.size(0) * job.floatWeight.size(1));
    auto mseOf = [&](const torch::Tensor& ints) {
      return objective(job.floatWeight - scale * (ints - zeroPoint), in) / channels;
    };
    result.rows = in.rows;
    result.mseNearest = mseOf(nearest);
    result.mseLearned = mseOf(learned);
    torch::Tensor chosen = learned;
    if (!(result.mseLearned < result.mseNearest)) {  // never worse than nearest on its own objective
      result.keptNearest = true;
      result.mseLearned = result.mseNearest;
      chosen = nearest;
    }
    result.flipped = chosen.ne(nearest).sum().item<int64_t>();
    if (result.flipped == 0) continue;
    const torch::Tensor ints = chosen.reshape(job.qweight.sizes()).to(torch::kChar).contiguous();
    torch::Tensor qweight;
    if (job.qweight.qscheme() == at::kPerChannelAffine || job.qweight.qscheme() == at::kPerChannelSymmetric) {
      qweight = at::_make_per_channel_quantized_tensor(ints, job.qweight.q_per_channel_scales(),
                                                       job.qweight.q_per_channel_zero_points(), 0);
    } else {
      qweight =
          at::_make_per_tensor_quantized_tensor(ints, job.qweight.q_scale(), job.qweight.q_zero_point());
    }
    try {
      job.packedAt.first.setattr(job.packedAt.second, repack(job, qweight));
    } catch (const std::exception& e) {
      throw Error("AdaRound could not repack layer '" + job.layer->layer +
                  "' for the active engine: " + shortTorchMessage(e));
    }
  }
  progress.update("AdaRound: done", 1.0);
  return results;
}

AccuracyStepResult runAdaRoundStep(torch::jit::Module& quantized, const torch::jit::Module& folded,
                                   const torch::Tensor& calibrationInputs, const torch::Tensor& reportInputs,
                                   const FloatLayerOutputs* captured, const AdaRoundSettings& settings,
                                   const Progress& progress) {
  std::vector<LayerQuantization> before = reportWeightQuantization(folded, quantized, convAndLinearTypes());
  addLayerOutputSqnr(folded, quantized, reportInputs, before, captured);
  const std::vector<AdaRoundLayer> rounded =
      adaroundWeights(quantized, folded, before, calibrationInputs, settings, progress);
  std::vector<LayerQuantization> after = reportWeightQuantization(folded, quantized, convAndLinearTypes());
  addLayerOutputSqnr(folded, quantized, reportInputs, after, captured);

  AccuracyStepResult step;
  int64_t flipped = 0, weights = 0, optimized = 0, skipped = 0, rows = 0;
  for (const auto& r : rounded) {
    AccuracyStepChange change;
    change.step = "adaround";
    change.layer = r.layer;
    if (!r.skipped.empty()) {
      change.change = "not rounded by AdaRound: " + r.skipped;
      ++skipped;
    } else {
      ++optimized;
      flipped += r.flipped;
      weights += r.weights;
      rows = std::max(rows, r.rows);
      change.change = std::to_string(r.flipped) + " of " + std::to_string(r.weights) +
                      " weights rounded the other way; reconstruction MSE " +
                      formatted("%.3g", r.mseNearest) + " -> " + formatted("%.3g", r.mseLearned) + " on " +
                      std::to_string(r.rows) + " input rows" +
                      (r.keptNearest ? " (the learned rounding was not better: nearest rounding kept)" : "");
    }
    const auto b =
        std::find_if(before.begin(), before.end(), [&](const auto& l) { return l.layer == r.layer; });
    const auto a =
        std::find_if(after.begin(), after.end(), [&](const auto& l) { return l.layer == r.layer; });
    if (b != before.end() && a != after.end() && b->hasOutputSqnr && a->hasOutputSqnr) {
      change.outputSqnrBeforeDb = b->outputSqnrDb;
      change.outputSqnrAfterDb = a->outputSqnrDb;
      change.hasOutputSqnr = true;
    }
    step.changes.push_back(change);
  }
  step.note =
      "AdaRound: learned the rounding of " + std::to_string(optimized) + " layers (" +
      std::to_string(flipped) + " of " + std::to_string(weights) +
      " weights rounded the other way than nearest), " + std::to_string(settings.iterations) +
      " Adam steps each, regularizer " + formatted("%g", settings.regularization) + ", on up to " +
      std::to_string(rows) + " input rows per layer from " + std::to_string(calibrationInputs.size(0)) +
      " calibration samples through the float model" +
      (skipped ? "; " + std::to_string(skipped) + " layers left as they were (see the per-layer steps)"
               : "") +
      ".";
  return step;
}

}  // namespace quantscope
