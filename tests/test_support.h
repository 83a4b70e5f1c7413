#pragma once
// Helpers shared by the test suites: where the fixtures are, and checks on QuantScope's error messages.
#include <QString>
#include <QtTest>
#include <functional>
#include <string>

#include "core/errors.h"

namespace quantscope::test {

// A file made by tests/fixtures/make_fixtures.py for this test run.
std::string fixture(const std::string& name);
QString fixturesDir();
// The numbers make_fixtures.py computed in Python (facts.json).
QJsonObject fixtureFacts(const QString& model);
// Runs `action`, which must throw quantscope::Error whose message (with hint) contains every fragment.
void expectError(const std::function<void()>& action, const QStringList& fragments);

}  // namespace quantscope::test
