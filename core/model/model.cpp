// The model handle: making models, naming them, saving them atomically.
#include "core/model/model.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <sstream>

#include "core/errors.h"
#include "core/internal/model_impl.h"
#include "core/model/input_memory.h"
#include "core/runtime/runtime_info.h"

namespace quantscope {
Model makeModel(torch::jit::Module module, std::optional<InputSpec> spec, std::string quantizedEngine,
                std::string quantizationJson) {
  auto impl = std::make_shared<Model::Impl>();
  impl->module = std::move(module);
  impl->inputSpec = std::move(spec);
  impl->quantizedEngine = std::move(quantizedEngine);
  impl->quantizationJson = std::move(quantizationJson);
  return Model(std::move(impl));
}

Model makeDerivedModel(torch::jit::Module quantized, const Model& original, const std::string& label,
                       const std::string& engine, const std::string& quantizationJson) {
  Model model = makeModel(std::move(quantized), original.inputSpec(), engine, quantizationJson);
  model.impl().label = original.displayName() + " (" + label + ")";
  model.impl().derivedFrom =
      original.impl().derivedFrom.empty() ? original.impl().sourcePath : original.impl().derivedFrom;
  return model;
}

void recordLayerNames(Model& model, const std::vector<LayerQuantization>& layers) {
  QJsonObject record =
      QJsonDocument::fromJson(QByteArray::fromStdString(model.impl().quantizationJson)).object();
  QJsonObject names;
  for (const auto& layer : layers) {
    if (!layer.packedAs.empty())
      names[QString::fromStdString(layer.packedAs)] = QString::fromStdString(layer.layer);
  }
  record["layers"] = names;
  model.impl().quantizationJson = QJsonDocument(record).toJson(QJsonDocument::Compact).toStdString();
}

torch::Tensor firstTensorOutput(const c10::IValue& output) {
  if (output.isTensor()) return output.toTensor();
  if (output.isTuple()) {
    for (const auto& element : output.toTuple()->elements()) {
      if (auto t = firstTensorOutput(element); t.defined()) return t;
    }
  }
  if (output.isList()) {
    for (const auto& element : output.toListRef()) {
      if (auto t = firstTensorOutput(element); t.defined()) return t;
    }
  }
  return {};
}

torch::Tensor makeInput(const InputSpec& spec, bool random) {
  checkInputFitsInMemory(spec);  // a stored spec or a --batch can be absurd too
  if (spec.dtype == ElementType::Int64) {
    return random ? torch::randint(0, 2, spec.shape, torch::kLong) : torch::zeros(spec.shape, torch::kLong);
  }
  return random ? torch::randn(spec.shape) : torch::zeros(spec.shape);
}

void activateEngineOf(const Model& model) {
  if (!model.impl().quantizedEngine.empty()) useQuantizedEngine(model.impl().quantizedEngine);
}

Model::Model(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Model Model::clone() const {
  auto copy = std::make_shared<Impl>(*impl_);
  // Through the archive rather than Module::clone, so that the copy's classes live in a compilation unit
  // of its own. Module::clone registers new, renamed classes (with their compiled methods) in the source's
  // unit, which lives as long as the source: a session leaked ~6 MiB per run of the demo that way
  // (bench_soak), and the growing "___torch_mangle_N" numbers changed the quantized archive's size between
  // identical runs. Saving deep-copies parameters, buffers and attributes (packed int8 weights through
  // their __getstate__/__setstate__, as Module::clone does); the copied Impl above still shared the module.
  std::stringstream archive;
  impl_->module.save(archive);
  copy->module = torch::jit::load(archive);
  return Model(std::move(copy));
}

const std::string& Model::sourcePath() const { return impl_->sourcePath; }

std::string Model::displayName() const {
  if (impl_->sourcePath.empty()) return impl_->label.empty() ? "(in memory)" : impl_->label;
  return QFileInfo(QString::fromStdString(impl_->sourcePath)).fileName().toStdString();
}

std::optional<InputSpec> Model::inputSpec() const { return impl_->inputSpec; }
void Model::setInputSpec(const InputSpec& spec) { impl_->inputSpec = spec; }

InputSpec Model::requireInputSpec() const {
  if (impl_->inputSpec) return *impl_->inputSpec;
  throw Error("The model '" + displayName() + "' does not say what input it takes.",
              "Give the input shape, batch first, e.g. --input-shape 1x3x224x224 (and --input-dtype long for "
              "token models).");
}

std::string Model::serialize() const {
  std::ostringstream stream;
  torch::jit::ExtraFilesMap extra;
  if (impl_->inputSpec) extra[kInputSpecExtraFile] = impl_->inputSpec->toJson();
  if (!impl_->quantizationJson.empty()) extra[kQuantizationExtraFile] = impl_->quantizationJson;
  impl_->module.save(stream, extra);
  return stream.str();
}

void Model::save(const std::string& path) const {
  const QFileInfo target(QString::fromStdString(path));
  for (const std::string& protectedPath : {impl_->sourcePath, impl_->derivedFrom}) {
    if (!protectedPath.empty() &&
        target.canonicalFilePath() == QFileInfo(QString::fromStdString(protectedPath)).canonicalFilePath()) {
      throw Error("Refusing to overwrite the original model '" + path + "'.",
                  "Choose another output file; QuantScope never replaces an original model.");
    }
  }
  const std::string bytes = serialize();
  QSaveFile file(target.absoluteFilePath());
  if (!file.open(QIODevice::WriteOnly)) {
    throw Error("Cannot write '" + path + "': " + file.errorString().toStdString());
  }
  file.write(bytes.data(), static_cast<qint64>(bytes.size()));
  if (!file.commit()) throw Error("Writing '" + path + "' failed: " + file.errorString().toStdString());
}

}  // namespace quantscope
