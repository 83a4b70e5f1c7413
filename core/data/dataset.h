#pragma once
// Evaluation / calibration data: the built-in digits, an image folder, a tensor file or a CSV.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/input_spec.h"

namespace quantscope {

class Model;

struct DatasetInfo {
  std::string name;
  int64_t size = 0;
  std::vector<int64_t> sampleShape;  // without the batch dimension
  ElementType dtype = ElementType::Float32;
  bool labelled = false;
  int64_t numClasses = 0;  // 1 + the largest label, when labelled
  // What loading did that the user should know, e.g. flat CSV rows reshaped to the model's input.
  std::vector<std::string> notes;
};

// Where data comes from and how to read it. One description serves the GUI's form and the CLI's flags.
struct DataSource {
  // "digits" (test split), "digits:train", "digits:test", "digits:all", a folder of class sub-folders,
  // a .pt/.pth tensor file ({'x': X, 'y': Y} from torch.save) or a .csv file.
  std::string location = "digits";
  // Image folders: target size and channels; 0 takes them from the model's input spec.
  int64_t imageHeight = 0;
  int64_t imageWidth = 0;
  int64_t channels = 0;
  std::vector<double> mean;  // per channel, applied after scaling pixels to 0..1
  std::vector<double> std;
  // CSV: the label column by name or 0-based index; empty picks "label"/"target"/"class"/"y" or none.
  std::string labelColumn;
  bool unlabelled = false;  // ignore labels even when present (fidelity metrics only)
  int64_t maxSamples = 0;   // 0 keeps all
};

class Dataset {
 public:
  struct Impl;
  explicit Dataset(std::shared_ptr<Impl> impl);

  // `modelSpec` fills in image size and channels for image folders, and reshapes flat samples (CSV rows,
  // 1-D tensors) row-major to the model's sample shape when the element counts match (said in notes).
  // It may be empty: the samples keep the shape they were stored with.
  static Dataset load(const DataSource& source, const std::optional<InputSpec>& modelSpec = std::nullopt);

  const DatasetInfo& info() const;
  Dataset head(int64_t count) const;  // the first `count` samples
  // The same samples in a seeded random order (the same seed gives the same order on every machine).
  Dataset shuffled(uint64_t seed) const;
  // A seeded split into (train, validation); validation gets round(size * fraction) samples.
  std::pair<Dataset, Dataset> split(double validationFraction, uint64_t seed) const;
  std::vector<int64_t> labels() const;  // empty when unlabelled
  // Throws Error when the samples' shape, channels or class count do not fit the model.
  void checkFits(const Model& model) const;
  // The input a model fed from this data takes: batch 1, the samples' shape and element type.
  InputSpec sampleInputSpec() const;

  Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

// When `model` stores no input spec, gives it this data's sampleInputSpec() and returns a note saying so
// (for the run's notes); returns an empty string when the model already has a spec.
std::string adoptInputSpecFromData(Model& model, const Dataset& data);

// The split the demo model was trained with: sample i is a test sample when i % 5 == 0.
constexpr int64_t kDigitsTestEvery = 5;
std::string resourcesDirectory();
std::string builtinDigitsModelPath();

}  // namespace quantscope
