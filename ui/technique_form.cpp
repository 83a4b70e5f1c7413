#include "ui/technique_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <algorithm>
#include <cmath>

namespace quantscope::ui {

TechniqueForm::TechniqueForm(QWidget* parent) : QWidget(parent) {
  layout_ = new QFormLayout(this);
  layout_->setContentsMargins(0, 0, 0, 0);
}

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
    QWidget* editor = nullptr;
    QWidget* row = nullptr;  // the editor with its buttons, when it has any
    const QString value = QString::fromStdString(spec.defaultValue);
    switch (spec.type) {
      case ParamType::Int: {
        auto* box = new QSpinBox;
        box->setRange(static_cast<int>(spec.minValue), static_cast<int>(spec.maxValue));
        box->setValue(value.toInt());
        connect(box, &QSpinBox::valueChanged, this, &TechniqueForm::changed);
        editor = box;
        break;
      }
      case ParamType::Float: {
        auto* box = new QDoubleSpinBox;
        // Enough decimals for the smallest allowed value (a learning rate of 1e-4 must not read as 0), and a
        // step in proportion to the default.
        const int decimals = spec.minValue > 0 ? int(std::ceil(-std::log10(spec.minValue))) : 3;
        box->setDecimals(std::clamp(decimals, 3, 10));
        const double defaultValue = QString::fromStdString(spec.defaultValue).toDouble();
        box->setSingleStep(defaultValue > 0 && defaultValue < 0.5 ? defaultValue / 2 : 0.05);
        box->setRange(spec.minValue, spec.maxValue);
        box->setValue(value.toDouble());
        connect(box, &QDoubleSpinBox::valueChanged, this, &TechniqueForm::changed);
        editor = box;
        break;
      }
      case ParamType::Choice: {
        auto* box = new QComboBox;
        for (const auto& choice : spec.choices) box->addItem(QString::fromStdString(choice));
        box->setCurrentText(value);
        connect(box, &QComboBox::currentTextChanged, this, &TechniqueForm::changed);
        editor = box;
        break;
      }
      case ParamType::Bool: {
        auto* box = new QCheckBox;
        box->setChecked(value == "true");
        connect(box, &QCheckBox::toggled, this, &TechniqueForm::changed);
        editor = box;
        break;
      }
      case ParamType::Text: {
        auto* line = new QLineEdit(value);
        connect(line, &QLineEdit::textChanged, this, &TechniqueForm::changed);
        editor = line;
        break;
      }
      case ParamType::File: {
        // The path is the value; Browse fills it in. The registry checks that the file exists.
        auto* line = new QLineEdit(value);
        line->setPlaceholderText("not set (see the tooltip)");
        line->setClearButtonEnabled(true);
        connect(line, &QLineEdit::textChanged, this, &TechniqueForm::changed);
        auto* browse = new QPushButton("Browse…");
        browse->setObjectName(QString::fromStdString("browse_" + spec.name));
        browse->setToolTip("Choose the file for " + QString::fromStdString(spec.name) + ".");
        browse->setEnabled(technique.available);
        connect(browse, &QPushButton::clicked, this, [this, line, name = spec.name] {
          const QString chosen = QFileDialog::getOpenFileName(
              this, QString::fromStdString(name), line->text(), "TorchScript (*.pt *.pth);;All files (*)");
          if (!chosen.isEmpty()) line->setText(chosen);
        });
        row = new QWidget;
        auto* rowLayout = new QHBoxLayout(row);
        rowLayout->setContentsMargins(0, 0, 0, 0);
        rowLayout->addWidget(line, 1);
        rowLayout->addWidget(browse);
        editor = line;
        break;
      }
    }
    editor->setObjectName(QString::fromStdString("param_" + spec.name));
    editor->setToolTip(QString::fromStdString(
        spec.help + " (default: " + (spec.defaultValue.empty() ? "none" : spec.defaultValue) + ")"));
    editor->setEnabled(technique.available);
    layout_->addRow(QString::fromStdString(spec.name), row ? row : editor);
    editors_[spec.name] = editor;
  }
}

QWidget* TechniqueForm::editor(const std::string& param) const {
  const auto it = editors_.find(param);
  return it == editors_.end() ? nullptr : it->second;
}

ParamValues TechniqueForm::values() const {
  ParamValues values;
  for (const ParamSpec& spec : specs_) {
    QWidget* w = editors_.at(spec.name);
    QString text;
    if (auto* i = qobject_cast<QSpinBox*>(w))
      text = QString::number(i->value());
    else if (auto* d = qobject_cast<QDoubleSpinBox*>(w))
      text = QString::number(d->value());
    else if (auto* c = qobject_cast<QComboBox*>(w))
      text = c->currentText();
    else if (auto* b = qobject_cast<QCheckBox*>(w))
      text = b->isChecked() ? "true" : "false";
    else if (auto* l = qobject_cast<QLineEdit*>(w))
      text = l->text();
    values[spec.name] = text.toStdString();
  }
  return values;
}

void TechniqueForm::setValues(const ParamValues& values) {
  for (const auto& [name, value] : values) {
    QWidget* w = editor(name);
    const QString text = QString::fromStdString(value);
    if (auto* i = qobject_cast<QSpinBox*>(w))
      i->setValue(text.toInt());
    else if (auto* d = qobject_cast<QDoubleSpinBox*>(w))
      d->setValue(text.toDouble());
    else if (auto* c = qobject_cast<QComboBox*>(w))
      c->setCurrentText(text);
    else if (auto* b = qobject_cast<QCheckBox*>(w))
      b->setChecked(text == "true");
    else if (auto* l = qobject_cast<QLineEdit*>(w))
      l->setText(text);
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
