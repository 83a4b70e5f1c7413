// Knowledge-distillation quantization: a fake-quantized student trains against the float teacher's
// softened outputs (Hinton et al.), then converts to int8. The same student trained without distillation
// (alpha 0, same seed and epochs) is measured beside it, so the result shows what distillation bought.
#include "core/techniques/distillation_quantization.h"

#include <cmath>

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/params/param_values.h"
#include "core/quant/post_training_pipeline.h"
#include "core/training/fake_quant_training.h"
#include "core/training/training_options.h"

namespace quantscope {

std::vector<ParamSpec> distillationQuantizationParams() {
  std::vector<ParamSpec> params{
      {"temperature",
       ParamType::Float,
       "2.0",
       0.1,
       20.0,
       {},
       "Softmax temperature of the distillation loss."},
      {"alpha",
       ParamType::Float,
       "0.5",
       0.0,
       1.0,
       {},
       "Weight of the distillation term: loss = alpha*T^2*KL(teacher||student) + (1-alpha)*CE(labels)."},
      {"student",
       ParamType::File,
       "",
       0,
       0,
       {},
       "The student: a TorchScript model whose outputs match the teacher's. Empty: a copy of the teacher."},
      {"seeds",
       ParamType::Int,
       "1",
       1,
       10,
       {},
       "Train with and without distillation this many times (seeds seed, seed+1, ...): mean and spread."},
      {"compare_without",
       ParamType::Bool,
       "true",
       0,
       0,
       {},
       "Also train the student without distillation (alpha 0) to show what distillation bought."},
  };
  for (auto& p : recipeAndEngineParams()) params.push_back(std::move(p));
  params.push_back(
      {"freeze_bn_epoch",
       ParamType::Int,
       "8",
       0,
       1000,
       {},
       "Until this epoch the student's batch norms normalize each batch (an untrained student needs "
       "them); from it on they are frozen and folded into its convolutions. 0 folds them first."});
  for (auto& p : trainingParams("epochs", 10, 1e-2)) params.push_back(std::move(p));
  return params;
}

namespace {

struct Variant {
  std::string series;
  double alpha = 0;
};

struct VariantResult {
  std::vector<double> int8Top1, agreement;
};

std::pair<double, double> meanAndSpread(const std::vector<double>& values) {
  double mean = 0, squares = 0;
  for (double v : values) mean += v;
  mean /= double(values.size());
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, values.size() > 1 ? std::sqrt(squares / double(values.size() - 1)) : 0.0};
}

// The student: a model given by role, else the `student` file, else a copy of the teacher.
Model chooseStudent(const Model& teacher, const TypedParams& p, const TechniqueContext& context) {
  if (const Model* given = context.model("student")) return *given;
  if (!p.text("student").empty()) {
    Model student = Model::load(p.text("student"));
    if (!student.inputSpec()) student.setInputSpec(*teacher.inputSpec());
    return student;
  }
  return teacher;
}

void checkStudentFits(const Model& teacher, const Model& student, const torch::Tensor& sample) {
  torch::jit::Module t = teacher.impl().module.clone(), s = student.impl().module.clone();
  torch::Tensor teacherOut, studentOut;
  teacherOut = predict(t, sample);
  try {
    studentOut = predict(s, sample);
  } catch (const std::exception& e) {
    throw Error("The student model '" + student.displayName() +
                    "' cannot run on the teacher's inputs: " + shortTorchMessage(e),
                "The student must take the same input as the teacher.");
  }
  if (studentOut.sizes() != teacherOut.sizes()) {
    throw Error(
        "The student's output shape " + c10::str(studentOut.sizes()) + " does not match the teacher's " +
            c10::str(teacherOut.sizes()) + ".",
        "Distillation compares the two outputs class by class: give the student the teacher's classes.");
  }
}

}  // namespace

QuantizationOutcome runDistillationQuantization(const Model& teacher, const ParamValues& params,
                                                const TechniqueContext& context) {
  const Progress& progress = context.progress;
  const Dataset& data = requireTrainingData(context, teacher, "distillation",
                                            "Choose training data (e.g. digits:train); labels are optional.");
  const TypedParams p(params);
  const TrainingOptions options = trainingOptionsFrom(params);
  const double temperature = p.number("temperature");
  const bool labelled = data.info().labelled;
  const double alpha = labelled ? p.number("alpha") : 1.0;
  const int seeds = static_cast<int>(p.integer("seeds"));
  const int freezeBatchNormEpoch = static_cast<int>(p.integer("freeze_bn_epoch"));
  const TrainingData split = splitTrainingData(data, options, /*needsLabels=*/false, "distillation");
  const Model student = chooseStudent(teacher, p, context);
  checkStudentFits(teacher, student, split.trainInputs.slice(0, 0, 2));

  torch::jit::Module teacherModule = teacher.impl().module.clone();
  teacherModule.eval();
  const torch::Tensor teacherValidation = predict(teacherModule, split.validationInputs);
  const torch::Tensor teacherTrain =
      options.randomShift ? torch::Tensor() : predict(teacherModule, split.trainInputs);
  std::vector<Variant> variants{{"with distillation", alpha}};
  if (p.boolean("compare_without") && labelled && alpha > 0)
    variants.push_back({"without distillation", 0.0});

  std::optional<QuantizationOutcome> result;
  TrainingCurve curves;
  std::vector<VariantResult> results(variants.size());
  const int runs = seeds * static_cast<int>(variants.size());
  for (int seed = 0; seed < seeds; ++seed) {
    for (size_t v = 0; v < variants.size(); ++v) {
      const int run = seed * static_cast<int>(variants.size()) + static_cast<int>(v);
      const Progress part = progress.part(double(run) / runs, double(run + 1) / runs);
      TrainingOptions seeded = options;
      seeded.seed = options.seed + static_cast<uint64_t>(seed);
      const double a = variants[v].alpha;
      TrainingHooks hooks;
      hooks.loss = [&](const torch::Tensor& out, const torch::Tensor& inputs, const torch::Tensor& labels,
                       const torch::Tensor& index) {
        torch::Tensor loss = torch::zeros({}, out.options());
        if (a > 0) {
          // Without augmentation the teacher sees the same samples every epoch: its outputs are computed
          // once.
          const torch::Tensor teacherOut =
              teacherTrain.defined() ? teacherTrain.index_select(0, index)
                                     : predict(teacherModule, inputs, inputs.size(0)).reshape(out.sizes());
          // KL(softmax(teacher/T) || softmax(student/T)), batch mean, times T^2 (Hinton et al.).
          const torch::Tensor target = torch::softmax(teacherOut / temperature, 1);
          const torch::Tensor logStudent = torch::log_softmax(out / temperature, 1);
          const torch::Tensor kl =
              (target * (torch::log(target.clamp_min(1e-12)) - logStudent)).sum(1).mean();
          loss = loss + a * temperature * temperature * kl;
        }
        if (a < 1 && labels.defined())
          loss = loss + (1 - a) * crossEntropy(out, labels, seeded.labelSmoothing);
        return loss;
      };
      hooks.validationAgreement = [&](torch::jit::Module& module) {
        return topOneAgreement(predict(module, split.validationInputs), teacherValidation);
      };
      const std::string series =
          variants[v].series + (seeds > 1 ? " (seed " + std::to_string(seeded.seed) + ")" : "");
      FakeQuantSession session =
          startFakeQuantSession(student.impl().module, params, freezeBatchNormEpoch > 0);
      const TrainingCurve curve = trainWithFakeQuant(session, split, seeded, hooks, series,
                                                     freezeBatchNormEpoch, part.part(0.0, 0.9));
      curves.insert(curves.end(), curve.begin(), curve.end());
      ConvertedModel converted =
          convertAndDescribe(session, teacher, split, "distillation", params, series, part.part(0.9, 1.0));
      if (converted.int8ValidationOutputs.defined()) {
        if (converted.int8ValidationTop1 >= 0) results[v].int8Top1.push_back(converted.int8ValidationTop1);
        results[v].agreement.push_back(topOneAgreement(converted.int8ValidationOutputs, teacherValidation));
      }
      if (!result) {
        result = std::move(converted.outcome);
        result->figures.clear();  // the comparison below replaces per-run figures
      }
    }
  }
  QuantizationOutcome outcome = std::move(*result);
  outcome.trainingCurve = std::move(curves);
  auto& figures = outcome.figures;
  if (labelled && split.validationLabels.defined()) {
    figures.push_back({"distillation", "teacher fp32 validation top-1",
                       topOneAccuracy(teacherValidation, split.validationLabels), "%"});
  }
  for (size_t v = 0; v < variants.size(); ++v) {
    if (!results[v].int8Top1.empty()) {
      const auto [mean, spread] = meanAndSpread(results[v].int8Top1);
      figures.push_back({"distillation", variants[v].series + ": int8 validation top-1", mean, "%"});
      if (seeds > 1)
        figures.push_back({"distillation spread", variants[v].series + ": int8 top-1 std", spread, "pt"});
    }
    if (!results[v].agreement.empty()) {
      const auto [mean, spread] = meanAndSpread(results[v].agreement);
      figures.push_back({"distillation", variants[v].series + ": int8 agreement with teacher", mean, "%"});
      if (seeds > 1)
        figures.push_back({"distillation spread", variants[v].series + ": agreement std", spread, "pt"});
    }
    figures.push_back({"time", variants[v].series + ": seconds per epoch",
                       secondsPerEpoch(outcome.trainingCurve,
                                       variants[v].series +
                                           (seeds > 1 ? " (seed " + std::to_string(options.seed) + ")" : "")),
                       "s"});
  }
  char text[300];
  std::snprintf(
      text, sizeof(text),
      "Student %s distilled from the float teacher %s: loss = %.2f * T^2 * KL + %.2f * CE, T = %.2f; %d "
      "epochs with fake quantization, then int8. The comparison below is teacher fp32 vs student int8.",
      student.displayName().c_str(), teacher.displayName().c_str(), alpha, 1 - alpha, temperature,
      options.epochs);
  outcome.notes.insert(outcome.notes.begin(), text);
  if (!labelled) {
    outcome.notes.insert(
        outcome.notes.begin() + 1,
        "The training data has no labels: the student learned from the teacher alone (alpha 1), "
        "and no comparison without distillation was possible.");
  }
  if (seeds > 1)
    outcome.notes.push_back(
        "The model kept is the first seed's distilled student; figures are the mean over " +
        std::to_string(seeds) + " seeds.");
  return outcome;
}

TechniqueDescriptor distillationQuantizationTechnique() {
  TechniqueDescriptor d;
  d.name = "distillation";
  d.listPosition = 7;
  d.apiFunction = "knowledge_distillation_quantization";
  d.displayName = "Knowledge-distillation quantization";
  d.summary =
      "Trains a fake-quantized student against the float teacher's softened outputs, then converts to int8. "
      "Works on unlabelled data (teacher only).";
  d.params = distillationQuantizationParams();
  d.layerTypes = convAndLinearTypes();
  d.available = true;
  d.needsCalibration = true;
  d.trains = true;
  d.run = runDistillationQuantization;
  return d;
}

namespace {
const TechniqueRegistration registration(distillationQuantizationTechnique);
}  // namespace

}  // namespace quantscope
