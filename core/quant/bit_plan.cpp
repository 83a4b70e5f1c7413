#include "core/quant/bit_plan.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "core/errors.h"

namespace quantscope {
namespace {

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

int parseBits(const std::string& text, const std::string& context) {
  size_t used = 0;
  int bits = 0;
  try {
    bits = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    throw Error("'" + context + "': '" + text + "' is not a bit-width.",
                "Use a whole number of bits from 2 to 8, or float.");
  }
  if (bits < kMinBits || bits > kMaxBits) {
    throw Error("'" + context + "': " + std::to_string(bits) + " bits is out of range.",
                "The int8 kernels run 2 to 8 bits; use float to keep a layer float.");
  }
  return bits;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

BitPlan parseBitPlan(const std::string& text, const std::vector<std::string>& layers, LayerBits defaults) {
  BitPlan plan;
  for (const auto& layer : layers) plan.emplace_back(layer, defaults);
  std::set<std::string> seen;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    entry = trimmed(entry);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      throw Error("layer_bits: '" + entry + "' has no '='.", "Write layer=bits, e.g. conv1=float,fc2=4.");
    }
    const std::string name = trimmed(entry.substr(0, eq)), value = trimmed(entry.substr(eq + 1));
    auto found = std::find_if(plan.begin(), plan.end(), [&](const auto& p) { return p.first == name; });
    if (found == plan.end()) {
      throw Error(
          "layer_bits: the model has no quantizable layer '" + name + "'.",
          layers.empty() ? "The model has no Conv or Linear layer." : "Layers: " + joined(layers) + ".");
    }
    if (!seen.insert(name).second) throw Error("layer_bits: '" + name + "' is given twice.");
    LayerBits bits = defaults;
    if (value == "float") {
      bits.weightBits = 0;
    } else if (!value.empty() && value[0] == 'w') {
      const auto a = value.find('a');
      if (a == std::string::npos) {
        throw Error("layer_bits: '" + entry + "' is malformed.",
                    "Write w4a8 for 4-bit weights, 8-bit activations.");
      }
      bits.weightBits = parseBits(value.substr(1, a - 1), "layer_bits " + name);
      bits.activationBits = parseBits(value.substr(a + 1), "layer_bits " + name);
    } else {
      bits.weightBits = parseBits(value, "layer_bits " + name);
    }
    found->second = bits;
  }
  return plan;
}

std::string formatBitPlan(const BitPlan& plan, int defaultActivationBits) {
  std::string out;
  for (const auto& [layer, bits] : plan) {
    std::string value = bits.isFloat() ? "float" : std::to_string(bits.weightBits);
    if (!bits.isFloat() && bits.activationBits != defaultActivationBits) {
      value = "w" + std::to_string(bits.weightBits) + "a" + std::to_string(bits.activationBits);
    }
    out += (out.empty() ? "" : ",") + layer + "=" + value;
  }
  return out;
}

std::vector<int> parseBitList(const std::string& text, const std::string& parameter) {
  std::set<int> bits;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    item = trimmed(item);
    if (!item.empty()) bits.insert(parseBits(item, parameter));
  }
  if (bits.empty()) throw Error("'" + parameter + "' lists no bit-width.", "Give bit-widths such as 4,8.");
  return {bits.begin(), bits.end()};
}

}  // namespace quantscope
