#pragma once
// The editor of one technique parameter, one class per parameter type (the core's ParamKind checks the
// values; this shows them): spin boxes for numbers, a combo box for a choice, check boxes for a list of
// whole numbers, a path with Browse for a file, a line with an example for a per-layer map.
#include <QString>
#include <functional>
#include <memory>

#include "core/technique_registry.h"

class QWidget;

namespace quantscope::ui {

class ParamEditor {
 public:
  virtual ~ParamEditor() = default;
  // What the form lays out: the input, with its buttons when it has any.
  QWidget* row() const { return row_ ? row_ : input_; }
  // The value's own widget, named "param_<name>", with the help as its tooltip.
  QWidget* input() const { return input_; }
  // The value as the registry reads it ("4,8", "true", a path, ...).
  virtual QString value() const = 0;
  virtual void setValue(const QString& value) = 0;

 protected:
  QWidget* input_ = nullptr;
  QWidget* row_ = nullptr;
};

// The editor for `spec`'s type, showing its default; `changed` is called on every edit.
std::unique_ptr<ParamEditor> makeParamEditor(const ParamSpec& spec, std::function<void()> changed);

}  // namespace quantscope::ui
