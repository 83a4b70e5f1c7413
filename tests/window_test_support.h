#pragma once
// Helpers of the suites that drive the real main window offscreen.
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QSettings>
#include <QSpinBox>
#include <QtTest>
#include <memory>

#include "ui/main_window.h"
#include "ui/run_controller.h"

namespace quantscope::test {

// Waits until the window's background job has ended; false on timeout.
inline bool waitIdle(ui::MainWindow& window, int timeoutMs = 120000) {
  QElapsedTimer clock;
  clock.start();
  while (window.controller().busy() && clock.elapsed() < timeoutMs) QTest::qWait(20);
  QTest::qWait(50);  // let queued result signals arrive
  return !window.controller().busy();
}

// A main window shown offscreen at a laptop's size, with fresh settings under `organization` (each suite
// its own, so no suite sees another's), the digits demo loading; wait with waitIdle.
inline std::unique_ptr<ui::MainWindow> openDemoWindow(const char* organization) {
  QCoreApplication::setOrganizationName(organization);
  QSettings().clear();
  auto window = std::make_unique<ui::MainWindow>();
  window->resize(1366, 768);
  window->show();
  window->openDemo();
  return window;
}

inline void setSpin(ui::MainWindow& window, const char* name, int value) {
  window.findChild<QSpinBox*>(name)->setValue(value);
}

inline QByteArray head(const QString& path, int n) {
  QFile f(path);
  f.open(QIODevice::ReadOnly);
  return f.read(n);
}

}  // namespace quantscope::test
