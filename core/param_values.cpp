#include "core/param_values.h"

#include <sstream>

#include "core/errors.h"

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
  std::vector<std::string> items;
  std::stringstream stream(text(name));
  for (std::string item; std::getline(stream, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

}  // namespace quantscope
