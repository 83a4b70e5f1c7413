#include "tests/test_support.h"

#include <QTemporaryDir>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

namespace quantscope::test {

QString tempPath(const QString& name) {
  static QTemporaryDir dir;
  return dir.filePath(name);
}

QString fixturesDir() {
  const QString dir = qEnvironmentVariable("QUANTSCOPE_FIXTURES");
  if (dir.isEmpty()) qFatal("QUANTSCOPE_FIXTURES is not set; run the tests through ctest.");
  return dir;
}

std::string fixture(const std::string& name) {
  return (fixturesDir() + "/" + QString::fromStdString(name)).toStdString();
}

QJsonObject fixtureFacts(const QString& model) {
  QFile file(fixturesDir() + "/facts.json");
  if (!file.open(QIODevice::ReadOnly)) qFatal("facts.json missing");
  return QJsonDocument::fromJson(file.readAll()).object().value(model).toObject();
}

const LayerQuantization& layer(const std::vector<LayerQuantization>& layers, const std::string& name) {
  for (const auto& l : layers) {
    if (l.layer == name) return l;
  }
  throw std::runtime_error("no layer " + name);
}

void expectError(const std::function<void()>& action, const QStringList& fragments) {
  try {
    action();
  } catch (const Error& e) {
    const QString message = QString::fromStdString(e.fullMessage());
    for (const QString& fragment : fragments) {
      if (!message.contains(fragment, Qt::CaseInsensitive)) {
        QFAIL(qPrintable("error message lacks '" + fragment + "': " + message));
      }
    }
    return;
  } catch (const std::exception& e) {
    QFAIL(qPrintable(QString("expected quantscope::Error, got another exception: ") + e.what()));
  }
  QFAIL(qPrintable("expected an error mentioning: " + fragments.join(", ")));
}

}  // namespace quantscope::test
