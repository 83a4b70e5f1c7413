// Model::clone: an independent deep copy (weights, mode, input spec), for float and quantized models; and
// the handle's const access. LibTorch headers: Qt's keywords stay off here.
#include <QtTest>
#include <type_traits>
#include <utility>

#include "core/internal/model_impl.h"
#include "core/quantization_techniques.h"
#include "tests/test_support.h"

using namespace quantscope;

class TestModelClone : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void aCloneIsIndependentOfItsSource() {
    const Model source = Model::load(test::fixture("mlp.pt"));
    const std::string sourceBytes = source.serialize();
    Model copy = source.clone();
    // The same weights in storage of its own.
    const auto sourceParameters = source.impl().module.parameters();
    torch::jit::Module module = copy.impl().module;
    QCOMPARE(module.parameters().size(), sourceParameters.size());
    QCOMPARE(sourceParameters.size(), size_t{6});  // three Linear layers: weight and bias each
    {
      auto s = sourceParameters.begin();
      for (const auto& c : module.parameters()) {
        QVERIFY(torch::equal(c, *s));
        QVERIFY(c.data_ptr() != (*s).data_ptr());
        ++s;
      }
    }
    QCOMPARE(copy.inputSpec()->shapeString(), source.inputSpec()->shapeString());
    // Changing the clone's weights, mode and input spec leaves the source exactly as it was.
    {
      torch::NoGradGuard noGrad;
      for (const auto& p : module.parameters()) p.add_(1.0);
    }
    const bool sourceTraining = source.impl().module.is_training();
    module.train(!sourceTraining);
    copy.setInputSpec(InputSpec::parse("3x64"));
    // The source serializes to the same bytes as before: clone goes through the archive, so it no longer
    // registers renamed classes in the source's compilation unit (Module::clone did, and the names moved).
    QVERIFY(source.serialize() == sourceBytes);
    QCOMPARE(source.inputSpec()->shapeString(), std::string("1x64"));
    QCOMPARE(source.impl().module.is_training(), sourceTraining);
    auto s = sourceParameters.begin();
    for (const auto& c : module.parameters()) {
      QVERIFY(torch::allclose(c - 1.0, *s, /*rtol=*/0, /*atol=*/1e-6));  // (w + 1) - 1 rounds in float
      ++s;
    }
  }

  void aQuantizedModelClonesAndRuns() {
    // Packed int8 weights are custom objects: clone copies them through their own serialization.
    const Model source = Model::load(test::fixture("mlp.pt"));
    const QuantizationOutcome q = QuantizationTechniques::dynamic_quantization(source);
    const Model copy = q.model.clone();
    const torch::Tensor input = torch::randn({4, 64});
    const torch::Tensor a = firstTensorOutput(forwardOrExplain(q.model, input));
    const torch::Tensor b = firstTensorOutput(forwardOrExplain(copy, input));
    QVERIFY(torch::equal(a, b));
    QVERIFY(copy.graphOperators() == q.model.graphOperators());
  }

  void constAccessIsConst() {
    // Through a const Model only const internals are reachable; an owner gets the mutable ones.
    static_assert(std::is_const_v<std::remove_reference_t<decltype(std::declval<const Model&>().impl())>>);
    static_assert(!std::is_const_v<std::remove_reference_t<decltype(std::declval<Model&>().impl())>>);
    // Copies of a handle are the same model; a clone is not.
    const Model source = Model::load(test::fixture("mlp.pt"));
    Model sameModel = source;
    QVERIFY(&sameModel.impl() == &source.impl());
    QVERIFY(&source.clone().impl() != &source.impl());
  }
};

QTEST_GUILESS_MAIN(TestModelClone)
#include "test_model_clone.moc"
