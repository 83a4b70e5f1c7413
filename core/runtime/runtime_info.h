#pragma once
// The machine facts every number depends on: quantized engine, threads, and which BLAS does fp32 GEMM.
#include <string>
#include <vector>

namespace quantscope {

struct RuntimeInfo {
  std::string quantizedEngine;  // "onednn" on x86 with Debian's LibTorch
  std::vector<std::string> availableEngines;
  int threads = 0;
  std::string blasLibrary;  // resolved path of the library that provides sgemm_
  bool blasIsOpenBlas = false;
  bool blasIsReference = false;
  std::string ompWaitPolicy;
  std::vector<std::string> warnings;
};

// The best quantized engine this LibTorch has (onednn, else qnnpack); never fbgemm on Debian's build.
std::string bestQuantizedEngine();
// Sets the quantized engine and thread counts (OpenBLAS single-threaded, LibTorch `threads`).
RuntimeInfo configureRuntime(int threads = 2);
// Makes `engine` ("onednn", "qnnpack"; "auto" or "" = the best) the active quantized engine; throws Error
// naming the available ones when this LibTorch lacks it. Returns the engine now active.
std::string useQuantizedEngine(const std::string& engine);
RuntimeInfo currentRuntimeInfo();

// The quantized engine and LibTorch's thread count are process-wide settings. A run holds a RuntimeScope:
// whatever the run sets (configureRuntime, useQuantizedEngine, a model's engine), the settings from before
// the run are back when it ends, normally or by an exception, so runs and sweeps cannot leak into each
// other.
class RuntimeScope {
 public:
  RuntimeScope();
  ~RuntimeScope();
  RuntimeScope(const RuntimeScope&) = delete;
  RuntimeScope& operator=(const RuntimeScope&) = delete;

 private:
  std::string engine_;
  int threads_ = 0;
};
std::string describe(const RuntimeInfo& info);  // one line for a status bar or a report header

// OpenMP and OpenBLAS read their environment when they load, before main() can set it. Call first in
// main(): when OMP_WAIT_POLICY / OPENBLAS_NUM_THREADS are unset it sets them and re-executes the program.
void reexecWithTunedEnvironment(int argc, char** argv);

}  // namespace quantscope
