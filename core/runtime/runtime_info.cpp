#include "core/runtime/runtime_info.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "core/errors.h"
#include "core/internal/torch_pch.h"

namespace quantscope {
namespace {

std::string engineName(at::QEngine engine) {
  switch (engine) {
    case at::QEngine::ONEDNN:
      return "onednn";
    case at::QEngine::QNNPACK:
      return "qnnpack";
    case at::QEngine::FBGEMM:
      return "fbgemm";
    default:
      return "none";
  }
}

// OpenBLAS's own thread pool fights LibTorch's OpenMP threads on a small machine; it must stay at one.
void limitOpenBlasThreads() {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
}

}  // namespace

std::string bestQuantizedEngine() {
  const auto& engines = at::globalContext().supportedQEngines();
  for (at::QEngine preferred : {at::QEngine::ONEDNN, at::QEngine::FBGEMM, at::QEngine::QNNPACK}) {
    if (std::find(engines.begin(), engines.end(), preferred) != engines.end()) return engineName(preferred);
  }
  return "none";
}

std::string useQuantizedEngine(const std::string& engine) {
  const std::string wanted = engine.empty() || engine == "auto" ? bestQuantizedEngine() : engine;
  const auto& engines = at::globalContext().supportedQEngines();
  for (at::QEngine candidate : engines) {
    if (engineName(candidate) == wanted && candidate != at::QEngine::NoQEngine) {
      at::globalContext().setQEngine(candidate);
      return wanted;
    }
  }
  std::string available;
  for (at::QEngine candidate : engines) {
    if (candidate != at::QEngine::NoQEngine)
      available += (available.empty() ? "" : ", ") + engineName(candidate);
  }
  throw Error("The quantized engine '" + wanted + "' is not in this LibTorch build.",
              "Available: " + available + ".");
}

RuntimeInfo configureRuntime(int threads) {
  const std::string engine = bestQuantizedEngine();
  if (engine == "onednn") at::globalContext().setQEngine(at::QEngine::ONEDNN);
  if (engine == "qnnpack") at::globalContext().setQEngine(at::QEngine::QNNPACK);
  if (threads > 0) at::set_num_threads(threads);
  limitOpenBlasThreads();
  return currentRuntimeInfo();
}

RuntimeInfo currentRuntimeInfo() {
  RuntimeInfo info;
  info.quantizedEngine = engineName(at::globalContext().qEngine());
  for (at::QEngine engine : at::globalContext().supportedQEngines()) {
    if (engine != at::QEngine::NoQEngine) info.availableEngines.push_back(engineName(engine));
  }
  info.threads = at::get_num_threads();
  if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_")) {
    Dl_info where{};
    if (dladdr(sgemm, &where) && where.dli_fname) {
      char resolved[PATH_MAX];
      info.blasLibrary = realpath(where.dli_fname, resolved) ? resolved : where.dli_fname;
    }
  }
  // LibTorch links libopenblas directly too, so OpenBLAS symbols are always present; what counts is which
  // library answers sgemm_ (Debian's libblas.so.3 alternative: openblas-pthread/ or the reference blas/).
  info.blasIsOpenBlas = info.blasLibrary.find("openblas") != std::string::npos;
  info.blasIsReference = info.blasLibrary.find("/blas/") != std::string::npos;
  if (info.blasIsReference) {
    info.warnings.push_back("fp32 matrix products run on the reference BLAS (" + info.blasLibrary +
                            "), about 20x slower than OpenBLAS: every fp32-vs-int8 speed-up is inflated. "
                            "Install libopenblas0-pthread.");
  }
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  info.ompWaitPolicy = wait ? wait : "";
  return info;
}

RuntimeScope::RuntimeScope()
    : engine_(engineName(at::globalContext().qEngine())), threads_(at::get_num_threads()) {}

RuntimeScope::~RuntimeScope() {
  for (at::QEngine engine : at::globalContext().supportedQEngines()) {
    if (engineName(engine) == engine_) at::globalContext().setQEngine(engine);
  }
  if (threads_ > 0) at::set_num_threads(threads_);
}

std::string describe(const RuntimeInfo& info) {
  std::string blas =
      info.blasIsOpenBlas ? "OpenBLAS" : (info.blasIsReference ? "reference BLAS (slow!)" : "BLAS");
  return "engine " + info.quantizedEngine + " | threads " + std::to_string(info.threads) + " | fp32 " + blas;
}

void reexecWithTunedEnvironment(int /*argc*/, char** argv) {
  if (std::getenv("QUANTSCOPE_ENV_TUNED")) return;
  setenv("QUANTSCOPE_ENV_TUNED", "1", 1);
  // Busy-waiting OpenMP threads collapse 20-50x when another process holds one of two cores.
  setenv("OMP_WAIT_POLICY", "passive", 0);
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
  execv("/proc/self/exe", argv);  // returns only on failure; then run on with what we have
}

}  // namespace quantscope
