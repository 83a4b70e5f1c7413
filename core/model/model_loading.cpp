// Model::load: recognise what the user actually handed us before LibTorch sees it, so that every wrong
// kind of file gets a message that names it and says how to get a TorchScript archive instead.
#include <caffe2/serialize/inline_container.h>
#include <QJsonDocument>
#include <QJsonObject>

#include <fcntl.h>
#include <unistd.h>
#include <QFileInfo>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/errors.h"
#include "core/internal/model_impl.h"

namespace quantscope {
namespace {

const char* const kExportHint =
    "Export a TorchScript archive in Python: torch.jit.save(torch.jit.script(model), 'model.pt') "
    "(or torch.jit.trace(model, example_input) when the model is not scriptable).";

std::string readHead(const std::string& path, size_t count) {
  std::ifstream file(path, std::ios::binary);
  std::string head(count, '\0');
  file.read(head.data(), static_cast<std::streamsize>(count));
  head.resize(static_cast<size_t>(file.gcount()));
  return head;
}

// Files under /proc and /sys report size 0 whatever they hold, and some fail to read at all (EIO): try
// one byte, so that such a file is called unreadable rather than empty. Empty when it reads.
std::string readFailure(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::strerror(errno);
  char byte = 0;
  const ssize_t got = ::read(fd, &byte, 1);
  const int error = errno;
  ::close(fd);
  return got < 0 ? std::strerror(error) : std::string();
}

bool looksLikeOnnx(const std::string& path, const std::string& head) {
  const QString suffix = QFileInfo(QString::fromStdString(path)).suffix().toLower();
  // An ONNX ModelProto starts with field 1 (ir_version, varint) and names its producer early on.
  return suffix == "onnx" ||
         (!head.empty() && head[0] == 0x08 && head.find("pytorch") != std::string::npos) ||
         head.find("onnx") != std::string::npos;
}

std::string readRecord(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  if (!reader.hasRecord(name)) return {};
  auto [data, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

struct ArchiveFacts {
  std::string inputSpecJson;
  std::string quantizationJson;
};

Error damagedArchive(const std::string& path, const std::exception& e) {
  return Error("'" + path + "' is damaged or truncated: it starts like a model archive but cannot be read (" +
                   shortTorchMessage(e) + ").",
               "Copy or export the model again; an interrupted download or copy leaves such files.");
}

// Opens the zip without loading it; throws Error for archives that are damaged or not TorchScript.
ArchiveFacts inspectArchive(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception& e) {
    // PyTorch's reader wants every entry under one top folder; a zip of loose files is no damaged model.
    if (std::string(e.what()).find("not in a subdirectory") != std::string::npos) {
      throw Error("'" + path +
                      "' is a zip file but not a TorchScript archive (its files are not under one "
                      "archive folder, as torch.jit.save writes them).",
                  kExportHint);
    }
    throw damagedArchive(path, e);
  }
  bool hasCode = false;
  for (const std::string& record : reader->getAllRecords()) {
    if (record.rfind("code/", 0) == 0 || record == "constants.pkl") hasCode = true;
  }
  if (!hasCode) {
    if (reader->hasRecord("data.pkl")) {
      throw Error(
          "'" + path +
              "' was written by torch.save (a state_dict or a pickled eager model), not by "
              "torch.jit.save: it holds weights but no TorchScript code, so it cannot run outside the "
              "Python class that made it.",
          kExportHint);
    }
    throw Error("'" + path + "' is a zip file but not a TorchScript archive (no code/ or constants.pkl).",
                kExportHint);
  }
  ArchiveFacts facts;
  try {
    facts.inputSpecJson = readRecord(*reader, std::string("extra/") + kInputSpecExtraFile);
    facts.quantizationJson = readRecord(*reader, std::string("extra/") + kQuantizationExtraFile);
  } catch (const std::exception& e) {  // the directory lists the record, but its header or data is broken
    throw damagedArchive(path, e);
  }
  return facts;
}

std::string engineFromQuantizationJson(const std::string& json) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(json))
      .object()
      .value("engine")
      .toString()
      .toStdString();
}

}  // namespace

Model Model::load(const std::string& path) {
  const QFileInfo file(QString::fromStdString(path));
  if (!file.exists()) throw Error("Model file '" + path + "' does not exist.");
  if (!file.isFile()) throw Error("'" + path + "' is not a file.");
  if (!file.isReadable()) throw Error("Model file '" + path + "' cannot be read (permissions).");
  if (const std::string failure = readFailure(path); !failure.empty())
    throw Error("Model file '" + path + "' cannot be read: " + failure + ".");
  if (file.size() == 0) throw Error("Model file '" + path + "' is empty.", kExportHint);

  const std::string head = readHead(path, 4096);
  if (head.rfind("PK\x03\x04", 0) != 0) {
    if (static_cast<unsigned char>(head[0]) == 0x80) {
      throw Error("'" + path +
                      "' is a pickle written by torch.save in the legacy format (a state_dict or an "
                      "eager model), not a TorchScript archive.",
                  kExportHint);
    }
    if (looksLikeOnnx(path, head)) {
      throw Error("'" + path +
                      "' looks like an ONNX model; QuantScope quantizes TorchScript archives. "
                      "Export the PyTorch model itself instead.",
                  kExportHint);
    }
    throw Error("'" + path +
                    "' is not a TorchScript archive (a TorchScript file is a zip archive; this one "
                    "is not).",
                kExportHint);
  }

  const ArchiveFacts facts = inspectArchive(path);
  const std::string engine = engineFromQuantizationJson(facts.quantizationJson);
  // Packed int8 weights are rebuilt for the engine active at load time, so it must be set first.
  if (engine == "qnnpack") at::globalContext().setQEngine(at::QEngine::QNNPACK);
  if (engine == "onednn") at::globalContext().setQEngine(at::QEngine::ONEDNN);

  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw Error("'" + path + "' could not be loaded as TorchScript: " + shortTorchMessage(e),
                "It may come from a newer PyTorch than this LibTorch (1.13), or be damaged. " +
                    std::string(kExportHint));
  }
  module.eval();
  Model model =
      makeModel(std::move(module), InputSpec::fromJson(facts.inputSpecJson), engine, facts.quantizationJson);
  model.impl().sourcePath = QFileInfo(QString::fromStdString(path)).absoluteFilePath().toStdString();
  return model;
}

}  // namespace quantscope
