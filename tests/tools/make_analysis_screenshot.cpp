// Drives the real main window through Analyze on the built-in demo (fx, the recipe given, default qnnpack)
// and saves the window with the Analyze tab as OUT_DIR/analysis-tab.png.
// Usage: make_analysis_screenshot OUT_DIR [qconfig]  (run under xvfb-run, or with QT_QPA_PLATFORM=offscreen)
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QSettings>
#include <QTest>

#include "core/runtime/runtime_info.h"
#include "ui/analysis/analysis_tab.h"
#include "ui/main_window.h"
#include "ui/panels/technique_form.h"
#include "ui/run_controller.h"

using namespace quantscope::ui;

static bool waitIdle(MainWindow& window, int timeoutMs) {
  QElapsedTimer clock;
  clock.start();
  while (window.controller().busy() && clock.elapsed() < timeoutMs) QTest::qWait(50);
  QTest::qWait(200);
  return !window.controller().busy();
}

int main(int argc, char** argv) {
  quantscope::reexecWithTunedEnvironment(argc, argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("QuantScopeScreenshots");
  QSettings().clear();
  const QString out = argc > 1 ? argv[1] : ".";
  const std::string qconfig = argc > 2 ? argv[2] : "qnnpack";
  QDir().mkpath(out);
  MainWindow window;
  window.resize(1366, 860);
  window.show();
  window.openDemo();
  if (!waitIdle(window, 60000)) return 1;
  window.selectTechnique("fx");
  window.techniqueForm().setValues({{"qconfig", qconfig}});
  window.findChild<QAction*>("analyzeAction")->trigger();
  if (!waitIdle(window, 600000) || !window.analysisTab().analysis()) {
    std::fprintf(stderr, "analysis failed: %s\n", qPrintable(window.errorText()));
    return 1;
  }
  QTest::qWait(300);
  const QString path = out + "/analysis-tab.png";
  if (!window.grab().save(path)) return 1;
  std::printf("%s\n", qPrintable(path));
  return 0;
}
