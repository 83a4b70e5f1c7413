#pragma once
// A QuantScope project (JSON): the model, the data choices and every run, to save and reopen a session; and
// reading runs back from any of the results files QuantScope writes (for reports made outside the window).
#include <QString>
#include <vector>

#include "core/results/run_result.h"

namespace quantscope {

// The project format's version. A file from a newer QuantScope is refused rather than half read.
constexpr int kProjectFormatVersion = 1;

// A run as a project keeps it: its number in the session and its measured record (no model).
struct ProjectRun {
  int id = 0;
  RunResult result;
};

struct Project {
  QString modelPath;
  QString inputShape;
  QString inputDtype;
  QString testData;
  QString calibrationData;
  std::vector<ProjectRun> runs;
};

void saveProject(const Project& project, const QString& path);  // atomic; throws quantscope::Error
Project loadProject(const QString& path);                       // throws quantscope::Error

// The runs of a project file, of a runs JSON (an array of runs, as the window's "Runs as JSON" export
// writes) or of one run's JSON (as `quantscope-cli ... --json` prints it). Runs without a number are
// numbered from 1 in file order. Throws quantscope::Error for anything else, and for a file with no run.
std::vector<ProjectRun> loadRuns(const QString& path);

}  // namespace quantscope
