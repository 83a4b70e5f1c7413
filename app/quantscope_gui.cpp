// quantscope: the desktop application. Opens the model given on the command line, or the built-in digits
// demo. --screenshot grabs the window once the model is shown and quits (status 1 when it could not be): a
// smoke test for an installed or unpacked copy (run it with -platform offscreen where there is no display).
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QSaveFile>
#include <QTimer>
#include <cstdio>

#include "core/runtime/runtime_info.h"
#include "ui/main_window.h"

namespace {

// Written through QSaveFile, so a failed grab leaves no partial image behind.
bool saveWindowImage(QWidget& window, const QString& path) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return false;
  if (!window.grab().save(&file, "PNG")) {
    file.cancelWriting();
    return false;
  }
  return file.commit();
}

}  // namespace

int main(int argc, char** argv) {
  quantscope::reexecWithTunedEnvironment(argc, argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("QuantScope");
  QApplication::setApplicationName("QuantScope");
  QApplication::setApplicationVersion(QUANTSCOPE_VERSION);

  QCommandLineParser parser;
  parser.setApplicationDescription("Desktop workbench for quantizing PyTorch (TorchScript) models.");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("model", "TorchScript model to open (default: the built-in digits demo).",
                               "[model.pt]");
  const QCommandLineOption screenshot(
      "screenshot", "Save a PNG of the window once the model is shown, then quit.", "file.png");
  parser.addOption(screenshot);
  parser.process(app);

  quantscope::ui::MainWindow window;
  window.show();
  const QStringList models = parser.positionalArguments();
  if (!models.isEmpty())
    window.openModel(models.first());
  else
    window.openDemo();
  if (parser.isSet(screenshot)) {
    // The model loads on the worker thread: grab once it is shown (or its error is), polled from the event
    // loop so the window keeps painting meanwhile.
    const QString path = parser.value(screenshot);
    auto* poll = new QTimer(&window);
    QElapsedTimer waited;
    waited.start();
    QObject::connect(poll, &QTimer::timeout, &window, [&window, path, poll, waited] {
      const bool failed = !window.errorText().isEmpty();
      if (!window.model() && !failed && waited.elapsed() < 120000) return;
      poll->stop();
      if (!window.model()) {
        std::fprintf(stderr, "quantscope: the model was not shown: %s\n",
                     failed ? qPrintable(window.errorText()) : "still loading after 120 s");
      }
      if (!saveWindowImage(window, path)) {
        std::fprintf(stderr, "quantscope: could not write the screenshot %s\n", qPrintable(path));
        QApplication::exit(1);
        return;
      }
      QApplication::exit(window.model() ? 0 : 1);
    });
    poll->start(100);
  }
  return app.exec();
}
