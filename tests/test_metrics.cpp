// Metric, statistics and parameter-description functions against hand-computed values.
#include <QtTest>
#include <cmath>

#include "core/model/input_spec.h"
#include "core/params/param_kind.h"
#include "core/results/comparison.h"
#include "core/results/metrics.h"
#include "core/runtime/benchmark.h"
#include "core/technique_registry.h"
#include "tests/test_support.h"

using namespace quantscope;

class TestMetrics : public QObject {
  Q_OBJECT
 private slots:
  void accuracyTop1AndTop5() {
    // 3 samples, 6 classes. Row 0: label 2 is the argmax. Row 1: label 0 ranks 3rd. Row 2: label 5 ranks
    // last.
    const Matrix logits{3,
                        6,
                        {0.1f, 0.2f, 0.9f, 0.0f, 0.0f, 0.0f, 0.5f, 0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.6f, 0.5f,
                         0.4f, 0.3f, 0.2f, 0.1f}};
    const AccuracyMetrics a = computeAccuracy(logits, {2, 0, 5});
    QVERIFY(a.available);
    QCOMPARE(a.samples, 3);
    QCOMPARE(a.top1, 1.0 / 3.0);
    QVERIFY(a.hasTop5);
    QCOMPARE(a.top5, 2.0 / 3.0);
  }
  void noTop5BelowFiveClasses() {
    const AccuracyMetrics a = computeAccuracy(Matrix{2, 3, {1, 0, 0, 0, 0, 1}}, {0, 1});
    QCOMPARE(a.top1, 0.5);
    QVERIFY(!a.hasTop5);
  }
  void unlabelledHasNoAccuracy() { QVERIFY(!computeAccuracy(Matrix{1, 2, {1, 0}}, {}).available); }
  void fidelityByHand() {
    // ref (1,2 | 3,0), out (1,2 | 3,1): signal 14, noise 1 -> 10*log10(14) dB; argmax agrees on both rows.
    const FidelityMetrics f = computeFidelity(Matrix{2, 2, {1, 2, 3, 0}}, Matrix{2, 2, {1, 2, 3, 1}});
    QCOMPARE(f.top1Agreement, 1.0);
    QVERIFY(std::abs(f.sqnrDb - 10.0 * std::log10(14.0)) < 1e-9);
    QCOMPARE(f.maxAbsError, 1.0);
    QVERIFY(std::abs(f.cosineSimilarity - 14.0 / std::sqrt(14.0 * 15.0)) < 1e-9);
  }
  void fidelityDisagreementAndIdentity() {
    const FidelityMetrics f = computeFidelity(Matrix{2, 2, {1, 0, 0, 1}}, Matrix{2, 2, {1, 0, 1, 0}});
    QCOMPARE(f.top1Agreement, 0.5);
    QVERIFY(std::isinf(computeFidelity(Matrix{1, 2, {1, 2}}, Matrix{1, 2, {1, 2}}).sqnrDb));
  }
  void fidelityShapeMismatchIsAnError() {
    test::expectError(
        [] {
          computeFidelity(Matrix{1, 2, {1, 2}}, Matrix{1, 3, {1, 2, 3}});
        },
        {"do not match"});
  }
  void percentilesMatchNumpy() {
    // numpy.percentile([1,2,3,4,10], q) with linear interpolation: 50 -> 3, 90 -> 7.6, 10 -> 1.4
    const std::vector<double> values{4, 1, 10, 3, 2};
    QCOMPARE(percentile(values, 50), 3.0);
    QVERIFY(std::abs(percentile(values, 90) - 7.6) < 1e-12);
    QVERIFY(std::abs(percentile(values, 10) - 1.4) < 1e-12);
    const LatencyStats s = summarizeLatencies(values, 8);
    QCOMPARE(s.meanMs, 4.0);
    QCOMPARE(s.minMs, 1.0);
    QCOMPARE(s.maxMs, 10.0);
    QVERIFY(std::abs(s.stddevMs - std::sqrt(50.0 / 4.0)) < 1e-12);  // sample standard deviation
    QCOMPARE(s.throughputSamplesPerSecond, 8.0 * 1000.0 / 3.0);
  }
  void inputSpecParsing() {
    const InputSpec spec = InputSpec::parse("1x3x224x224");
    QCOMPARE(spec.shape, (std::vector<int64_t>{1, 3, 224, 224}));
    QCOMPARE(spec.withBatch(8).shapeString(), std::string("8x3x224x224"));
    QCOMPARE(spec.elementsPerSample(), 3 * 224 * 224);
    QCOMPARE(InputSpec::fromJson(spec.toJson())->shape, spec.shape);
    QVERIFY(InputSpec::parse("4x7", "long").dtype == ElementType::Int64);
    for (const char* bad : {"", "1x", "ax3", "1x-3", "0x3", "1x3.5"}) {
      test::expectError([bad] { InputSpec::parse(bad); }, {"shape"});
    }
  }
  void registryDescribesAllSevenTechniques() {
    const auto& registry = TechniqueRegistry::instance();
    QCOMPARE(registry.techniques().size(), size_t{7});
    for (const char* name : {"dynamic", "static", "qat", "fx", "mixed", "pruning", "distillation"}) {
      QCOMPARE(registry.find(name).name, std::string(name));
    }
    QCOMPARE(registry.find("dynamic_quantization").name, std::string("dynamic"));
    // The seed's defaults.
    QCOMPARE(registry.resolveParams("dynamic", {}).at("dtype"), std::string("qint8"));
    QCOMPARE(registry.resolveParams("static", {}).at("qconfig"), std::string("fbgemm"));
    QCOMPARE(registry.resolveParams("mixed", {}).at("bits_weights"), std::string("8"));
    QCOMPARE(registry.resolveParams("pruning", {}).at("pruning_rate"), std::string("0.5"));
    QCOMPARE(registry.resolveParams("distillation", {}).at("temperature"), std::string("2.0"));
  }
  void registryRejectsBadParameters() {
    const auto& registry = TechniqueRegistry::instance();
    test::expectError(
        [&] {
          registry.resolveParams("dynamic", {{"dtype", "int4"}});
        },
        {"dtype", "qint8", "float16"});
    test::expectError(
        [&] {
          registry.resolveParams("dynamic", {{"colour", "red"}});
        },
        {"no parameter 'colour'", "dtype"});
    test::expectError(
        [&] {
          registry.resolveParams("pruning", {{"pruning_rate", "1.5"}});
        },
        {"out of range"});
    test::expectError([&] { registry.resolveParams("mixed", {{"bits_weights", "4.5"}}); }, {"whole number"});
    // Lists and per-layer maps are typed: their form is checked before any technique runs.
    QCOMPARE(registry.resolveParams("mixed", {{"candidate_bits", " 2, 8"}}).at("candidate_bits"),
             std::string(" 2, 8"));
    test::expectError(
        [&] {
          registry.resolveParams("mixed", {{"candidate_bits", "4,9"}});
        },
        {"candidate_bits", "'9' is not a whole number in 2..8"});
    test::expectError([&] { registry.resolveParams("mixed", {{"candidate_bits", "4,x"}}); }, {"'x'"});
    test::expectError([&] { registry.resolveParams("mixed", {{"candidate_bits", "4,4"}}); }, {"'4' twice"});
    QCOMPARE(registry.resolveParams("mixed", {{"layer_bits", "conv1=float, fc2=4"}}).at("layer_bits"),
             std::string("conv1=float, fc2=4"));
    test::expectError(
        [&] {
          registry.resolveParams("mixed", {{"layer_bits", "conv1"}});
        },
        {"layer_bits", "'conv1' is not of the form layer=value", "conv1=4,fc2=float"});
    test::expectError(
        [&] {
          registry.resolveParams("mixed", {{"layer_bits", "fc2=4,fc2=8"}});
        },
        {"names 'fc2' twice"});
    test::expectError([&] { registry.resolveParams("mixed", {{"layer_bits", "=4"}}); }, {"'=4'"});
    QCOMPARE(splitParamMap("a=1,, b = x ", "p"),
             (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "x"}}));
    for (const ParamSpec& spec : registry.find("mixed").params) {
      if (spec.name == "candidate_bits")
        QCOMPARE(paramKind(spec.type).describeRange(spec), std::string("[2..8],..."));
      if (spec.name == "layer_bits")
        QCOMPARE(paramKind(spec.type).valueName(), std::string("layer=value,..."));
    }
    test::expectError([&] { registry.find("magic"); }, {"Unknown technique", "dynamic"});
    test::expectError([] { parseParamAssignment("dtype"); }, {"key=value"});
    QCOMPARE(parseParamAssignment("a=b=c").second, std::string("b=c"));
  }
  void paretoFrontByHand() {
    // (cost, quality): B dominates C; A and D trade off; E equals D's cost with lower quality.
    const std::vector<TradeoffPoint> points{{10, 0.99}, {5, 0.97}, {6, 0.96}, {2, 0.90}, {2, 0.80}};
    QCOMPARE(paretoFront(points), (std::vector<size_t>{3, 1, 0}));
  }
  void deltasSpelledOut() {
    RunResult a, b;
    a.sizes.quantized.serializedBytes = 400;
    b.sizes.quantized.serializedBytes = 100;
    a.quantizedLatency.available = b.quantizedLatency.available = true;
    a.quantizedLatency.medianMs = 4.1;
    b.quantizedLatency.medianMs = 1.0;
    a.quantizedAccuracy.available = b.quantizedAccuracy.available = true;
    a.quantizedAccuracy.top1 = 0.990;
    b.quantizedAccuracy.top1 = 0.987;
    QCOMPARE(describeDelta(a, b), std::string("4.00x smaller, 4.10x faster, -0.30 pt top-1"));
    QCOMPARE(describeDelta(b, a), std::string("4.00x larger, 4.10x slower, +0.30 pt top-1"));
  }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "test_metrics.moc"
