#pragma once
// The shape and element type a model takes as input, e.g. 1x3x224x224 float. Dimension 0 is the batch.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace quantscope {

enum class ElementType { Float32, Int64 };

std::string toString(ElementType type);
ElementType parseElementType(const std::string& text);  // "float", "float32", "long", "int64"

struct InputSpec {
  std::vector<int64_t> shape;
  ElementType dtype = ElementType::Float32;

  // "1x3x224x224"; throws Error on anything that is not positive integers joined by 'x'.
  static InputSpec parse(const std::string& shape, const std::string& dtype = "float");
  static std::string shapeToString(const std::vector<int64_t>& shape);
  std::string shapeString() const { return shapeToString(shape); }
  std::string toString() const;  // "1x3x224x224 float32"
  InputSpec withBatch(int64_t batch) const;
  int64_t elementsPerSample() const;

  std::string toJson() const;
  static std::optional<InputSpec> fromJson(const std::string& json);
  bool operator==(const InputSpec& other) const { return shape == other.shape && dtype == other.dtype; }
};

}  // namespace quantscope
