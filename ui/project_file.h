#pragma once
// A QuantScope project (JSON): the model, the data choices and every run, to save and reopen a session.
#include <QString>
#include <vector>

#include "ui/run_entry.h"

namespace quantscope::ui {

struct Project {
  QString modelPath;
  QString inputShape;
  QString inputDtype;
  QString testData;
  QString calibrationData;
  std::vector<RunEntry> runs;  // reopened runs carry no quantized model (re-run to save one)
};

void saveProject(const Project& project, const QString& path);  // atomic; throws quantscope::Error
Project loadProject(const QString& path);                       // throws quantscope::Error

}  // namespace quantscope::ui
