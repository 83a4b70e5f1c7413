#pragma once
// Helpers of the suites that drive the real main window offscreen.
#include <QElapsedTimer>
#include <QFile>
#include <QSpinBox>
#include <QtTest>

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

inline void setSpin(ui::MainWindow& window, const char* name, int value) {
  window.findChild<QSpinBox*>(name)->setValue(value);
}

inline QByteArray head(const QString& path, int n) {
  QFile f(path);
  f.open(QIODevice::ReadOnly);
  return f.read(n);
}

}  // namespace quantscope::test
