#pragma once
// A folder of result files, such as a sweep writes (one run's JSON per job): every run in it, and every file
// that is not a QuantScope result with the reason, so a front end can import the runs and list the rest.
#include <QString>
#include <vector>

#include "core/results/project_file.h"

namespace quantscope {

struct SkippedResultFile {
  QString fileName;  // relative to the folder
  QString reason;
};

struct ResultsFolder {
  std::vector<ProjectRun> runs;   // in file-name order; a file's runs in its own order
  std::vector<QString> runFiles;  // the file each run came from (same order as runs)
  std::vector<SkippedResultFile> skipped;
};

// Reads every regular, non-hidden file directly in `folder` with loadRuns (one run's JSON, a runs JSON or a
// project). Files it cannot read are skipped and listed, never fatal. Throws quantscope::Error when the
// folder does not exist or cannot be listed.
ResultsFolder loadResultsFolder(const QString& folder);

// The run's record as canonical text (its JSON, compact): two runs with the same text are the same
// measurement, so importing a file twice adds its runs once.
QByteArray runIdentity(const RunResult& result);

}  // namespace quantscope
