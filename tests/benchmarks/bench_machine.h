#pragma once
// What the benchmarks print about the machine their figures come from.
#include <fstream>
#include <string>

namespace quantscope::bench {

inline std::string cpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

}  // namespace quantscope::bench
