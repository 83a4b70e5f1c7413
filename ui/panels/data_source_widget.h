#pragma once
// Picks where data comes from: the built-in digits splits, an image folder, a tensor file or a CSV file,
// with the options each kind needs. Produces the core's DataSource description.
#include <QWidget>

#include "core/data/dataset.h"

class QComboBox;
class QFormLayout;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace quantscope::ui {

class DataSourceWidget : public QWidget {
  Q_OBJECT
 public:
  enum class Kind { DigitsTest, DigitsTrain, SameAsTest, ImageFolder, TensorFile, CsvFile };
  // `offerSameAsTest`: for the calibration/training data picker.
  explicit DataSourceWidget(bool offerSameAsTest, QWidget* parent = nullptr);

  Kind kind() const;
  bool sameAsTest() const { return kind() == Kind::SameAsTest; }
  // Throws quantscope::Error when a field does not parse (e.g. a mean that is not a number).
  DataSource source() const;
  void setSource(const QString& location);
  QString location() const;

 Q_SIGNALS:
  void changed();

 private:
  void browse();
  void updateEnabled();

  QFormLayout* form_ = nullptr;
  QComboBox* kind_ = nullptr;
  QLineEdit* path_ = nullptr;
  QPushButton* browse_ = nullptr;
  QLineEdit* mean_ = nullptr;
  QLineEdit* std_ = nullptr;
  QLineEdit* labelColumn_ = nullptr;
  QSpinBox* maxSamples_ = nullptr;
};

}  // namespace quantscope::ui
