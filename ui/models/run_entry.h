#pragma once
// One finished run as the window keeps it: the measured record, and the quantized model for Save As
// (absent for runs reopened from a project file).
#include <QString>
#include <optional>

#include "core/model/model.h"
#include "core/workflow.h"

namespace quantscope::ui {

struct RunEntry {
  int id = 0;
  RunResult result;
  std::optional<Model> quantizedModel;
  // The input spec the run took from the test data, when the window's model had none; the window gives it
  // to its own model on the GUI thread (the run worked on a clone).
  std::optional<InputSpec> inputSpecFromData;

  QString label() const { return QString("#%1 %2").arg(id).arg(QString::fromStdString(result.technique)); }
};

}  // namespace quantscope::ui
