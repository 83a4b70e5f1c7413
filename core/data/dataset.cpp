#include "core/data/dataset.h"

#include <ATen/CPUGeneratorImpl.h>

#include <zlib.h>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include "core/errors.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/model_impl.h"
#include "core/model/model.h"

namespace quantscope {

std::string resourcesDirectory() {
  if (const char* env = std::getenv("QUANTSCOPE_RESOURCES"); env && *env) return env;
  // An installed build keeps them beside the program; a build tree uses the source tree's copy.
  if (QCoreApplication::instance()) {
    const QString installed = QCoreApplication::applicationDirPath() + "/../share/quantscope/resources";
    if (QFileInfo::exists(installed + "/digits.csv.gz")) return QDir(installed).absolutePath().toStdString();
  }
  return QUANTSCOPE_RESOURCES_DIR;
}

std::string builtinDigitsModelPath() { return resourcesDirectory() + "/digits_cnn.pt"; }

Dataset makeDataset(std::string name, torch::Tensor inputs, torch::Tensor labels) {
  auto impl = std::make_shared<Dataset::Impl>();
  impl->info.name = std::move(name);
  impl->info.size = inputs.size(0);
  impl->info.sampleShape = inputs.sizes().slice(1).vec();
  impl->info.dtype = inputs.scalar_type() == torch::kLong ? ElementType::Int64 : ElementType::Float32;
  if (labels.defined()) {
    impl->info.labelled = true;
    impl->info.numClasses = impl->info.size ? labels.max().item<int64_t>() + 1 : 0;
  }
  impl->inputs = std::move(inputs);
  impl->labels = std::move(labels);
  return Dataset(std::move(impl));
}

Dataset loadDigits(const std::string& split) {
  if (split != "test" && split != "train" && split != "all") {
    throw Error("Unknown digits split '" + split + "'.", "Use digits:test, digits:train or digits:all.");
  }
  const std::string path = resourcesDirectory() + "/digits.csv.gz";
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw Error("The built-in digits data is missing: '" + path + "' cannot be opened.");
  std::string text;
  char buffer[1 << 16];
  int read = 0;
  while ((read = gzread(file, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(read));
  gzclose(file);

  std::vector<float> pixels;
  std::vector<int64_t> labels;
  int64_t row = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const bool isTest = row % kDigitsTestEvery == 0;
    ++row;
    if ((split == "test" && !isTest) || (split == "train" && isTest)) continue;
    const char* cursor = line.c_str();
    for (int column = 0; column < 65; ++column) {
      char* next = nullptr;
      const float value = std::strtof(cursor, &next);
      if (next == cursor) throw Error("The built-in digits data '" + path + "' is damaged.");
      if (column < 64)
        pixels.push_back(value / 16.0f);  // pixels are 0..16, the model takes 0..1
      else
        labels.push_back(static_cast<int64_t>(value));
      cursor = *next == ',' ? next + 1 : next;
    }
  }
  const auto n = static_cast<int64_t>(labels.size());
  auto inputs = torch::from_blob(pixels.data(), {n, 1, 8, 8}).clone();
  auto targets = torch::from_blob(labels.data(), {n}, torch::kLong).clone();
  return makeDataset("digits:" + split, inputs, targets);
}

namespace {

// CSV rows and 1-D tensors carry no shape: when the element counts match, they are the model's sample
// laid out row-major (as numpy's reshape and torch's view read them). Samples with a shape of their own
// are never reshaped, because 32x32x3 and 3x32x32 hold the same count in different layouts.
Dataset reshapeFlatSamples(const Dataset& data, const InputSpec& modelSpec) {
  const DatasetInfo& info = data.info();
  const std::vector<int64_t> modelSample(modelSpec.shape.begin() + 1, modelSpec.shape.end());
  if (info.sampleShape.size() != 1 || modelSample.size() < 2 || info.sampleShape == modelSample) return data;
  if (info.sampleShape[0] != modelSpec.elementsPerSample()) return data;  // checkFits names the mismatch
  std::vector<int64_t> shape{info.size};
  shape.insert(shape.end(), modelSample.begin(), modelSample.end());
  Dataset reshaped = makeDataset(info.name, data.impl().inputs.reshape(shape), data.impl().labels);
  reshaped.impl().info.numClasses = info.numClasses;
  reshaped.impl().info.notes = info.notes;
  reshaped.impl().info.notes.push_back("Data '" + info.name + "': flat samples of " +
                                       std::to_string(info.sampleShape[0]) +
                                       " values reshaped row-major to " +
                                       InputSpec::shapeToString(modelSample) + ", the model's sample shape.");
  return reshaped;
}

}  // namespace

Dataset::Dataset(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const DatasetInfo& Dataset::info() const { return impl_->info; }

Dataset Dataset::load(const DataSource& source, const std::optional<InputSpec>& modelSpec) {
  const std::string& location = source.location;
  Dataset data = [&] {
    if (location == "digits" || location.rfind("digits:", 0) == 0) {
      return loadDigits(location == "digits" ? "test" : location.substr(7));
    }
    const QFileInfo file(QString::fromStdString(location));
    if (!file.exists()) {
      throw Error("Data '" + location + "' does not exist.",
                  "Give a folder of class sub-folders, a .pt tensor file, a .csv file, or 'digits'.");
    }
    if (file.isDir()) return loadImageFolder(source, modelSpec);
    const QString suffix = file.suffix().toLower();
    if (suffix == "csv") return loadCsv(source);
    if (suffix == "pt" || suffix == "pth") return loadTensorFile(location);
    throw Error("Data '" + location + "' is of a kind QuantScope does not read.",
                "Use a folder of class sub-folders, a .pt/.pth file from torch.save({'x': X, 'y': Y}, f), or "
                "a .csv file.");
  }();
  if (data.info().size == 0) throw Error("Data '" + location + "' holds no samples.");
  if (modelSpec) data = reshapeFlatSamples(data, *modelSpec);
  if (source.unlabelled && data.info().labelled) data = makeDataset(data.info().name, data.impl().inputs, {});
  if (source.maxSamples > 0 && source.maxSamples < data.info().size) data = data.head(source.maxSamples);
  return data;
}

Dataset Dataset::head(int64_t count) const {
  count = std::min(count, impl_->info.size);
  auto labels = impl_->labels.defined() ? impl_->labels.slice(0, 0, count) : torch::Tensor();
  Dataset subset = makeDataset(impl_->info.name, impl_->inputs.slice(0, 0, count), labels);
  // Keep the class count of the whole set: the first samples need not contain every class.
  subset.impl_->info.numClasses = impl_->info.numClasses;
  subset.impl_->info.notes = impl_->info.notes;
  return subset;
}

Dataset Dataset::shuffled(uint64_t seed) const {
  auto generator = at::detail::createCPUGenerator(seed);
  const torch::Tensor order = torch::randperm(impl_->info.size, generator, torch::kLong);
  Dataset mixed =
      makeDataset(impl_->info.name, impl_->inputs.index_select(0, order),
                  impl_->labels.defined() ? impl_->labels.index_select(0, order) : torch::Tensor());
  mixed.impl_->info.notes = impl_->info.notes;
  return mixed;
}

std::pair<Dataset, Dataset> Dataset::split(double validationFraction, uint64_t seed) const {
  const Dataset mixed = shuffled(seed);
  const int64_t n = impl_->info.size;
  const int64_t validation = std::clamp<int64_t>(std::llround(double(n) * validationFraction), 0, n);
  const auto part = [&](int64_t begin, int64_t end) {
    const torch::Tensor& labels = mixed.impl().labels;
    return makeDataset(impl_->info.name, mixed.impl().inputs.slice(0, begin, end),
                       labels.defined() ? labels.slice(0, begin, end) : torch::Tensor());
  };
  return {part(validation, n), part(0, validation)};
}

std::vector<int64_t> Dataset::labels() const {
  if (!impl_->labels.defined()) return {};
  const torch::Tensor labels = impl_->labels.contiguous();
  return std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
}

InputSpec Dataset::sampleInputSpec() const {
  InputSpec spec;
  spec.shape.push_back(1);
  spec.shape.insert(spec.shape.end(), impl_->info.sampleShape.begin(), impl_->info.sampleShape.end());
  spec.dtype = impl_->info.dtype;
  return spec;
}

std::string adoptInputSpecFromData(Model& model, const Dataset& data) {
  if (model.inputSpec()) return {};
  const InputSpec spec = data.sampleInputSpec();
  model.setInputSpec(spec);
  return "The model stores no input spec: using " + spec.toString() + " from data '" + data.info().name +
         "' (batch 1, the samples' shape and type).";
}

void Dataset::checkFits(const Model& model) const {
  const InputSpec spec = model.requireInputSpec();
  const std::vector<int64_t> modelSample(spec.shape.begin() + 1, spec.shape.end());
  const auto& info = impl_->info;
  if (info.sampleShape != modelSample) {
    std::string hint = "Each sample must be " + InputSpec::shapeToString(modelSample) + ".";
    if (info.sampleShape.size() == 3 && modelSample.size() == 3 && info.sampleShape[0] != modelSample[0]) {
      hint += " The data has " + std::to_string(info.sampleShape[0]) + " channel(s), the model takes " +
              std::to_string(modelSample[0]) + ": pick grayscale or RGB to match.";
    }
    throw Error("Data '" + info.name + "' does not fit the model: samples are " +
                    InputSpec::shapeToString(info.sampleShape) + ", the model takes " +
                    InputSpec::shapeToString(modelSample) + " (input spec " + spec.toString() + ").",
                hint);
  }
  if (info.dtype != spec.dtype) {
    throw Error("Data '" + info.name + "' holds " + toString(info.dtype) + " samples; the model takes " +
                toString(spec.dtype) + ".");
  }
  if (!info.labelled) return;
  // The class count must fit the model's output width.
  torch::InferenceMode inference;
  activateEngineOf(model);
  torch::Tensor output;
  try {
    output = firstTensorOutput(forwardOrExplain(model, impl_->inputs.slice(0, 0, 1)));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("The model fails on a sample of '" + info.name + "': " + shortTorchMessage(e));
  }
  if (output.dim() >= 2 && info.numClasses > output.size(-1)) {
    throw Error("Data '" + info.name + "' has labels up to " + std::to_string(info.numClasses - 1) +
                    " but the model outputs only " + std::to_string(output.size(-1)) + " classes.",
                "Use data labelled 0.." + std::to_string(output.size(-1) - 1) + ", or load it unlabelled.");
  }
}

}  // namespace quantscope
