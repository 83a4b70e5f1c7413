// Sub-8-bit weights stored packed: the bitstream format, the rewritten module computing exactly the
// grid-clamped int8 model, a file that shrinks by the packed bytes, and stock PyTorch loading it with the
// same outputs. Uses core internals (LibTorch), so torch headers come first and Qt's keywords are off.
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QtTest>
#include <fstream>
#include <map>
#include <random>

#include "core/data/dataset.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/graph_walk.h"
#include "core/internal/model_impl.h"
#include "core/internal/weight_report.h"
#include "core/quant/fake_quant.h"
#include "core/quant/low_bit_weights.h"
#include "core/runtime/runtime_info.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;

namespace {

torch::jit::Stack callOp(const char* op, torch::jit::Stack stack) {
  c10::Dispatcher::singleton().findSchemaOrThrow(op, "").callBoxed(&stack);
  return stack;
}

// (int8 weight, bias) of a Linear or Conv2d packed params object.
std::pair<torch::Tensor, torch::Tensor> unpackParams(const c10::IValue& packed) {
  const bool linear = packed.type()->str().find("Linear") != std::string::npos;
  const torch::jit::Stack out =
      callOp(linear ? "quantized::linear_unpack" : "quantized::conv2d_unpack", {packed});
  return {out.at(0).toTensor(), out.at(1).isTensor() ? out.at(1).toTensor() : torch::Tensor()};
}

// What storing at `bits` should give: int values clamped to the grid, scales rounded to float32.
c10::IValue clampedPrepack(const c10::IValue& packed, int bits) {
  const auto [weight, bias] = unpackParams(packed);
  const int64_t half = int64_t{1} << (bits - 1);
  const torch::Tensor q = at::_make_per_channel_quantized_tensor(
      weight.int_repr().clamp(-half, half - 1),
      weight.q_per_channel_scales().to(torch::kFloat).to(torch::kDouble), weight.q_per_channel_zero_points(),
      weight.q_per_channel_axis());
  const c10::IValue optionalBias = bias.defined() ? c10::IValue(bias) : c10::IValue();
  if (packed.type()->str().find("Linear") != std::string::npos)
    return callOp("quantized::linear_prepack", {q, optionalBias}).at(0);
  const c10::List<int64_t> stride = callOp("quantized::conv2d_stride", {packed}).at(0).toIntList();
  const c10::List<int64_t> padding = callOp("quantized::conv2d_padding", {packed}).at(0).toIntList();
  const c10::List<int64_t> dilation = callOp("quantized::conv2d_dilation", {packed}).at(0).toIntList();
  const int64_t groups = callOp("quantized::conv2d_groups", {packed}).at(0).toInt();
  return callOp("quantized::conv2d_prepack", {q, optionalBias, stride, padding, dilation, groups}).at(0);
}

torch::Tensor run(torch::jit::Module& module, const torch::Tensor& inputs) {
  torch::InferenceMode inference;
  return module.forward({inputs}).toTensor();
}

int countGetAttr(torch::jit::Module& module, const std::string& name) {
  int count = 0;
  forEachNode(module.get_method("forward").graph(), [&](torch::jit::Node* node) {
    count += node->kind() == c10::prim::GetAttr && node->s(c10::attr::name) == name ? 1 : 0;
  });
  return count;
}

}  // namespace

class TestLowBitWeights : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void packingRoundTripsEveryBitWidth() {
    std::mt19937 random(7);
    for (int bits = 2; bits <= 8; ++bits) {
      const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1001}, int64_t{4096}}) {
        std::uniform_int_distribution<int> pick(lo, hi);
        torch::Tensor values = torch::empty({n}, torch::kChar);
        for (int64_t i = 0; i < n; ++i) values[i] = pick(random);
        values[0] = lo;
        values[n - 1] = hi;
        if (n > 2) values[n / 2] = lo;
        const torch::Tensor shaped = n == 4096 ? values.view({16, 4, 64}) : values;
        const torch::Tensor packed = packSignedBits(shaped, bits);
        QCOMPARE(packed.scalar_type(), torch::kByte);
        QCOMPARE(packed.numel(), (n * bits + 7) / 8);
        const torch::Tensor back = unpackSignedBits(packed, n, bits);
        QCOMPARE(back.scalar_type(), torch::kChar);
        QVERIFY2(torch::equal(back, values), qPrintable(QString("%1 bits, %2 values").arg(bits).arg(n)));
      }
    }
    // The format itself: little-endian, value i at bits [i*b, (i+1)*b), two's complement.
    const torch::Tensor two = packSignedBits(torch::tensor({0, 1, -2, -1}, torch::kChar), 2);
    QCOMPARE(two.numel(), int64_t{1});
    QCOMPARE(int(two[0].item<uint8_t>()), 0b11100100);
    const torch::Tensor three = packSignedBits(torch::tensor({3, -4, -1}, torch::kChar), 3);  // 011 100 111
    QCOMPARE(three.numel(), int64_t{2});
    QCOMPARE(int(three[0].item<uint8_t>()), 0b11100011);
    QCOMPARE(int(three[1].item<uint8_t>()), 0b1);
  }

  void mixedPrecisionWeightsStayWithinHalfAStepOfTheFloatWeights() {
    // For every bit-width, the technique's int8 weights sit on the b-bit grid and each dequantized value is
    // within half a quantization step of the float weight it came from (batch norms folded).
    const Model model = Model::load(builtinDigitsModelPath());
    const Dataset calibration = Dataset::load(DataSource{"digits:train"});
    std::map<std::string, torch::Tensor> floatWeights;
    for (const auto& p : collectParameters(foldedFloatCopy(model.impl().module)))
      if (p.name == "weight") floatWeights[p.owner] = p.tensor.detach();
    for (int bits = 2; bits <= 8; ++bits) {
      const QuantizationOutcome outcome = prepare_model_for_quantization(
          model, "mixed", {{"bits_weights", std::to_string(bits)}}, &calibration);
      std::map<std::string, torch::Tensor> packed;
      for (const auto& p : collectParameters(outcome.model.impl().module))
        if (p.tensor.is_quantized()) packed[packedLayerPath(p)] = p.tensor;
      int checked = 0;
      for (const auto& layer : outcome.layers) {
        if (!layer.quantized) continue;
        const torch::Tensor q = packed.at(layer.packedAs);
        const torch::Tensor ints = q.int_repr().to(torch::kInt);
        QVERIFY(ints.min().item<int>() >= -(1 << (bits - 1)) &&
                ints.max().item<int>() <= (1 << (bits - 1)) - 1);
        const torch::Tensor scales = q.q_per_channel_scales().to(torch::kFloat);
        std::vector<int64_t> shape(size_t(q.dim()), 1);
        shape[0] = scales.numel();
        const torch::Tensor error = (q.dequantize() - floatWeights.at(layer.layer)).abs();
        const torch::Tensor bound = scales.reshape(shape) / 2 * (1 + 1e-5) + 1e-7;
        QVERIFY2(error.le(bound).all().item<bool>(), (layer.layer + " at " + std::to_string(bits)).c_str());
        ++checked;
      }
      QCOMPARE(checked, 5);
    }
  }

  void offGridValuesAndBadBitWidthsAreRefused() {
    for (int bits = 2; bits <= 7; ++bits) {
      const int hi = (1 << (bits - 1)) - 1;
      test::expectError(
          [&] {
            packSignedBits(torch::tensor({0, hi + 1}, torch::kChar), bits);
          },
          {"off the", QString::number(bits) + "-bit grid"});
      test::expectError(
          [&] {
            packSignedBits(torch::tensor({-hi - 2, 0}, torch::kChar), bits);
          },
          {"off the"});
    }
    for (int bits : {0, 1, 9, 16}) {
      test::expectError([&] { packSignedBits(torch::zeros({4}, torch::kChar), bits); }, {"2 to 8 bits"});
      test::expectError([&] { unpackSignedBits(torch::zeros({4}, torch::kByte), 4, bits); }, {"2 to 8 bits"});
    }
    test::expectError([&] { unpackSignedBits(torch::zeros({1}, torch::kByte), 3, 4); }, {"needs at least 2"});
  }

  void mixedPrecisionDigitsModelStoresPackedAndRoundTrips() {
    const Model original = Model::load(builtinDigitsModelPath());
    const Dataset calibration = Dataset::load(DataSource{"digits:train"}).head(256);
    const QuantizationOutcome outcome = prepare_model_for_quantization(original, "fx", {}, &calibration);
    useQuantizedEngine(outcome.engine);
    const std::string fc1 = test::layer(outcome.layers, "fc1").packedAs;
    const std::string conv2 = test::layer(outcome.layers, "conv2").packedAs;
    const std::string fc2 = test::layer(outcome.layers, "fc2").packedAs;
    QVERIFY(!fc1.empty() && !conv2.empty() && !fc2.empty());

    const QString dir = test::tempPath("lowbit");
    QDir().mkpath(dir);
    const QString path8 = dir + "/digits_int8.pt", pathMixed = dir + "/digits_mixed.pt";
    outcome.model.save(path8.toStdString());
    torch::jit::Module module = outcome.model.impl().module;  // shares the object: changed in place below
    const torch::Tensor inputs = Dataset::load(DataSource{"digits:test"}).head(200).impl().inputs;
    const torch::Tensor int8Outputs = run(module, inputs);

    // The reference: the int8 file with exactly the clamp applied, prepacked by LibTorch's own ops.
    torch::jit::Module reference = torch::jit::load(path8.toStdString());
    const c10::IValue fc1Before = module.attr(fc1), conv2Before = module.attr(conv2);
    const c10::IValue fc2Before = module.attr(fc2);
    reference.setattr(fc1, clampedPrepack(fc1Before, 4));
    reference.setattr(conv2, clampedPrepack(conv2Before, 2));

    // A bad request leaves the model as it was.
    test::expectError(
        [&] {
          storeLowBitWeights(module, {{fc1, "fc1", 4}, {"no_such_weight", "nope", 4}});
        },
        {"no attribute 'no_such_weight'"});
    test::expectError([&] { storeLowBitWeights(module, {{fc1, "fc1", 1}}); }, {"2 to 8 bits"});
    torch::jit::Module plain(c10::QualifiedName("__torch__.Plain"));
    plain.register_attribute("w", c10::TensorType::get(), torch::ones({2}));
    plain.define("def forward(self, x):\n    return x + self.w\n");
    test::expectError(
        [&] {
          storeLowBitWeights(plain, {{"w", "w", 4}});
        },
        {"not int8 Linear or Conv", "keep this layer at int8"});
    QVERIFY(module.hasattr(fc1) && !module.hasattr("lowbit_fc1"));

    const std::vector<LowBitStorage> stored =
        storeLowBitWeights(module, {{fc1, "fc1", 4}, {conv2, "conv2", 2}});
    QCOMPARE(stored.size(), size_t{2});
    const int64_t fc1Values = 128 * 512, conv2Values = 32 * 16 * 3 * 3;  // resources/digits_cnn.pt
    QCOMPARE(unpackParams(fc1Before).first.numel(), fc1Values);
    QCOMPARE(unpackParams(conv2Before).first.numel(), conv2Values);
    QCOMPARE(stored[0].values, fc1Values);
    QCOMPARE(stored[0].packedBytes, fc1Values * 4 / 8);
    QCOMPARE(stored[0].scaleBytes, int64_t{128 * 4});  // float32 per-channel scales, zero points all 0
    QCOMPARE(stored[1].values, conv2Values);
    QCOMPARE(stored[1].packedBytes, conv2Values * 2 / 8);
    QCOMPARE(stored[1].scaleBytes, int64_t{32 * 4});

    // The old attributes are gone from the object, its class and the graph; the new holders are read.
    QVERIFY(!module.hasattr(fc1) && !module.hasattr(conv2) && module.hasattr(fc2));
    QVERIFY(!module.type()->hasAttribute(fc1) && !module.type()->hasAttribute(conv2));
    QCOMPARE(countGetAttr(module, fc1), 0);
    QCOMPARE(countGetAttr(module, conv2), 0);
    QCOMPARE(countGetAttr(module, "lowbit_fc1"), 1);
    QCOMPARE(countGetAttr(module, "lowbit_conv2"), 1);
    QVERIFY(module.attr(fc2).toObject().get() == fc2Before.toObject().get());  // untouched layers stay

    // The live weights lie on the b-bit grid and equal the clamped originals; scales are the float32 ones.
    for (const auto& [name, before, bits] : {std::make_tuple(std::string("lowbit_fc1"), fc1Before, 4),
                                             std::make_tuple(std::string("lowbit_conv2"), conv2Before, 2)}) {
      const auto [weight, bias] = unpackParams(module.attr(name).toModule().attr("packed_params"));
      const auto [original, originalBias] = unpackParams(before);
      const int64_t half = int64_t{1} << (bits - 1);
      const torch::Tensor ints = weight.int_repr();
      QVERIFY(ints.min().item<int64_t>() >= -half && ints.max().item<int64_t>() <= half - 1);
      QVERIFY(ints.min().item<int64_t>() == -half);  // the clamp really bites at these widths
      QVERIFY(torch::equal(ints, original.int_repr().clamp(-half, half - 1)));
      QVERIFY(torch::equal(weight.q_per_channel_scales(),
                           original.q_per_channel_scales().to(torch::kFloat).to(torch::kDouble)));
      QVERIFY(torch::equal(weight.q_per_channel_zero_points(), original.q_per_channel_zero_points()));
      QVERIFY(torch::equal(bias, originalBias));
      std::vector<int64_t> channelShape(size_t(weight.dim()), 1);
      channelShape[0] = -1;
      const torch::Tensor onGrid =
          weight.dequantize() / weight.q_per_channel_scales().to(torch::kFloat).view(channelShape);
      QVERIFY((onGrid - onGrid.round()).abs().max().item<double>() < 1e-3);
      QVERIFY(onGrid.min().item<double>() >= -half - 1e-3 && onGrid.max().item<double>() <= half - 1 + 1e-3);
    }

    // In memory, the model computes exactly the clamped int8 model, and that differs from plain int8.
    const torch::Tensor ours = run(module, inputs);
    QVERIFY(torch::equal(ours, run(reference, inputs)));
    QVERIFY(!torch::equal(ours, int8Outputs));

    // The file shrinks by the packed bytes (and the float64 scales and int64 zero points left out).
    outcome.model.save(pathMixed.toStdString());
    const qint64 size8 = QFileInfo(path8).size(), sizeMixed = QFileInfo(pathMixed).size();
    int64_t saving = 0;
    for (const auto& s : stored) {
      const int64_t channels = s.layer == "fc1" ? 128 : 32;
      saving += (s.values - s.packedBytes) + (channels * 16 - s.scaleBytes);
    }
    qInfo("int8 file %lld bytes, mixed file %lld bytes: %lld saved of %lld packed away", size8, sizeMixed,
          size8 - sizeMixed, static_cast<long long>(saving));
    QVERIFY2(size8 - sizeMixed >= saving * 8 / 10,
             qPrintable(QString("saved %1 of %2 bytes").arg(size8 - sizeMixed).arg(saving)));

    // LibTorch loads it back (through __setstate__) with bit-identical outputs.
    torch::jit::Module loaded = torch::jit::load(pathMixed.toStdString());
    QVERIFY(!loaded.hasattr(fc1) && loaded.hasattr("lowbit_fc1"));
    QCOMPARE(loaded.attr("lowbit_fc1").toModule().attr("packed_weight").toTensor().numel(), fc1Values / 2);
    QVERIFY(torch::equal(run(loaded, inputs), ours));

    // Stock PyTorch opens the same file and computes the same outputs.
    const QString dataFile = dir + "/digits_inputs.pt";
    {
      const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(inputs));
      std::ofstream out(dataFile.toStdString(), std::ios::binary);
      out.write(bytes.data(), std::streamsize(bytes.size()));
    }
    const QString outputs = dir + "/python_out.txt";
    QProcess python;
    python.start(qEnvironmentVariable("QUANTSCOPE_PYTHON", "/usr/bin/python3"),
                 {qEnvironmentVariable("QUANTSCOPE_TESTS_SOURCE") + "/fixtures/run_in_pytorch.py", pathMixed,
                  dataFile, outputs, QString::fromStdString(outcome.engine)});
    QVERIFY(python.waitForFinished(120000));
    QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());
    QFile file(outputs);
    QVERIFY(file.open(QIODevice::ReadOnly | QIODevice::Text));
    std::vector<float> theirs;
    while (!file.atEnd()) {
      for (const QByteArray& v : file.readLine().trimmed().split(' ')) theirs.push_back(v.toFloat());
    }
    const torch::Tensor flat = ours.contiguous().flatten();
    QCOMPARE(int64_t(theirs.size()), flat.numel());
    double maxDiff = 0;
    for (size_t i = 0; i < theirs.size(); ++i)
      maxDiff = std::max(maxDiff, double(std::abs(theirs[i] - flat[int64_t(i)].item<float>())));
    QVERIFY2(maxDiff <= 1e-5, qPrintable(QString("max |PyTorch - QuantScope| = %1").arg(maxDiff)));
  }
};

QTEST_GUILESS_MAIN(TestLowBitWeights)
#include "test_low_bit_weights.moc"
