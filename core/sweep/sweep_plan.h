#pragma once
// A sweep: many independent quantization jobs from one JSON file, run here one after another
// (`quantscope-cli sweep jobs.json -o results/`) or handed out as one command per job (`--list`) to GNU
// parallel, a Slurm job array or anything else that runs commands. No scheduler of our own.
//
// File: {"jobs": [{"model": PATH, "technique": NAME, "params": {...}, "data": SOURCE,
//                  "calib_data": SOURCE, "input_shape": "1x3x224x224"}, ...],
//        "grid": {"model": [...], "technique": [...], "params": {"qconfig": ["x86", "qnnpack"]}, ...}}
// Fields mean what the CLI's flags of the same name mean; paths are relative to the file. A grid expands
// to every combination of its lists (a single value counts as a list of one); "params" in a grid is a
// map of lists. Both keys may be present; grid jobs follow the listed ones.
#include <string>
#include <vector>

#include "core/results/quantization_outcome.h"

namespace quantscope {

struct SweepJob {
  int index = 0;      // 1-based position in the expanded plan
  std::string model;  // absolute path
  std::string technique;
  ParamValues params;
  std::string data;       // data source (absolute path, or a built-in name such as "digits"); "" = none
  std::string calibData;  // "" = none
  std::string inputShape;
  // Stable name of the job's result: its position, technique and a hash of everything it runs with, so
  // a changed job never reuses an old result and an unchanged one is skipped on resume.
  std::string id;
};

struct SweepPlan {
  std::string file;  // absolute path of the job file
  std::vector<SweepJob> jobs;
};

// Throws Error naming the job (its index) and the field for every malformed entry; checks that models
// and data files exist, and that techniques and parameters are valid, before anything runs.
SweepPlan loadSweepPlan(const std::string& path);
SweepPlan parseSweepPlan(const std::string& jsonText, const std::string& baseDirectory,
                         const std::string& fileName);

// `<id>.json` inside the results folder.
std::string sweepResultPath(const SweepJob& job, const std::string& resultsDirectory);

// One self-contained command that runs the job and writes its result JSON, quoted for a POSIX shell:
// `quantscope-cli quantize MODEL --technique T --param k=v ... --result-json OUT`.
std::string sweepJobCommand(const SweepJob& job, const std::string& cliProgram,
                            const std::string& resultsDirectory);

// POSIX shell quoting: the text unchanged when it is safe, else in single quotes.
std::string shellQuote(const std::string& text);

}  // namespace quantscope
