#include "ui/panels/data_source_widget.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "core/errors.h"

namespace quantscope::ui {

DataSourceWidget::DataSourceWidget(bool offerSameAsTest, QWidget* parent) : QWidget(parent) {
  auto* form = form_ = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  kind_ = new QComboBox;
  kind_->addItem("Built-in digits, test split (360)", int(Kind::DigitsTest));
  kind_->addItem("Built-in digits, train split (1437)", int(Kind::DigitsTrain));
  if (offerSameAsTest) kind_->addItem("Same as test data", int(Kind::SameAsTest));
  kind_->addItem("Image folder (one sub-folder per class)...", int(Kind::ImageFolder));
  kind_->addItem("Tensor file (torch.save {'x','y'})...", int(Kind::TensorFile));
  kind_->addItem("CSV file (features + label column)...", int(Kind::CsvFile));
  kind_->setToolTip("Where the data comes from. Images are resized to the model's input size.");
  form->addRow("Source", kind_);

  auto* pathRow = new QHBoxLayout;
  path_ = new QLineEdit;
  path_->setPlaceholderText("folder or file");
  browse_ = new QPushButton("Browse...");
  pathRow->addWidget(path_);
  pathRow->addWidget(browse_);
  form->addRow("Path", pathRow);
  mean_ = new QLineEdit;
  mean_->setObjectName("mean");
  mean_->setPlaceholderText("e.g. 0.485,0.456,0.406");
  mean_->setToolTip("Image folders: per-channel mean subtracted after scaling pixels to 0..1.");
  std_ = new QLineEdit;
  std_->setObjectName("std");
  std_->setPlaceholderText("e.g. 0.229,0.224,0.225");
  std_->setToolTip("Image folders: per-channel standard deviation to divide by.");
  labelColumn_ = new QLineEdit;
  labelColumn_->setPlaceholderText("auto: label/target/class/y");
  labelColumn_->setToolTip("CSV: the label column's name or 0-based index.");
  maxSamples_ = new QSpinBox;
  maxSamples_->setRange(0, 10000000);
  maxSamples_->setSpecialValueText("all");
  maxSamples_->setToolTip("Use at most this many samples (0 = all).");
  form->addRow("Mean", mean_);
  form->addRow("Std", std_);
  form->addRow("Label column", labelColumn_);
  form->addRow("Samples", maxSamples_);

  connect(kind_, &QComboBox::currentIndexChanged, this, [this] {
    updateEnabled();
    const Kind k = kind();
    if ((k == Kind::ImageFolder || k == Kind::TensorFile || k == Kind::CsvFile) && path_->text().isEmpty())
      browse();
    Q_EMIT changed();
  });
  connect(browse_, &QPushButton::clicked, this, &DataSourceWidget::browse);
  connect(path_, &QLineEdit::textChanged, this, &DataSourceWidget::changed);
  updateEnabled();
}

DataSourceWidget::Kind DataSourceWidget::kind() const { return Kind(kind_->currentData().toInt()); }

void DataSourceWidget::updateEnabled() {
  const Kind k = kind();
  const bool file = k == Kind::ImageFolder || k == Kind::TensorFile || k == Kind::CsvFile;
  // Rows: 0 source, 1 path, 2 mean, 3 std, 4 label column, 5 samples. Only the ones that apply show.
  form_->setRowVisible(1, file);
  form_->setRowVisible(2, k == Kind::ImageFolder);
  form_->setRowVisible(3, k == Kind::ImageFolder);
  form_->setRowVisible(4, k == Kind::CsvFile);
  form_->setRowVisible(5, k != Kind::SameAsTest);
}

void DataSourceWidget::browse() {
  QString chosen;
  switch (kind()) {
    case Kind::ImageFolder:
      chosen = QFileDialog::getExistingDirectory(this, "Image folder");
      break;
    case Kind::TensorFile:
      chosen = QFileDialog::getOpenFileName(this, "Tensor file", {}, "Tensor files (*.pt *.pth)");
      break;
    case Kind::CsvFile:
      chosen = QFileDialog::getOpenFileName(this, "CSV file", {}, "CSV files (*.csv)");
      break;
    default:
      return;
  }
  if (!chosen.isEmpty()) path_->setText(chosen);
}

// Like the CLI's --mean/--std: numbers separated by commas, anything else is refused with a message.
static std::vector<double> numbers(const QString& text, const char* field) {
  std::vector<double> values;
  for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
    bool ok = false;
    values.push_back(part.trimmed().toDouble(&ok));
    if (!ok) {
      throw Error(std::string(field) + " takes numbers separated by commas, got '" + text.toStdString() +
                      "' ('" + part.trimmed().toStdString() + "' is not a number).",
                  "Example: 0.485,0.456,0.406");
    }
  }
  return values;
}

QString DataSourceWidget::location() const {
  switch (kind()) {
    case Kind::DigitsTest:
      return "digits:test";
    case Kind::DigitsTrain:
      return "digits:train";
    case Kind::SameAsTest:
      return "same-as-test";
    default:
      return path_->text();
  }
}

void DataSourceWidget::setSource(const QString& location) {
  auto select = [this](Kind k) { kind_->setCurrentIndex(kind_->findData(int(k))); };
  if (location == "digits" || location == "digits:test") return select(Kind::DigitsTest);
  if (location == "digits:train") return select(Kind::DigitsTrain);
  if (location == "same-as-test") return select(Kind::SameAsTest);
  path_->setText(location);
  const QFileInfo info(location);
  if (info.isDir())
    select(Kind::ImageFolder);
  else if (info.suffix().toLower() == "csv")
    select(Kind::CsvFile);
  else
    select(Kind::TensorFile);
}

DataSource DataSourceWidget::source() const {
  DataSource source;
  source.location = location().toStdString();
  // Mean and std apply to image folders only (their rows are hidden otherwise).
  if (kind() == Kind::ImageFolder) {
    source.mean = numbers(mean_->text(), "Mean");
    source.std = numbers(std_->text(), "Std");
  }
  source.labelColumn = labelColumn_->text().trimmed().toStdString();
  source.maxSamples = maxSamples_->value();
  return source;
}

}  // namespace quantscope::ui
