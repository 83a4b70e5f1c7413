#pragma once
// The parameter form of one technique, generated from its description in the core's registry: each
// parameter becomes a typed editor with its range, default and help text as tooltip.
#include <QWidget>
#include <map>
#include <memory>

#include "core/technique_registry.h"

class QFormLayout;
class QLabel;

namespace quantscope::ui {

class ParamEditor;

class TechniqueForm : public QWidget {
  Q_OBJECT
 public:
  explicit TechniqueForm(QWidget* parent = nullptr);
  ~TechniqueForm() override;
  void setTechnique(const TechniqueDescriptor& technique);
  const std::string& techniqueName() const { return technique_; }
  ParamValues values() const;
  void setValues(const ParamValues& values);
  // Empty when the values are valid; otherwise the registry's message.
  QString validate() const;
  QWidget* editor(const std::string& param) const;

 Q_SIGNALS:
  void changed();

 private:
  std::string technique_;
  QFormLayout* layout_ = nullptr;
  QLabel* summary_ = nullptr;
  std::map<std::string, std::unique_ptr<ParamEditor>> editors_;
  std::vector<ParamSpec> specs_;
};

}  // namespace quantscope::ui
