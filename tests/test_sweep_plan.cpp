// Sweep job files: listed jobs and grids, paths relative to the file, stable ids, every malformed entry
// refused with the job and field named, and the self-contained command each job lists.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <set>

#include "core/errors.h"
#include "core/sweep/sweep_plan.h"

using namespace quantscope;

class TestSweepPlan : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;

  std::string path(const QString& name) const { return dir_.filePath(name).toStdString(); }
  SweepPlan parse(const QByteArray& json) const {
    return parseSweepPlan(json.toStdString(), dir_.path().toStdString(), path("jobs.json"));
  }
  void expectError(const QByteArray& json, const QString& fragment) {
    try {
      parse(json);
      QFAIL(qPrintable("accepted: " + json));
    } catch (const Error& e) {
      QVERIFY2(QString::fromStdString(e.what()).contains(fragment), e.what());
    }
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    QVERIFY(QDir(dir_.path()).mkpath("models"));
    for (const char* name : {"models/a.pt", "models/b.pt", "calib.csv"}) {
      QFile file(dir_.filePath(name));
      QVERIFY(file.open(QIODevice::WriteOnly));
      file.write("x");
    }
  }

  void listedJobsResolvePathsAgainstTheFile() {
    const SweepPlan plan = parse(R"({"jobs": [
        {"model": "models/a.pt", "technique": "static", "params": {"qconfig": "qnnpack", "calib_samples": 64},
         "data": "digits", "calib_data": "calib.csv", "input_shape": "1x1x8x8"}]})");
    QCOMPARE(plan.jobs.size(), size_t(1));
    const SweepJob& job = plan.jobs[0];
    QCOMPARE(job.index, 1);
    QCOMPARE(job.model, path("models/a.pt"));
    QCOMPARE(job.calibData, path("calib.csv"));
    QCOMPARE(job.data, std::string("digits"));                    // built-in names stay names
    QCOMPARE(job.params.at("calib_samples"), std::string("64"));  // numbers become the CLI's text
    QCOMPARE(job.params.at("qconfig"), std::string("qnnpack"));
    QCOMPARE(job.inputShape, std::string("1x1x8x8"));
    QVERIFY(QString::fromStdString(job.id).startsWith("static-a-"));
  }

  void gridExpandsToEveryCombination() {
    const SweepPlan plan = parse(R"({"grid": {"model": ["models/a.pt", "models/b.pt"],
        "technique": "fx", "params": {"qconfig": ["x86", "qnnpack", "onednn"], "observer": "minmax"},
        "calib_data": "digits:train"},
        "jobs": [{"model": "models/a.pt", "technique": "dynamic"}]})");
    QCOMPARE(plan.jobs.size(), size_t(1 + 2 * 3));
    QCOMPARE(plan.jobs[0].technique, std::string("dynamic"));  // listed jobs first
    std::set<std::string> ids, combinations;
    for (const SweepJob& job : plan.jobs) {
      ids.insert(job.id);
      if (job.technique != "fx") continue;
      QCOMPARE(job.params.at("observer"), std::string("minmax"));
      QCOMPARE(job.calibData, std::string("digits:train"));
      combinations.insert(job.model + "|" + job.params.at("qconfig"));
    }
    QCOMPARE(ids.size(), plan.jobs.size());  // every job its own result file
    QCOMPARE(combinations.size(), size_t(6));
  }

  void idsAreStableAndFollowTheContent() {
    const QByteArray one = R"({"jobs": [{"model": "models/a.pt", "technique": "dynamic"}]})";
    const QByteArray moved = R"({"jobs": [{"model": "models/b.pt", "technique": "dynamic"},
                                          {"model": "models/a.pt", "technique": "dynamic"}]})";
    const QByteArray changed =
        R"({"jobs": [{"model": "models/a.pt", "technique": "dynamic", "params": {"dtype": "float16"}}]})";
    QCOMPARE(parse(one).jobs[0].id, parse(one).jobs[0].id);
    QCOMPARE(parse(moved).jobs[1].id, parse(one).jobs[0].id);  // reordering keeps finished results
    QVERIFY(parse(changed).jobs[0].id != parse(one).jobs[0].id);
    QCOMPARE(sweepResultPath(parse(one).jobs[0], path("results")),
             path("results/" + QString::fromStdString(parse(one).jobs[0].id) + ".json"));
  }

  void malformedFilesAreRefusedWithTheJobNamed() {
    expectError("{", "not valid JSON");
    expectError("[]", "must hold a JSON object");
    expectError("{}", "holds no jobs");
    expectError(R"({"jobz": []})", "unknown key 'jobz'");
    expectError(R"({"jobs": [{"technique": "dynamic"}]})", "names no model");
    expectError(R"({"jobs": [{"model": "models/missing.pt", "technique": "dynamic"}]})", "does not exist");
    expectError(R"({"jobs": [{"model": "models/a.pt", "technique": "fastest"}]})", "Unknown technique");
    expectError(
        R"({"jobs": [{"model": "models/a.pt", "technique": "dynamic", "params": {"dtype": "int3"}}]})",
        "dtype");
    expectError(R"({"jobs": [{"model": "models/a.pt", "technique": "dynamic", "colour": "red"}]})",
                "unknown field 'colour'");
    expectError(
        R"({"jobs": [{"model": "models/a.pt", "technique": "dynamic"}, {"model": "models/a.pt", "technique": "static",
                 "data": "nowhere.csv"}]})",
        "Job 2");
    expectError(R"({"jobs": [{"model": "models/a.pt", "technique": "dynamic", "input_shape": "1xAx8"}]})",
                "Job 1");
    expectError(R"({"grid": {"model": [], "technique": "dynamic"}})", "empty list");
  }

  void eachJobListsOneSelfContainedCommand() {
    const SweepPlan plan = parse(R"({"jobs": [{"model": "models/a.pt", "technique": "static",
        "params": {"qconfig": "qnnpack"}, "calib_data": "calib.csv", "input_shape": "1x1x8x8"}]})");
    const std::string command = sweepJobCommand(plan.jobs[0], "/usr/bin/quantscope-cli", path("out dir"));
    QCOMPARE(
        QString::fromStdString(command),
        QString::fromStdString("/usr/bin/quantscope-cli quantize " + path("models/a.pt") +
                               " --technique static --param qconfig=qnnpack --calib-data " +
                               path("calib.csv") + " --input-shape 1x1x8x8 --result-json '" +
                               path("out dir/" + QString::fromStdString(plan.jobs[0].id) + ".json") + "'"));
    QCOMPARE(shellQuote("it's"), std::string("'it'\\''s'"));
    QCOMPARE(shellQuote(""), std::string("''"));
  }
};

QTEST_GUILESS_MAIN(TestSweepPlan)
#include "test_sweep_plan.moc"
