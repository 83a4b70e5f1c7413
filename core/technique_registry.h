#pragma once
// Every quantization technique QuantScope knows, with a typed description of its parameters. Each technique
// describes and registers itself in its own file (core/techniques/), with a TechniqueRegistration; the
// registry only collects them. The GUI's forms and the CLI's flags and help are generated from these
// descriptions.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/results/quantization_outcome.h"

namespace quantscope {

class Dataset;

// File: a path to an existing file (e.g. a student model); empty allowed when the default is empty.
// List: comma-separated items ("4,8"), each a choice or a whole number in [min, max].
// LayerMap: per-layer values ("conv1=float,fc2=4"). Each type's checks live in core/params/param_kind.h.
enum class ParamType { Int, Float, Choice, Bool, Text, File, List, LayerMap };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Float;
  std::string defaultValue;  // as text, exactly as the documented API's default
  double minValue = 0;       // Int / Float, and List items when there are no choices
  double maxValue = 0;
  std::vector<std::string> choices;  // Choice, and List items
  std::string help;
};

// What a technique gets besides the model and its parameters.
struct TechniqueContext {
  const Dataset* calibrationData = nullptr;  // for techniques that calibrate
  const Dataset* trainingData = nullptr;     // for techniques that train; falls back to calibrationData
  const Dataset* evaluationData = nullptr;   // the data the run is measured on, when the front end has it
  // Extra models by role, e.g. "student" for distillation; a technique documents the roles it reads.
  std::map<std::string, Model> models;
  Progress progress;  // stage/fraction, cancel, and streamed training points

  const Dataset* training() const { return trainingData ? trainingData : calibrationData; }
  const Model* model(const std::string& role) const {
    const auto found = models.find(role);
    return found == models.end() ? nullptr : &found->second;
  }
};

using TechniqueFunction =
    std::function<QuantizationOutcome(const Model&, const ParamValues&, const TechniqueContext&)>;

struct TechniqueDescriptor {
  std::string name;  // "dynamic", "static", "qat", "fx", "mixed", "pruning", "distillation"
  // Where the technique appears in every list (GUI, --help, the registry): the documented order is dynamic
  // 1, static 2, qat 3, fx 4, mixed 5, pruning 6, distillation 7. Static initialisation order is
  // unspecified across files, so the registry sorts by this, never by when a technique registered.
  int listPosition = 0;
  std::string apiFunction;  // "dynamic_quantization", ...
  std::string displayName;
  std::string summary;  // one line for the GUI and --help
  std::vector<ParamSpec> params;
  std::vector<std::string> layerTypes;  // module types it quantizes ("Linear", "Conv2d", ...)
  bool available = false;
  bool needsCalibration = false;  // calibrates on (or trains with) the calibration data
  bool trains = false;            // fine-tunes the model: needs (labelled) training data
  std::string unavailableReason;  // shown instead of running, when not available
  TechniqueFunction run;
};

// Registers a technique from its own file, the way PlotJuggler's registerTransform<T>() does:
//   const TechniqueRegistration registration(dynamicQuantizationTechnique);
// at namespace scope in core/techniques/dynamic_quantization.cpp. `describe` runs when the registry is first
// used (after static initialisation), so a descriptor may call anything. The technique files are linked
// whole (core/CMakeLists.txt), so a registration is never dropped for being otherwise unreferenced.
class TechniqueRegistration {
 public:
  using Describe = TechniqueDescriptor (*)();
  explicit TechniqueRegistration(Describe describe);
};

class TechniqueRegistry {
 public:
  // The registered techniques in listPosition order. Throws std::logic_error when two registrations share a
  // name or a position (a programming error that the registry test catches).
  static const TechniqueRegistry& instance();

  const std::vector<TechniqueDescriptor>& techniques() const { return techniques_; }
  // Throws Error listing the known names when `name` is not one of them.
  const TechniqueDescriptor& find(const std::string& name) const;
  // Defaults filled in, each value checked against its spec (type, range, choices); unknown keys rejected.
  ParamValues resolveParams(const std::string& technique, const ParamValues& given) const;
  // Throws NotAvailableError for techniques not built yet; otherwise runs the technique.
  QuantizationOutcome run(const std::string& technique, const Model& model, const ParamValues& given,
                          const TechniqueContext& context) const;

 private:
  TechniqueRegistry();
  std::vector<TechniqueDescriptor> techniques_;
};

// The module types the static int8 techniques quantize (and pruning prunes): Conv1d/2d/3d and Linear.
const std::vector<std::string>& convAndLinearTypes();

std::string toString(ParamType type);
// "key=value" -> (key, value); throws Error on a missing '='.
std::pair<std::string, std::string> parseParamAssignment(const std::string& text);

}  // namespace quantscope
