#include "core/params/param_kind.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "core/errors.h"

namespace quantscope {
namespace {

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool parseNumber(const std::string& text, double& value) {
  try {
    size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size() && std::isfinite(value);
  } catch (const std::exception&) {
    return false;
  }
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::string rangeText(const ParamSpec& spec) {
  char range[64];
  // %.10g: exact for every bound in the registry (2147483647, 1000000), which %g would round.
  std::snprintf(range, sizeof(range), "%.10g..%.10g", spec.minValue, spec.maxValue);
  return range;
}

// Int and Float: a finite number within [min, max]; Int also whole.
class NumberKind : public ParamKind {
 public:
  explicit NumberKind(bool whole) : whole_(whole) {}
  ParamType type() const override { return whole_ ? ParamType::Int : ParamType::Float; }
  std::string name() const override { return whole_ ? "int" : "float"; }
  std::string describeRange(const ParamSpec& spec) const override { return "[" + rangeText(spec) + "]"; }
  void validate(const ParamSpec& spec, const std::string& value, const std::string& where) const override {
    double number = 0;
    if (!parseNumber(value, number) || (whole_ && number != std::floor(number)))
      throw Error(where + " must be " + (whole_ ? "a whole number." : "a number."));
    if (number < spec.minValue || number > spec.maxValue)
      throw Error(where + " is out of range " + rangeText(spec) + ".");
  }

 private:
  bool whole_;
};

class ChoiceKind : public ParamKind {
 public:
  ParamType type() const override { return ParamType::Choice; }
  std::string name() const override { return "choice"; }
  std::string describeRange(const ParamSpec& spec) const override {
    return "{" + joined(spec.choices, "|") + "}";
  }
  void validate(const ParamSpec& spec, const std::string& value, const std::string& where) const override {
    if (!spec.choices.empty() &&
        std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end())
      throw Error(where + " is not one of: " + joined(spec.choices, ", ") + ".");
  }
};

class BoolKind : public ParamKind {
 public:
  ParamType type() const override { return ParamType::Bool; }
  std::string name() const override { return "bool"; }
  std::string describeRange(const ParamSpec&) const override { return "{true|false}"; }
  void validate(const ParamSpec&, const std::string& value, const std::string& where) const override {
    if (value != "true" && value != "false") throw Error(where + " must be true or false.");
  }
};

class TextKind : public ParamKind {
 public:
  ParamType type() const override { return ParamType::Text; }
  std::string name() const override { return "text"; }
  void validate(const ParamSpec&, const std::string&, const std::string&) const override {}
};

// A path to an existing, readable file; empty means "not set" (the parameter's default says what then).
class FileKind : public ParamKind {
 public:
  ParamType type() const override { return ParamType::File; }
  std::string name() const override { return "file"; }
  std::string valueName() const override { return "file"; }
  void validate(const ParamSpec&, const std::string& value, const std::string& where) const override {
    if (!value.empty() && !std::ifstream(value).good())
      throw Error(where + ": the file does not exist or cannot be read.");
  }
};

// Comma-separated items: each one of the choices when the spec lists them, else a whole number in
// [min, max] when the spec gives a range; no item twice.
class ListKind : public ParamKind {
 public:
  ParamType type() const override { return ParamType::List; }
  std::string name() const override { return "list"; }
  std::string valueName() const override { return "a,b,..."; }
  std::string describeRange(const ParamSpec& spec) const override {
    if (!spec.choices.empty()) return "{" + joined(spec.choices, "|") + "},...";
    if (spec.maxValue > spec.minValue) return "[" + rangeText(spec) + "],...";
    return {};
  }
  void validate(const ParamSpec& spec, const std::string& value, const std::string& where) const override {
    std::set<std::string> seen;
    for (const std::string& item : splitParamList(value)) {
      if (!seen.insert(item).second) throw Error(where + " lists '" + item + "' twice.");
      if (!spec.choices.empty()) {
        if (std::find(spec.choices.begin(), spec.choices.end(), item) == spec.choices.end())
          throw Error(where + ": '" + item + "' is not one of: " + joined(spec.choices, ", ") + ".");
      } else if (spec.maxValue > spec.minValue) {
        double number = 0;
        if (!parseNumber(item, number) || number != std::floor(number) || number < spec.minValue ||
            number > spec.maxValue)
          throw Error(where + ": '" + item + "' is not a whole number in " + rangeText(spec) + ".");
      }
    }
  }
};

// layer=value entries separated by commas. What a value means (bits, "float", ...) and which layer names
// exist are the technique's to check against the model; this checks the form.
class LayerMapKind : public ParamKind {
 public:
  ParamType type() const override { return ParamType::LayerMap; }
  std::string name() const override { return "layer map"; }
  std::string valueName() const override { return "layer=value,..."; }
  void validate(const ParamSpec&, const std::string& value, const std::string& where) const override {
    splitParamMap(value, where);
  }
};

}  // namespace

std::vector<std::string> splitParamList(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = trimmed(text.substr(start, comma - start));
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

std::vector<std::pair<std::string, std::string>> splitParamMap(const std::string& text,
                                                               const std::string& where) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& entry : splitParamList(text)) {
    const size_t eq = entry.find('=');
    const std::string key = trimmed(entry.substr(0, eq));
    const std::string value = eq == std::string::npos ? "" : trimmed(entry.substr(eq + 1));
    if (eq == std::string::npos || key.empty() || value.empty() || value.find('=') != std::string::npos)
      throw Error(where + ": '" + entry + "' is not of the form layer=value.", "Example: conv1=4,fc2=float");
    if (std::any_of(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; }))
      throw Error(where + " names '" + key + "' twice.");
    entries.emplace_back(key, value);
  }
  return entries;
}

const ParamKind& paramKind(ParamType type) {
  static const NumberKind integer(true), floating(false);
  static const ChoiceKind choice;
  static const BoolKind boolean;
  static const TextKind text;
  static const FileKind file;
  static const ListKind list;
  static const LayerMapKind layerMap;
  switch (type) {
    case ParamType::Int:
      return integer;
    case ParamType::Float:
      return floating;
    case ParamType::Choice:
      return choice;
    case ParamType::Bool:
      return boolean;
    case ParamType::Text:
      return text;
    case ParamType::File:
      return file;
    case ParamType::List:
      return list;
    case ParamType::LayerMap:
      return layerMap;
  }
  return text;
}

}  // namespace quantscope
