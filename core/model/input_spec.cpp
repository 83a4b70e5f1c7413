#include "core/model/input_spec.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <sstream>

#include "core/errors.h"

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
