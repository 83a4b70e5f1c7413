#pragma once
// Helpers shared by the test suites: where the fixtures are, and checks on QuantScope's error messages.
#include <QString>
#include <QtTest>
#include <functional>
#include <string>

#include "core/errors.h"
#include "core/results/quantization_outcome.h"

namespace quantscope::test {

// A file made by tests/fixtures/make_fixtures.py for this test run.
std::string fixture(const std::string& name);
QString fixturesDir();
// A path for `name` in this test process's own temporary folder (removed at exit), so that tests run in
// parallel, or two runs at once, never write the same file.
QString tempPath(const QString& name);
// The numbers make_fixtures.py computed in Python (facts.json).
QJsonObject fixtureFacts(const QString& model);
// Runs `action`, which must throw quantscope::Error whose message (with hint) contains every fragment.
// The report row of one layer; throws when the report has none of that name.
const LayerQuantization& layer(const std::vector<LayerQuantization>& layers, const std::string& name);
void expectError(const std::function<void()>& action, const QStringList& fragments);

}  // namespace quantscope::test
