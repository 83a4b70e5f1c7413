// Readers for user data: image folders, tensor files written by torch.save, and CSV files.
#include <torch/csrc/jit/serialization/pickle.h>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QTextStream>
#include <fstream>

#include "core/errors.h"
#include "core/internal/dataset_impl.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

std::vector<double> perChannel(const std::vector<double>& values, int64_t channels, double fallback,
                               const char* what) {
  if (values.empty()) return std::vector<double>(static_cast<size_t>(channels), fallback);
  if (values.size() == 1) return std::vector<double>(static_cast<size_t>(channels), values[0]);
  if (static_cast<int64_t>(values.size()) != channels) {
    throw Error(std::string("Image ") + what + " has " + std::to_string(values.size()) + " values for " +
                std::to_string(channels) + " channel(s).");
  }
  return values;
}

}  // namespace

Dataset loadImageFolder(const DataSource& source, const std::optional<InputSpec>& modelSpec) {
  int64_t channels = source.channels, height = source.imageHeight, width = source.imageWidth;
  if (modelSpec && modelSpec->shape.size() == 4) {
    if (!channels) channels = modelSpec->shape[1];
    if (!height) height = modelSpec->shape[2];
    if (!width) width = modelSpec->shape[3];
  }
  if (!channels || !height || !width) {
    throw Error("Image folder '" + source.location + "' needs an image size and channel count.",
                "Give the model an NCHW input spec, or set the image height, width and channels.");
  }
  if (channels != 1 && channels != 3) throw Error("Images can be read as 1 (grayscale) or 3 (RGB) channels.");
  const auto mean = perChannel(source.mean, channels, 0.0, "mean");
  const auto std = perChannel(source.std, channels, 1.0, "std");

  const QDir root(QString::fromStdString(source.location));
  const QStringList classes = root.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
  if (classes.isEmpty()) {
    throw Error("Image folder '" + source.location + "' has no class sub-folders.",
                "Put each class's images in its own sub-folder (e.g. data/cat/*.png, data/dog/*.png); "
                "classes are numbered in alphabetical order.");
  }
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  const QStringList patterns{"*.png", "*.jpg", "*.jpeg", "*.bmp", "*.pgm", "*.ppm", "*.gif"};
  for (int label = 0; label < classes.size(); ++label) {
    const QDir classDir(root.filePath(classes[label]));
    for (const QString& name : classDir.entryList(patterns, QDir::Files, QDir::Name)) {
      QImage image(classDir.filePath(name));
      if (image.isNull()) {
        throw Error("Image '" + classDir.filePath(name).toStdString() +
                    "' cannot be read (damaged or of an "
                    "unsupported format).");
      }
      image = image
                  .scaled(static_cast<int>(width), static_cast<int>(height), Qt::IgnoreAspectRatio,
                          Qt::SmoothTransformation)
                  .convertToFormat(channels == 1 ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
      for (int64_t c = 0; c < channels; ++c) {
        for (int y = 0; y < image.height(); ++y) {
          const uchar* line = image.constScanLine(y);
          for (int x = 0; x < image.width(); ++x) {
            const double value = line[x * channels + c] / 255.0;
            pixels.push_back(static_cast<float>((value - mean[c]) / std[c]));
          }
        }
      }
      labels.push_back(label);
    }
  }
  if (labels.empty()) throw Error("Image folder '" + source.location + "' holds no images.");
  const auto n = static_cast<int64_t>(labels.size());
  auto inputs = torch::from_blob(pixels.data(), {n, channels, height, width}).clone();
  auto targets = torch::from_blob(labels.data(), {n}, torch::kLong).clone();
  return makeDataset(source.location, inputs, targets);
}

Dataset loadTensorFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const char* expected =
      "Write it in Python with torch.save({'x': inputs, 'y': labels}, 'data.pt') (labels "
      "int64), or torch.save(inputs, 'data.pt') for unlabelled data.";
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    const std::string reason = shortTorchMessage(e);
    // LibTorch 1.13's unpickler lacks the opcode Python uses for a one-entry dict, and reads no OrderedDict.
    if (reason.find("Unknown opcode") != std::string::npos) {
      throw Error("Tensor file '" + path + "' holds a one-entry dict, which LibTorch 1.13 cannot read.",
                  "Save unlabelled inputs as torch.save(inputs, 'data.pt') or {'x': inputs, 'y': None}.");
    }
    if (reason.find("GenericDict") != std::string::npos) {
      throw Error("Tensor file '" + path + "' holds an OrderedDict (a state_dict?), not data.", expected);
    }
    throw Error("Tensor file '" + path + "' cannot be read: " + reason, expected);
  }
  torch::Tensor inputs, labels;
  if (value.isTensor()) {
    inputs = value.toTensor();
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) continue;
      const std::string key = entry.key().toStringRef();
      if (key == "x" || key == "inputs") inputs = entry.value().toTensor();
      if (key == "y" || key == "labels") labels = entry.value().toTensor();
    }
  }
  if (!inputs.defined()) throw Error("Tensor file '" + path + "' has no 'x' tensor.", expected);
  if (inputs.dim() < 1 || inputs.size(0) == 0) throw Error("Tensor file '" + path + "' holds no samples.");
  if (inputs.is_floating_point())
    inputs = inputs.to(torch::kFloat);
  else
    inputs = inputs.to(torch::kLong);
  if (labels.defined()) {
    if (labels.is_floating_point()) {
      throw Error("Tensor file '" + path +
                      "': 'y' holds floating-point values; labels are integer class "
                      "indices (int64), one per sample.",
                  expected);
    }
    if (labels.dim() != 1 || labels.size(0) != inputs.size(0)) {
      throw Error("Tensor file '" + path + "': 'y' must be one integer label per sample (" +
                      std::to_string(inputs.size(0)) + " of them), not shape " +
                      InputSpec::shapeToString(labels.sizes().vec()) + ".",
                  expected);
    }
    labels = labels.to(torch::kLong);
    if (labels.min().item<int64_t>() < 0) throw Error("Tensor file '" + path + "': labels must be >= 0.");
  }
  return makeDataset(path, inputs.contiguous(), labels);
}

Dataset loadCsv(const DataSource& source) {
  QFile file(QString::fromStdString(source.location));
  if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
    throw Error("Cannot open '" + source.location + "'.");
  QTextStream stream(&file);
  std::vector<QStringList> rows;
  while (!stream.atEnd()) {
    const QString line = stream.readLine().trimmed();
    if (!line.isEmpty()) rows.push_back(line.split(','));
  }
  if (rows.empty()) throw Error("CSV file '" + source.location + "' is empty.");
  bool hasHeader = false;
  for (const QString& cell : rows[0]) {
    bool numeric = false;
    cell.trimmed().toDouble(&numeric);
    if (!numeric) hasHeader = true;
  }
  const QStringList header = hasHeader ? rows[0] : QStringList();
  const int columns = static_cast<int>(rows[0].size());

  int labelColumn = -1;
  if (!source.labelColumn.empty()) {
    bool isIndex = false;
    const int index = QString::fromStdString(source.labelColumn).toInt(&isIndex);
    labelColumn =
        isIndex ? index : static_cast<int>(header.indexOf(QString::fromStdString(source.labelColumn)));
    if (labelColumn < 0 || labelColumn >= columns) {
      throw Error("CSV file '" + source.location + "' has no column '" + source.labelColumn + "'.");
    }
  } else if (!source.unlabelled) {
    for (const char* name : {"label", "target", "class", "y"}) {
      if (labelColumn < 0) labelColumn = static_cast<int>(header.indexOf(QString(name)));
    }
  }
  std::vector<float> features;
  std::vector<int64_t> labels;
  for (size_t r = hasHeader ? 1 : 0; r < rows.size(); ++r) {
    if (rows[r].size() != columns) {
      throw Error("CSV file '" + source.location + "', line " + std::to_string(r + 1) + ": " +
                  std::to_string(rows[r].size()) + " fields, the first line has " + std::to_string(columns) +
                  ".");
    }
    for (int c = 0; c < columns; ++c) {
      bool ok = false;
      const double value = rows[r][c].trimmed().toDouble(&ok);
      if (!ok) {
        throw Error("CSV file '" + source.location + "', line " + std::to_string(r + 1) + ", column " +
                    std::to_string(c + 1) + ": '" + rows[r][c].toStdString() + "' is not a number.");
      }
      if (c == labelColumn) {
        if (value < 0 || value != static_cast<double>(static_cast<int64_t>(value))) {
          throw Error("CSV file '" + source.location + "', line " + std::to_string(r + 1) +
                      ": labels must be whole numbers >= 0, got " + rows[r][c].toStdString() + ".");
        }
        labels.push_back(static_cast<int64_t>(value));
      } else {
        features.push_back(static_cast<float>(value));
      }
    }
  }
  const auto n = static_cast<int64_t>(rows.size() - (hasHeader ? 1 : 0));
  if (n == 0) throw Error("CSV file '" + source.location + "' has a header but no rows.");
  const int64_t width = columns - (labelColumn >= 0 ? 1 : 0);
  auto inputs = torch::from_blob(features.data(), {n, width}).clone();
  torch::Tensor targets;
  if (labelColumn >= 0) targets = torch::from_blob(labels.data(), {n}, torch::kLong).clone();
  return makeDataset(source.location, inputs, targets);
}

}  // namespace quantscope
