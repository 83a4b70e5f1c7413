// Quantization-aware training, pruning-aware quantization and distillation through the public API, on the
// digits demo and small fixtures: what each must show, the training loop's promises (determinism, cancel,
// divergence, labels), and bad input.
#include <QtTest>
#include <atomic>
#include <cmath>
#include <set>

#include "core/data/dataset.h"
#include "core/quantization_techniques.h"
#include "core/technique_registry.h"
#include "core/workflow.h"
#include "tests/test_support.h"

using namespace quantscope;
using quantscope::test::expectError;
using quantscope::test::fixture;
using quantscope::test::layer;

namespace {

// Small runs keep the suite fast: one epoch on part of the training split (pruning calls its epochs
// finetune_epochs).
const ParamValues kQuick{{"epochs", "1"}, {"train_samples", "480"}};
const ParamValues kQuickPruning{{"finetune_epochs", "1"}, {"train_samples", "480"}};

const ResultFigure& figure(const QuantizationOutcome& outcome, const std::string& name) {
  for (const auto& f : outcome.figures) {
    if (f.name == name) return f;
  }
  throw std::runtime_error("no figure '" + name + "'");
}

int quantizedOps(const Model& model) {
  int count = 0;
  for (const auto& [op, n] : model.graphOperators()) {
    if (op.rfind("quantized::", 0) == 0 && op.find("prepack") == std::string::npos) count += n;
  }
  return count;
}

ParamValues with(ParamValues params, const ParamValues& more) {
  for (const auto& [k, v] : more) params[k] = v;
  return params;
}

}  // namespace

class TestTrainingTechniques : public QObject {
  Q_OBJECT
 private:
  Model teacher_ = Model::load(builtinDigitsModelPath());
  Dataset train_ = Dataset::load(DataSource{"digits:train"});

  QuantizationOutcome run(const std::string& technique, const ParamValues& params,
                          const Dataset* data = nullptr, const Progress& progress = {}) {
    return prepare_model_for_quantization(teacher_, technique, params, data ? data : &train_, progress);
  }

 private slots:
  void theThreeTechniquesAreAvailable() {
    for (const char* name : {"qat", "pruning", "distillation"}) {
      const auto& d = TechniqueRegistry::instance().find(name);
      QVERIFY2(d.available, name);
      QVERIFY(d.trains);
    }
  }

  void qatConvertsToTheSameInt8KernelsAsFxAndKeepsTheFakeQuantAccuracy() {
    const std::string before = teacher_.serialize();
    const QuantizationOutcome outcome = run("qat", with(kQuick, {{"epochs", "2"}, {"freeze_bn_epoch", "1"}}));
    QVERIFY(teacher_.serialize() == before);  // the input model is never modified
    const QuantizationOutcome fx = run("fx", {});
    QCOMPARE(quantizedOps(outcome.model), quantizedOps(fx.model));
    QVERIFY(outcome.model.graphOperators() == fx.model.graphOperators());
    // The accuracy measured on fake quantization just before conversion is what the int8 model gets.
    const double fakeQuant = figure(outcome, "fake-quant validation top-1 (before conversion)").value;
    const double int8 = figure(outcome, "int8 validation top-1 (after conversion)").value;
    QVERIFY2(std::abs(fakeQuant - int8) <= 0.3, qPrintable(QString("%1 vs %2").arg(fakeQuant).arg(int8)));
    QVERIFY(int8 > 95.0);
    // The curve: a point per step and per epoch, finite losses, validation accuracy per epoch.
    int epochs = 0, steps = 0;
    for (const auto& p : outcome.trainingCurve) {
      QVERIFY(std::isfinite(p.loss) && p.learningRate >= 0);
      QVERIFY(p.series == "qat");
      if (p.endOfEpoch) {
        ++epochs;
        QVERIFY(p.trainAccuracy > 50 && p.validationAccuracy > 50);
      } else {
        ++steps;
      }
    }
    QCOMPARE(epochs, 2);
    QCOMPARE(steps, 2 * ((480 - 48 + 31) / 32));  // 10 % held out for validation, batches of 32
    for (const char* name : {"conv1", "conv2", "conv3", "fc1", "fc2"})
      QVERIFY(layer(outcome.layers, name).quantized);
  }

  void trainingIsDeterministic() {
    const ParamValues params = with(kQuick, {{"seed", "7"}, {"random_shift", "true"}});
    const QuantizationOutcome first = run("qat", params);
    const QuantizationOutcome second = run("qat", params);
    // Bit-identical weights and qparams show as bit-identical outputs (archives differ only in the names
    // TorchScript gives cloned classes).
    const Matrix a = runModel(first.model, train_), b = runModel(second.model, train_);
    QVERIFY(a.values == b.values);
    QCOMPARE(first.trainingCurve.size(), second.trainingCurve.size());
    for (size_t i = 0; i < first.trainingCurve.size(); ++i)
      QCOMPARE(first.trainingCurve[i].loss, second.trainingCurve[i].loss);
    const QuantizationOutcome otherSeed = run("qat", with(params, {{"seed", "8"}}));
    QVERIFY(otherSeed.trainingCurve[0].loss != first.trainingCurve[0].loss);
  }

  void trainingLeavesTheCallersModelBitIdentical() {
    // The techniques train on their own copies: the caller's model (weights, buffers, training flags, input
    // spec, everything the archive holds) is the same bytes afterwards, and a student given by handle too.
    const std::string teacherBefore = teacher_.serialize();
    const Model student = Model::load(resourcesDirectory() + "/digits_student.pt");
    const std::string studentBefore = student.serialize();
    run("qat", kQuick);
    QVERIFY(teacher_.serialize() == teacherBefore);
    run("pruning", with(kQuickPruning, {{"structure", "channels"}}));
    QVERIFY(teacher_.serialize() == teacherBefore);
    TechniqueContext context;
    context.trainingData = &train_;
    context.models.emplace("student", student);
    TechniqueRegistry::instance().run("distillation", teacher_, with(kQuick, {{"compare_without", "false"}}),
                                      context);
    QVERIFY(teacher_.serialize() == teacherBefore);
    QVERIFY(student.serialize() == studentBefore);
  }

  void cancelStopsTrainingAtTheNextStep() {
    std::atomic<bool> cancel{false};
    int pointsAfterCancel = 0;
    Progress progress;
    progress.cancelFlag = &cancel;
    progress.onTrainingPoint = [&](const TrainingPoint& p) {
      if (cancel) ++pointsAfterCancel;
      if (p.step == 3) cancel = true;
    };
    bool cancelled = false;
    try {
      run("qat", {{"epochs", "50"}}, nullptr, progress);
    } catch (const CancelledError&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
    // Cancel is checked before every step: not one more step trains (bench_training times it).
    QCOMPARE(pointsAfterCancel, 0);
  }
  void aDivergingLossStopsWithAHint() {
    const Dataset overflow = Dataset::load(DataSource{fixture("digits_overflow.pt")});
    expectError([&] { run("qat", kQuick, &overflow); },
                {"Training diverged", "epoch 1, step 1", "lower learning rate"});
  }

  void trainingWithoutLabelsIsRefusedClearly() {
    DataSource unlabelled{"digits:train"};
    unlabelled.unlabelled = true;
    const Dataset data = Dataset::load(unlabelled);
    expectError([&] { run("qat", kQuick, &data); }, {"'qat' trains with labels", "has none"});
    expectError([&] { run("pruning", kQuickPruning, &data); }, {"'pruning' trains with labels"});
    // Distillation learns from the teacher alone.
    const QuantizationOutcome outcome = run("distillation", with(kQuick, {{"freeze_bn_epoch", "0"}}), &data);
    // The student is the teacher here: it converts to exactly the int8 graph fx gives the teacher.
    QVERIFY(outcome.model.graphOperators() == run("fx", {}).model.graphOperators());
    bool said = false;
    for (const auto& note : outcome.notes) said |= note.find("no labels") != std::string::npos;
    QVERIFY(said);
    for (const auto& p : outcome.trainingCurve) QVERIFY(p.series == "with distillation");
  }

  void noTrainingDataIsRefused() {
    expectError([&] { prepare_model_for_quantization(teacher_, "qat", kQuick, nullptr); },
                {"needs training data"});
  }

  void unstructuredPruningKeepsZerosThroughFineTuningAndInt8() {
    const QuantizationOutcome outcome = run("pruning", with(kQuickPruning, {{"scope", "layer"}}));
    for (const char* name : {"conv1", "conv2", "conv3", "fc1", "fc2"}) {
      const LayerQuantization& l = layer(outcome.layers, name);
      QVERIFY2(l.quantized, name);
      // Exactly half of each layer's weights stayed zero through fine-tuning; int8 keeps every zero (and may
      // round a few more tiny weights to it).
      QVERIFY2(std::abs(l.sparsity - 0.5) < 0.01, qPrintable(QString("%1: %2").arg(name).arg(l.sparsity)));
      QVERIFY(l.int8Sparsity >= l.sparsity - 1e-9);
      QCOMPARE(l.channelsRemoved, int64_t{0});
    }
    QVERIFY(figure(outcome, "weights pruned (fp32)").value > 49.0);
    QVERIFY(figure(outcome, "pruned int8 archive, zlib-compressed").value <
            figure(outcome, "pruned int8 archive").value * 0.9);
  }

  void channelPruningRemovesChannelsWhereTheNextLayerAllows() {
    const QuantizationOutcome outcome =
        run("pruning", with(kQuickPruning, {{"structure", "channels"}, {"scope", "layer"}}));
    QCOMPARE(layer(outcome.layers, "conv1").channelsRemoved, int64_t{8});
    QCOMPARE(layer(outcome.layers, "fc1").channelsRemoved, int64_t{64});
    QCOMPARE(layer(outcome.layers, "conv3").channelsRemoved, int64_t{0});
    QVERIFY(layer(outcome.layers, "conv3").scheme.find("residual add") != std::string::npos);
    QVERIFY(layer(outcome.layers, "fc2").scheme.find("model's output") != std::string::npos);
    // The saved model is smaller than the unpruned int8 one.
    const QuantizationOutcome fx = run("fx", {});
    QVERIFY(outcome.model.serialize().size() < fx.model.serialize().size() * 7 / 10);
  }

  void distillationComparesWithAndWithoutAndRejectsAMismatchedStudent() {
    const std::string student = resourcesDirectory() + "/digits_student.pt";
    const QuantizationOutcome outcome =
        run("distillation", with(kQuick, {{"student", student}, {"epochs", "2"}}));
    std::set<std::string> series;
    for (const auto& p : outcome.trainingCurve) series.insert(p.series);
    QVERIFY((series == std::set<std::string>{"with distillation", "without distillation"}));
    for (const char* name :
         {"with distillation: int8 validation top-1", "without distillation: int8 validation top-1",
          "with distillation: int8 agreement with teacher", "teacher fp32 validation top-1"}) {
      const double value = figure(outcome, name).value;
      QVERIFY2(value > 10 && value <= 100, name);
    }
    // The student is the small model, not the teacher: its int8 archive is far smaller.
    QVERIFY(outcome.model.serialize().size() * 4 < teacher_.serialize().size());
    expectError(
        [&] {
          run("distillation", with(kQuick, {{"student", fixture("student_5_classes.pt")}}));
        },
        {"student's output shape", "does not match the teacher's"});
    expectError(
        [&] {
          run("distillation", with(kQuick, {{"student", "/no/such/student.pt"}}));
        },
        {"does not exist"});
  }

  void theDocumentedApiRunsAllThree() {
    const QuantizationOutcome qat =
        QuantizationTechniques::quantization_aware_training(teacher_, "qnnpack", &train_);
    QCOMPARE(qat.recipe, std::string("qnnpack"));
    const QuantizationOutcome pruned =
        AdvancedQuantizationTechniques::pruning_aware_quantization(teacher_, 0.3, &train_);
    QVERIFY(std::abs(figure(pruned, "weights pruned (fp32)").value - 30.0) < 1.0);
    const Model student = Model::load(resourcesDirectory() + "/digits_student.pt");
    const QuantizationOutcome kd =
        AdvancedQuantizationTechniques::knowledge_distillation_quantization(teacher_, student, 3.0, &train_);
    QCOMPARE(std::stod(kd.params.at("temperature")), 3.0);
    QVERIFY(kd.model.serialize().size() * 4 < teacher_.serialize().size());
  }
};

QTEST_GUILESS_MAIN(TestTrainingTechniques)
#include "test_training_techniques.moc"
