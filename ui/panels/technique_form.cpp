#include "ui/panels/technique_form.h"

#include <QFormLayout>
#include <QLabel>

#include "ui/params/param_editor.h"

namespace quantscope::ui {

TechniqueForm::TechniqueForm(QWidget* parent) : QWidget(parent) {
  layout_ = new QFormLayout(this);
  layout_->setContentsMargins(0, 0, 0, 0);
}

TechniqueForm::~TechniqueForm() = default;

void TechniqueForm::setTechnique(const TechniqueDescriptor& technique) {
  while (layout_->rowCount() > 0) layout_->removeRow(0);
  editors_.clear();
  technique_ = technique.name;
  specs_ = technique.params;
  summary_ = new QLabel(QString::fromStdString(
      technique.available ? technique.summary : technique.summary + "\n" + technique.unavailableReason));
  summary_->setWordWrap(true);
  layout_->addRow(summary_);
  for (const ParamSpec& spec : technique.params) {
    std::unique_ptr<ParamEditor> editor = makeParamEditor(spec, [this] { Q_EMIT changed(); });
    editor->row()->setEnabled(technique.available);
    layout_->addRow(QString::fromStdString(spec.name), editor->row());
    editors_[spec.name] = std::move(editor);
  }
}

QWidget* TechniqueForm::editor(const std::string& param) const {
  const auto it = editors_.find(param);
  return it == editors_.end() ? nullptr : it->second->input();
}

ParamValues TechniqueForm::values() const {
  ParamValues values;
  for (const ParamSpec& spec : specs_) values[spec.name] = editors_.at(spec.name)->value().toStdString();
  return values;
}

void TechniqueForm::setValues(const ParamValues& values) {
  for (const auto& [name, value] : values) {
    if (const auto it = editors_.find(name); it != editors_.end())
      it->second->setValue(QString::fromStdString(value));
  }
}

QString TechniqueForm::validate() const {
  try {
    TechniqueRegistry::instance().resolveParams(technique_, values());
  } catch (const Error& e) {
    return QString::fromStdString(e.fullMessage());
  }
  return {};
}

}  // namespace quantscope::ui
