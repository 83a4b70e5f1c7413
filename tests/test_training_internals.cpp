// The parts under the training techniques, checked against PyTorch's own: fake quantization values and
// gradients, and channel removal giving the same outputs as masking those channels. Uses core internals
// (LibTorch), so torch headers come first and Qt's keywords are off.
#include <torch/script.h>

#include <QtTest>

#include "core/data/dataset.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/model_impl.h"
#include "core/internal/qconfig_recipe.h"
#include "core/model/model.h"
#include "core/pruning/channel_removal.h"
#include "core/pruning/pruning_masks.h"
#include "core/quant/fake_quant.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::fixture;

namespace {

torch::Tensor buffer(const torch::jit::Module& m, const std::string& name) { return m.attr(name).toTensor(); }

void expectClose(const torch::Tensor& ours, const torch::Tensor& theirs, double tolerance, const char* what) {
  QVERIFY2(ours.sizes() == theirs.sizes(), what);
  const double diff = (ours - theirs).abs().max().item<double>();
  QVERIFY2(diff <= tolerance, qPrintable(QString("%1: max |ours - PyTorch| = %2").arg(what).arg(diff)));
}

}  // namespace

class TestTrainingInternals : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void activationFakeQuantMatchesPyTorch() {
    const torch::jit::Module reference = torch::jit::load(fixture("fake_quant_reference.pt"));
    torch::jit::Module observer =
        makeFakeQuantObserver(/*isWeight=*/false, /*perChannel=*/false, /*reduceRange=*/true);
    observer.train();
    QCOMPARE(observer.attr("quant_max").toInt(), int64_t{127});  // PyTorch's reduce_range: 0..127
    for (int k = 0; k < 3; ++k) {
      const std::string i = std::to_string(k);
      torch::Tensor x = buffer(reference, "act_x" + i).clone().requires_grad_(true);
      const torch::Tensor out = observer.forward({x}).toTensor();
      (out * buffer(reference, "act_g" + i)).sum().backward();
      // Same moving-average range, same qparams, same op: the values agree to float rounding.
      expectClose(out.detach(), buffer(reference, "act_out" + i), 1e-5, "activation fake-quant values");
      expectClose(x.grad(), buffer(reference, "act_grad" + i), 0, "activation straight-through gradient");
    }
    expectClose(buffer(observer, "scale"), buffer(reference, "act_scale"), 1e-7, "activation scale");
    expectClose(buffer(observer, "zero_point").to(torch::kFloat), buffer(reference, "act_zero_point"), 0,
                "activation zero point");
  }

  void perChannelWeightFakeQuantMatchesPyTorch() {
    const torch::jit::Module reference = torch::jit::load(fixture("fake_quant_reference.pt"));
    torch::jit::Module observer =
        makeFakeQuantObserver(/*isWeight=*/true, /*perChannel=*/true, /*reduceRange=*/false);
    observer.train();
    torch::Tensor w = buffer(reference, "w").clone().requires_grad_(true);
    const torch::Tensor out = observer.forward({w}).toTensor();
    (out * buffer(reference, "w_g")).sum().backward();
    expectClose(buffer(observer, "scale"), buffer(reference, "w_scale"), 1e-8, "per-channel weight scales");
    expectClose(out.detach(), buffer(reference, "w_out"), 1e-6, "weight fake-quant values");
    expectClose(w.grad(), buffer(reference, "w_grad"), 0, "weight straight-through gradient");
  }

  void removingPrunedChannelsKeepsTheOutputs() {
    const Model model = Model::load(builtinDigitsModelPath());
    torch::jit::Module observed =
        insertFakeQuant(foldedFloatCopy(model.impl().module), qconfigRecipe("fbgemm"));
    observed.eval();
    const Dataset data = Dataset::load(DataSource{"digits:train"}).head(64);
    const torch::Tensor inputs = data.impl().inputs;
    {
      torch::NoGradGuard noGrad;
      observed.train();
      observed.forward({inputs});  // activation ranges
      observed.eval();
    }
    const auto plans = planChannelRemoval(observed);
    QVERIFY(plans.at("conv1").removable);
    QVERIFY(plans.at("fc1").removable);
    QVERIFY(!plans.at("conv3").removable);  // feeds the residual add
    QVERIFY(plans.at("conv3").reason.find("residual add") != std::string::npos);
    QVERIFY(!plans.at("fc2").removable);  // the model's output
    QCOMPARE(plans.at("fc1").consumers.size(), size_t{1});
    QVERIFY(plans.at("fc1").consumers[0].layer == "fc2");

    PruningMasks masks(observed, PruningStructure::Channels, PruningScope::Layer, {"conv1", "fc1"});
    masks.prune(0.5);
    masks.apply();
    setFakeQuantEnabled(observed, false);  // float outputs: removal must not change them at all
    torch::Tensor masked;
    {
      torch::NoGradGuard noGrad;
      masked = observed.forward({inputs}).toTensor();
    }
    for (const auto& layer : masks.layers())
      removeChannels(plans.at(layer.name), masks.prunedChannels(layer));
    torch::jit::Module conv1 = observed.attr("conv1").toModule(), fc1 = observed.attr("fc1").toModule();
    torch::jit::Module conv2 = observed.attr("conv2").toModule(), fc2 = observed.attr("fc2").toModule();
    QVERIFY(conv1.attr("weight").toTensor().sizes() == at::IntArrayRef({8, 1, 3, 3}));
    QVERIFY(conv2.attr("weight").toTensor().sizes() == at::IntArrayRef({32, 8, 3, 3}));
    QVERIFY(fc1.attr("weight").toTensor().sizes() == at::IntArrayRef({64, 512}));
    QVERIFY(fc2.attr("weight").toTensor().sizes() == at::IntArrayRef({10, 64}));
    torch::Tensor removed;
    {
      torch::NoGradGuard noGrad;
      removed = observed.forward({inputs}).toTensor();
    }
    expectClose(removed, masked, 1e-4, "outputs after removing the masked channels");
  }
};

QTEST_GUILESS_MAIN(TestTrainingInternals)
#include "test_training_internals.moc"
