#pragma once
// One class per parameter type: what a value of that type looks like and how it is checked and described.
// The registry validates every value with it, the CLI writes its flags and --help from it, and the window
// picks the editor made for the type (ui/params/param_editor.h). A new type is one class here and one
// editor there, instead of a case in every switch.
#include <string>
#include <utility>
#include <vector>

#include "core/technique_registry.h"

namespace quantscope {

class ParamKind {
 public:
  virtual ~ParamKind() = default;
  virtual ParamType type() const = 0;
  virtual std::string name() const = 0;  // "int", "layer map", ...
  // The placeholder the CLI shows for the flag's value, e.g. "file" or "layer=value,...".
  virtual std::string valueName() const { return "value"; }
  // What values are allowed, for --help and tooltips: "[1..1000]", "{a|b}", "" when anything goes.
  virtual std::string describeRange(const ParamSpec& /*spec*/) const { return {}; }
  // Throws Error starting with `where` ("Parameter x=y of 'fx'") when `value` does not fit `spec`.
  virtual void validate(const ParamSpec& spec, const std::string& value, const std::string& where) const = 0;
};

// The kind of every ParamType.
const ParamKind& paramKind(ParamType type);

// "4,8" -> {"4", "8"} (spaces trimmed, empty items dropped).
std::vector<std::string> splitParamList(const std::string& text);
// "conv1=4, fc2=float" -> {{"conv1", "4"}, {"fc2", "float"}}; throws Error naming the bad entry.
std::vector<std::pair<std::string, std::string>> splitParamMap(const std::string& text,
                                                               const std::string& where);

}  // namespace quantscope
