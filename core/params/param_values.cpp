#include "core/params/param_values.h"

#include "core/errors.h"
#include "core/params/param_kind.h"

namespace quantscope {

const std::string& TypedParams::text(const std::string& name) const {
  const auto found = values_.find(name);
  if (found == values_.end()) throw Error("Internal: parameter '" + name + "' was not resolved.");
  return found->second;
}

int64_t TypedParams::integer(const std::string& name) const {
  try {
    return std::stoll(text(name));
  } catch (const std::logic_error&) {
    throw Error("Parameter " + name + "=" + text(name) + " must be a whole number.");
  }
}

double TypedParams::number(const std::string& name) const {
  try {
    return std::stod(text(name));
  } catch (const std::logic_error&) {
    throw Error("Parameter " + name + "=" + text(name) + " must be a number.");
  }
}

bool TypedParams::boolean(const std::string& name) const { return text(name) == "true"; }

std::vector<std::string> TypedParams::list(const std::string& name) const {
  return splitParamList(text(name));
}

std::vector<std::pair<std::string, std::string>> TypedParams::layerMap(const std::string& name) const {
  return splitParamMap(text(name), "Parameter " + name);
}

}  // namespace quantscope
