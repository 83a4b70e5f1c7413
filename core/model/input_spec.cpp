#include "core/model/input_spec.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>
#include <sstream>

#include <unistd.h>

#include "core/errors.h"
#include "core/model/input_memory.h"

namespace quantscope {

std::string toString(ElementType type) { return type == ElementType::Int64 ? "int64" : "float32"; }

ElementType parseElementType(const std::string& text) {
  if (text == "float" || text == "float32" || text.empty()) return ElementType::Float32;
  if (text == "long" || text == "int64") return ElementType::Int64;
  throw Error("Unknown input dtype '" + text + "'.", "Use float (images, features) or long (token ids).");
}

InputSpec InputSpec::parse(const std::string& shape, const std::string& dtype) {
  InputSpec spec;
  spec.dtype = parseElementType(dtype);
  if (shape.empty() || shape.front() == 'x' || shape.back() == 'x' || shape.find("xx") != std::string::npos) {
    throw Error("Input shape '" + shape + "' is not valid.",
                "Write positive sizes joined by 'x', batch first, e.g. 1x3x224x224.");
  }
  std::stringstream stream(shape);
  std::string part;
  while (std::getline(stream, part, 'x')) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || value <= 0) {
      throw Error("Input shape '" + shape + "' is not valid.",
                  "Write positive sizes joined by 'x', batch first, e.g. 1x3x224x224.");
    }
    spec.shape.push_back(value);
  }
  if (spec.shape.empty()) throw Error("Input shape is empty.", "Write it like 1x3x224x224 (batch first).");
  checkInputFitsInMemory(spec);
  return spec;
}

std::string InputSpec::shapeToString(const std::vector<int64_t>& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text;
}

std::string InputSpec::toString() const { return shapeString() + " " + quantscope::toString(dtype); }

InputSpec InputSpec::withBatch(int64_t batch) const {
  InputSpec copy = *this;
  if (!copy.shape.empty() && batch > 0) copy.shape[0] = batch;
  return copy;
}

long double inputBytes(const InputSpec& spec) {
  long double bytes = spec.dtype == ElementType::Int64 ? 8 : 4;
  for (int64_t d : spec.shape) bytes *= static_cast<long double>(d);
  return bytes;
}

void checkInputFitsInMemory(const InputSpec& spec) {
  const long double physical =
      static_cast<long double>(sysconf(_SC_PHYS_PAGES)) * static_cast<long double>(sysconf(_SC_PAGE_SIZE));
  const long double bytes = inputBytes(spec);
  if (physical <= 0 || bytes <= physical / 2) return;
  const auto gib = [](long double b) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.3Lg", b / (1024.0L * 1024.0L * 1024.0L));
    return std::string(text);
  };
  throw Error("Input shape " + spec.toString() + " needs " + gib(bytes) +
                  " GiB for the input alone, more than half of this machine's " + gib(physical) +
                  " GiB of memory; refused before allocating anything.",
              "Check the shape (batch first, e.g. 1x3x224x224) and the batch size.");
}

int64_t InputSpec::elementsPerSample() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

std::string InputSpec::toJson() const {
  QJsonArray dims;
  for (int64_t d : shape) dims.append(static_cast<qint64>(d));
  QJsonObject object{{"shape", dims}, {"dtype", QString::fromStdString(quantscope::toString(dtype))}};
  return QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString();
}

std::optional<InputSpec> InputSpec::fromJson(const std::string& json) {
  const QJsonObject object = QJsonDocument::fromJson(QByteArray::fromStdString(json)).object();
  const QJsonArray dims = object.value("shape").toArray();
  if (dims.isEmpty()) return std::nullopt;
  InputSpec spec;
  for (const auto& d : dims) {
    if (d.toInteger() <= 0) return std::nullopt;
    spec.shape.push_back(d.toInteger());
  }
  try {
    spec.dtype = parseElementType(object.value("dtype").toString().toStdString());
  } catch (const Error&) {
    return std::nullopt;
  }
  return spec;
}

}  // namespace quantscope
