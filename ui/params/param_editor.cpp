#include "ui/params/param_editor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStringList>
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/params/param_kind.h"

namespace quantscope::ui {
namespace {

class IntEditor : public ParamEditor {
 public:
  IntEditor(const ParamSpec& spec, const std::function<void()>& changed) {
    box_ = new QSpinBox;
    box_->setRange(static_cast<int>(spec.minValue), static_cast<int>(spec.maxValue));
    QObject::connect(box_, &QSpinBox::valueChanged, box_, [changed] { changed(); });
    input_ = box_;
  }
  QString value() const override { return QString::number(box_->value()); }
  void setValue(const QString& value) override { box_->setValue(value.toInt()); }

 private:
  QSpinBox* box_;
};

class FloatEditor : public ParamEditor {
 public:
  FloatEditor(const ParamSpec& spec, const std::function<void()>& changed) {
    box_ = new QDoubleSpinBox;
    // Enough decimals for the smallest allowed value (a learning rate of 1e-4 must not read as 0), and a
    // step in proportion to the default.
    const int decimals = spec.minValue > 0 ? int(std::ceil(-std::log10(spec.minValue))) : 3;
    box_->setDecimals(std::clamp(decimals, 3, 10));
    const double defaultValue = QString::fromStdString(spec.defaultValue).toDouble();
    box_->setSingleStep(defaultValue > 0 && defaultValue < 0.5 ? defaultValue / 2 : 0.05);
    box_->setRange(spec.minValue, spec.maxValue);
    QObject::connect(box_, &QDoubleSpinBox::valueChanged, box_, [changed] { changed(); });
    input_ = box_;
  }
  QString value() const override { return QString::number(box_->value()); }
  void setValue(const QString& value) override { box_->setValue(value.toDouble()); }

 private:
  QDoubleSpinBox* box_;
};

class ChoiceEditor : public ParamEditor {
 public:
  ChoiceEditor(const ParamSpec& spec, const std::function<void()>& changed) {
    box_ = new QComboBox;
    for (const auto& choice : spec.choices) box_->addItem(QString::fromStdString(choice));
    QObject::connect(box_, &QComboBox::currentTextChanged, box_, [changed] { changed(); });
    input_ = box_;
  }
  QString value() const override { return box_->currentText(); }
  void setValue(const QString& value) override { box_->setCurrentText(value); }

 private:
  QComboBox* box_;
};

class BoolEditor : public ParamEditor {
 public:
  explicit BoolEditor(const std::function<void()>& changed) {
    box_ = new QCheckBox;
    QObject::connect(box_, &QCheckBox::toggled, box_, [changed] { changed(); });
    input_ = box_;
  }
  QString value() const override { return box_->isChecked() ? "true" : "false"; }
  void setValue(const QString& value) override { box_->setChecked(value == "true"); }

 private:
  QCheckBox* box_;
};

// Text, and a per-layer map (with an example of the form as placeholder). The registry checks the form;
// the technique checks the layer names against the model when it runs.
class LineEditor : public ParamEditor {
 public:
  LineEditor(const QString& placeholder, const std::function<void()>& changed) {
    line_ = new QLineEdit;
    line_->setPlaceholderText(placeholder);
    QObject::connect(line_, &QLineEdit::textChanged, line_, [changed] { changed(); });
    input_ = line_;
  }
  QString value() const override { return line_->text(); }
  void setValue(const QString& value) override { line_->setText(value); }

 protected:
  QLineEdit* line_;
};

// The path is the value; Browse fills it in. The registry checks that the file exists.
class FileEditor : public LineEditor {
 public:
  FileEditor(const ParamSpec& spec, const std::function<void()>& changed)
      : LineEditor("not set (see the tooltip)", changed) {
    line_->setClearButtonEnabled(true);
    auto* browse = new QPushButton("Browse…");
    browse->setObjectName(QString::fromStdString("browse_" + spec.name));
    browse->setToolTip("Choose the file for " + QString::fromStdString(spec.name) + ".");
    QLineEdit* line = line_;
    QObject::connect(browse, &QPushButton::clicked, browse, [line, browse, name = spec.name] {
      const QString chosen = QFileDialog::getOpenFileName(browse, QString::fromStdString(name), line->text(),
                                                          "TorchScript (*.pt *.pth);;All files (*)");
      if (!chosen.isEmpty()) line->setText(chosen);
    });
    row_ = new QWidget;
    auto* layout = new QHBoxLayout(row_);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(line_, 1);
    layout->addWidget(browse);
  }
};

// A list of a few allowed items (the choices, or the whole numbers of a small range): one check box each,
// so that only allowed items can be picked. Larger ranges fall back to a line (makeParamEditor).
class CheckListEditor : public ParamEditor {
 public:
  CheckListEditor(const std::vector<std::string>& items, const std::function<void()>& changed) {
    input_ = new QWidget;
    // Four to a row: the form's column is narrow, and every item must stay visible (8 bits included).
    constexpr int kPerRow = 4;
    auto* layout = new QGridLayout(input_);
    layout->setContentsMargins(0, 0, 0, 0);
    for (const auto& item : items) {
      auto* box = new QCheckBox(QString::fromStdString(item));
      box->setObjectName(QString::fromStdString("item_" + item));
      QObject::connect(box, &QCheckBox::toggled, box, [changed] { changed(); });
      const int index = static_cast<int>(boxes_.size());
      layout->addWidget(box, index / kPerRow, index % kPerRow);
      boxes_.push_back(box);
    }
    layout->setColumnStretch(kPerRow, 1);
  }
  QString value() const override {
    QStringList checked;
    for (const QCheckBox* box : boxes_)
      if (box->isChecked()) checked << box->text();
    return checked.join(',');
  }
  void setValue(const QString& value) override {
    QStringList items;
    for (const auto& item : splitParamList(value.toStdString())) items << QString::fromStdString(item);
    for (QCheckBox* box : boxes_) box->setChecked(items.contains(box->text()));
  }

 private:
  std::vector<QCheckBox*> boxes_;
};

std::vector<std::string> listItems(const ParamSpec& spec) {
  if (!spec.choices.empty()) return spec.choices;
  std::vector<std::string> items;
  if (spec.maxValue > spec.minValue && spec.maxValue - spec.minValue <= 16) {
    for (auto i = static_cast<int64_t>(spec.minValue); i <= static_cast<int64_t>(spec.maxValue); ++i)
      items.push_back(std::to_string(i));
  }
  return items;
}

std::unique_ptr<ParamEditor> makeEditorOfType(const ParamSpec& spec, const std::function<void()>& changed) {
  switch (spec.type) {
    case ParamType::Int:
      return std::make_unique<IntEditor>(spec, changed);
    case ParamType::Float:
      return std::make_unique<FloatEditor>(spec, changed);
    case ParamType::Choice:
      return std::make_unique<ChoiceEditor>(spec, changed);
    case ParamType::Bool:
      return std::make_unique<BoolEditor>(changed);
    case ParamType::File:
      return std::make_unique<FileEditor>(spec, changed);
    case ParamType::List:
      if (const auto items = listItems(spec); !items.empty())
        return std::make_unique<CheckListEditor>(items, changed);
      return std::make_unique<LineEditor>("a,b,...", changed);
    case ParamType::LayerMap:
      return std::make_unique<LineEditor>("layer=value,... as in the Layers table", changed);
    case ParamType::Text:
      break;
  }
  return std::make_unique<LineEditor>(QString(), changed);
}

}  // namespace

std::unique_ptr<ParamEditor> makeParamEditor(const ParamSpec& spec, std::function<void()> changed) {
  // Showing the default is not an edit: `changed` stays quiet until the editor is made.
  auto made = std::make_shared<bool>(false);
  std::unique_ptr<ParamEditor> editor = makeEditorOfType(spec, [made, changed = std::move(changed)] {
    if (*made) changed();
  });
  editor->setValue(QString::fromStdString(spec.defaultValue));
  *made = true;
  editor->input()->setObjectName(QString::fromStdString("param_" + spec.name));
  const std::string range = paramKind(spec.type).describeRange(spec);
  editor->input()->setToolTip(
      QString::fromStdString(spec.help + (range.empty() ? "" : " Allowed: " + range + ".") +
                             " (default: " + (spec.defaultValue.empty() ? "none" : spec.defaultValue) + ")"));
  return editor;
}

}  // namespace quantscope::ui
