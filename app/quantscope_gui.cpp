// quantscope: the desktop application. Opens with the built-in digits demo loaded.
#include <QApplication>

#include "core/runtime/runtime_info.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  quantscope::reexecWithTunedEnvironment(argc, argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("QuantScope");
  QApplication::setApplicationName("QuantScope");
  quantscope::ui::MainWindow window;
  window.show();
  const QStringList args = QApplication::arguments();
  if (args.size() > 1)
    window.openModel(args.at(1));
  else
    window.openDemo();
  return app.exec();
}
