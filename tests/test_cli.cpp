// quantscope-cli as a user runs it: subcommands, --json, exit codes and messages, atomic outputs.
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QtTest>

#include "tests/test_support.h"

using quantscope::test::fixture;

namespace {

struct CliRun {
  int exitCode = -1;
  QString out;
  QString err;
};

CliRun cli(const QStringList& args) {
  QProcess process;
  process.start(qEnvironmentVariable("QUANTSCOPE_CLI"), args);
  process.waitForFinished(300000);
  return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2,
          QString::fromUtf8(process.readAllStandardOutput()),
          QString::fromUtf8(process.readAllStandardError())};
}

// As on a server: no display at all, and a platform that would need one. Commands that draw must fall back to
// the offscreen platform; the others must not touch a platform.
CliRun cliWithoutDisplay(const QStringList& args) {
  QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
  environment.remove("DISPLAY");
  environment.remove("WAYLAND_DISPLAY");
  environment.insert("QT_QPA_PLATFORM", "xcb");
  QProcess process;
  process.setProcessEnvironment(environment);
  process.start(qEnvironmentVariable("QUANTSCOPE_CLI"), args);
  process.waitForFinished(300000);
  return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2,
          QString::fromUtf8(process.readAllStandardOutput()),
          QString::fromUtf8(process.readAllStandardError())};
}

QByteArray head(const QString& path, int bytes) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.read(bytes) : QByteArray();
}

// A report image as the report draws it: 1800 px wide, and charts in it, i.e. many pixels that are not the
// white background, among them the quantized runs' bar colour.
void checkReportImage(const QString& path) {
  const QImage image(path);
  QVERIFY2(!image.isNull(), qPrintable(path + " is not an image"));
  QCOMPARE(image.width(), 1800);
  QVERIFY(image.height() > 1000);
  QCOMPARE(head(path, 8), QByteArray("\x89PNG\r\n\x1a\n"));
  qint64 ink = 0, runBlue = 0;
  for (int y = 0; y < image.height(); y += 2) {
    for (int x = 0; x < image.width(); x += 2) {
      const QRgb pixel = image.pixel(x, y);
      if (pixel != qRgb(255, 255, 255)) ++ink;
      if (pixel == qRgb(33, 113, 181)) ++runBlue;  // the charts' colour for quantized runs
    }
  }
  const qint64 sampled = qint64(image.width() / 2) * (image.height() / 2);
  QVERIFY2(ink > sampled / 50,
           qPrintable(QString("only %1 of %2 sampled pixels drawn").arg(ink).arg(sampled)));
  QVERIFY2(runBlue > 500, qPrintable(QString("%1 pixels in the runs' bar colour").arg(runBlue)));
}

QJsonObject json(const CliRun& run) {
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(run.out.toUtf8(), &error);
  if (error.error != QJsonParseError::NoError) qWarning() << "not JSON:" << run.out << run.err;
  return doc.object();
}

QString f(const char* name) { return QString::fromStdString(fixture(name)); }

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
 private slots:
  void helpListsCommandsAndGeneratedTechniqueParameters() {
    const CliRun top = cli({"--help"});
    QCOMPARE(top.exitCode, 0);
    for (const char* command :
         {"demo", "inspect", "quantize", "evaluate", "bench", "compare", "report", "analyze"})
      QVERIFY(top.out.contains(command));
    const CliRun quantize = cli({"quantize", "--help"});
    QCOMPARE(quantize.exitCode, 0);
    for (const char* text : {"dynamic", "weight_granularity", "{qint8|float16}", "pruning_rate", "layer_bits",
                             "--candidate-bits", "list [2..8],...", "<layer=value,...>"}) {
      QVERIFY2(quantize.out.contains(text), text);
    }
  }
  void analyzePrintsEveryPartAndItsJsonParses() {
    const QStringList common{"analyze",         f("fragile_cnn.pt"),
                             "--calib-data",    f("fragile_calibration.pt"),
                             "--data",          f("fragile_test.pt"),
                             "--qconfig",       "qnnpack",
                             "--calib-samples", "64"};
    const CliRun text = cli(common);
    QVERIFY2(text.exitCode == 0, qPrintable(text.err));
    for (const char* part : {"Four-way comparison", "Per-quantizer sweeps", "Simulated vs real",
                             "Calibration stability", "Recommendation", "--technique fx", "equalize=true"})
      QVERIFY2(text.out.contains(part), part);
    const CliRun run = cli(common + QStringList{"--json"});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject result = json(run);
    QCOMPARE(result["four_way"].toArray().size(), 4);
    QCOMPARE(result["sweeps"].toObject()["worst_layers"].toArray().first().toString(), QString("conv2"));
    QCOMPARE(result["calibration_stability"].toObject()["runs"].toArray().size(), 5);
    QVERIFY(result["recommendation"].toObject()["summary"].toString().size() > 10);
    const CliRun help = cli({"analyze", "--help"});
    QVERIFY(help.exitCode == 0 && help.out.contains("--calib-data") && help.out.contains("--qconfig"));
    const CliRun missing = cli({"analyze", f("fragile_cnn.pt")});
    QVERIFY(missing.exitCode == 1 && missing.err.contains("--calib-data"));
    const CliRun bad = cli(common + QStringList{"--param", "bits=4"});
    QVERIFY(bad.exitCode == 1 && bad.err.contains("no parameter 'bits'"));
  }
  void inspectJson() {
    const CliRun run = cli({"inspect", f("mlp.pt"), "--json"});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject o = json(run);
    QCOMPARE(o.value("parameter_count").toInteger(), 17226);
    QCOMPARE(o.value("layers").toArray().size(), 3);
  }
  void quantizeWritesAFileAndNeverTheInput() {
    const QString out = quantscope::test::tempPath("quantscope_cli_q.pt");
    QFile::remove(out);
    const CliRun run = cli({"quantize", f("mlp.pt"), "--technique", "dynamic", "--param", "qconfig=qnnpack",
                            "-o", out, "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY(QFile::exists(out));
    const QJsonObject o = json(run);
    QCOMPARE(o.value("recipe").toString(), QString("qnnpack"));
    QVERIFY(o.value("sizes").toObject().value("serialized_ratio").toDouble() > 1.5);
    QVERIFY(run.err.contains("Quantizing weights"));  // progress goes to stderr
    // Nothing evaluated: the quantization time and finish time are measured, the unmeasured figures absent.
    QVERIFY(o.value("quantize_seconds").toDouble() > 0.0);
    QVERIFY(QDateTime::fromString(o.value("finished_at").toString(), Qt::ISODate).isValid());
    QVERIFY(!o.contains("original_latency") && !o.contains("fidelity"));
    const CliRun overwrite = cli({"quantize", f("mlp.pt"), "-o", f("mlp.pt")});
    QCOMPARE(overwrite.exitCode, 1);
    QVERIFY(overwrite.err.contains("Refusing to overwrite"));
    QFile::remove(out);
  }
  void quantizeAndEvaluateOnData() {
    const QString out = quantscope::test::tempPath("quantscope_cli_q2.pt");
    const CliRun run =
        cli({"quantize", f("mlp.pt"), "-o", out, "--data", f("mlp_data.pt"), "--runs", "5", "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QJsonObject o = json(run);
    QVERIFY(o.value("fidelity").toObject().value("sqnr_db").toDouble() > 30.0);
    QCOMPARE(o.value("quantized_latency").toObject().value("runs").toInt(), 5);
    const CliRun evaluate =
        cli({"evaluate", out, "--data", f("mlp_data.pt"), "--reference", f("mlp.pt"), "--json"});
    QVERIFY2(evaluate.exitCode == 0, qPrintable(evaluate.err));
    QVERIFY(json(evaluate).value("fidelity").toObject().value("top1_agreement").toDouble() > 0.9);
    const CliRun compare = cli({"compare", f("mlp.pt"), out, "--json"});
    QCOMPARE(compare.exitCode, 0);
    QVERIFY(json(compare).value("sizes").toObject().value("parameter_ratio").toDouble() > 3.0);
    QFile::remove(out);
  }
  void modelWithoutSpecTakesItFromTheData() {
    // No --input-shape: the data fixes every dimension, so the CLI takes batch 1 of its samples and says so.
    const QString out = quantscope::test::tempPath("quantscope_cli_nospec.pt");
    const CliRun run = cli({"quantize", f("mlp_no_spec.pt"), "--technique", "static", "--calib-data",
                            f("mlp_data.pt"), "-o", out, "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY2(run.err.contains("no input spec: using 1x64 float32 from data"), qPrintable(run.err));
    const QJsonArray notes = json(run).value("notes").toArray();
    QVERIFY(!notes.isEmpty() && notes.first().toString().contains("1x64 float32"));
    const CliRun evaluate = cli({"evaluate", f("mlp_no_spec.pt"), "--data", f("features.csv"), "--json"});
    QVERIFY2(evaluate.exitCode == 0, qPrintable(evaluate.err));
    QCOMPARE(json(evaluate).value("samples").toInt(), 30);
    QFile::remove(out);
  }
  void trainDataIsTheCalibrationDataOption() {
    // --train-data is --calib-data under the training techniques' name: same data, same calibration result.
    const QString out = quantscope::test::tempPath("quantscope_cli_train_data.pt");
    const CliRun calib = cli({"quantize", f("mlp.pt"), "--technique", "static", "--calib-data",
                              f("mlp_unlabelled.pt"), "-o", out, "--json"});
    QVERIFY2(calib.exitCode == 0, qPrintable(calib.err));
    const CliRun train = cli({"quantize", f("mlp.pt"), "--technique", "static", "--train-data",
                              f("mlp_unlabelled.pt"), "-o", out, "--json"});
    QVERIFY2(train.exitCode == 0, qPrintable(train.err));
    const QJsonArray calibLayers = json(calib).value("layers").toArray(),
                     trainLayers = json(train).value("layers").toArray();
    QVERIFY(!trainLayers.isEmpty());
    QCOMPARE(trainLayers, calibLayers);
    // Without --evaluate the JSON is the technique's own description, curve and figures included.
    QVERIFY(json(train).contains("training_curve"));
    QVERIFY(json(train).contains("figures"));
    QCOMPARE(json(train).value("model_path").toString(), f("mlp.pt"));
    const CliRun missing =
        cli({"quantize", f("mlp.pt"), "--technique", "static", "--train-data", f("no_such.pt"), "-o", out});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY2(missing.err.contains("no_such.pt"), qPrintable(missing.err));
    QFile::remove(out);
  }
  void studentFlagSetsTheParameterAndChecksTheFile() {
    const CliRun help = cli({"quantize", "--help"});
    QVERIFY(help.out.contains("--train-data"));
    QVERIFY(help.out.contains("--student <file>"));
    const QString missingFile = quantscope::test::tempPath("quantscope_no_such_student.pt");
    QFile::remove(missingFile);
    const CliRun missing = cli({"quantize", f("mlp.pt"), "--technique", "distillation", "--student",
                                missingFile, "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY2(missing.err.contains("--student: the file '" + missingFile + "' does not exist"),
             qPrintable(missing.err));
    QVERIFY(missing.err.contains("leave --student out"));
    const CliRun folder = cli({"quantize", f("mlp.pt"), "--technique", "distillation", "--student",
                               QDir::tempPath(), "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(folder.exitCode, 1);
    QVERIFY2(folder.err.contains("is not a readable file"), qPrintable(folder.err));
    // An existing student passes the flag and the registry's File check: what stops this run is only that
    // no training data was given.
    const CliRun accepted = cli({"quantize", f("mlp.pt"), "--technique", "distillation", "--student",
                                 f("mlp.pt"), "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(accepted.exitCode, 1);
    QVERIFY2(accepted.err.contains("needs training data"), qPrintable(accepted.err));
    QVERIFY(!accepted.err.contains("--student") && !accepted.err.contains("does not exist"));
    // The parameter belongs to distillation only.
    const CliRun wrongTechnique = cli({"quantize", f("mlp.pt"), "--technique", "dynamic", "--student",
                                       f("mlp.pt"), "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(wrongTechnique.exitCode, 1);
    QVERIFY2(wrongTechnique.err.contains("has no parameter 'student'"), qPrintable(wrongTechnique.err));
  }
  void benchJson() {
    const CliRun run =
        cli({"bench", f("cnn_scripted.pt"), "--runs", "20", "--batch", "4", "--threads", "1", "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QJsonObject latency = json(run).value("latency").toObject();
    QCOMPARE(latency.value("runs").toInt(), 20);
    QCOMPARE(latency.value("threads").toInt(), 1);
    QCOMPARE(latency.value("input_shape").toArray().first().toInt(), 4);
    QVERIFY(latency.value("p90_ms").toDouble() >= latency.value("median_ms").toDouble());
  }
  void errorsExitNonZeroWithAMessage() {
    const CliRun missing = cli({"inspect", f("no_such.pt")});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY(missing.err.contains("does not exist"));
    const CliRun pickle = cli({"quantize", f("state_dict.pt"), "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(pickle.exitCode, 1);
    QVERIFY(pickle.err.contains("torch.jit.save"));
    const CliRun badParam =
        cli({"quantize", f("mlp.pt"), "--param", "dtype=int3", "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(badParam.exitCode, 1);
    QVERIFY(badParam.err.contains("not one of"));
    const CliRun unknownLayer =
        cli({"quantize", f("mlp.pt"), "--technique", "mixed", "--calib-data", f("mlp_data.pt"),
             "--layer-bits", "nope=4", "-o", quantscope::test::tempPath("x.pt")});
    QCOMPARE(unknownLayer.exitCode, 1);
    QVERIFY2(unknownLayer.err.contains("no quantizable layer 'nope'"), qPrintable(unknownLayer.err));
    QVERIFY(!QFile::exists(quantscope::test::tempPath("x.pt")));
    const CliRun shape = cli({"bench", f("mlp_no_spec.pt")});
    QCOMPARE(shape.exitCode, 1);
    QVERIFY(shape.err.contains("--input-shape"));
    QCOMPARE(cli({"frobnicate"}).exitCode, 2);
  }
  void reportFromARunAndFromSavedRunsWithoutADisplay() {
    const QString model = quantscope::test::tempPath("quantscope_cli_report_q.pt");
    const QString png = quantscope::test::tempPath("run-report.png");
    const CliRun run = cliWithoutDisplay({"quantize", f("mlp.pt"), "-o", model, "--data", f("mlp_data.pt"),
                                          "--runs", "5", "--json", "--report", png});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY(run.err.contains("Wrote the report"));
    checkReportImage(png);
    // The run's --json output is a results file the report command reads; so is a list of runs.
    const QString oneRun = quantscope::test::tempPath("one-run.json");
    QFile file(oneRun);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(run.out.toUtf8());
    file.close();
    const QString pdf = quantscope::test::tempPath("saved-report.pdf");
    const CliRun fromJson = cliWithoutDisplay({"report", oneRun, "-o", pdf, "--json"});
    QVERIFY2(fromJson.exitCode == 0, qPrintable(fromJson.err));
    QCOMPARE(json(fromJson).value("runs").toInt(), 1);
    QCOMPARE(json(fromJson).value("title").toString(), QString("mlp.pt"));
    QCOMPARE(head(pdf, 5), QByteArray("%PDF-"));
    QVERIFY(QFileInfo(pdf).size() > 20000);
    const QString twoRuns = quantscope::test::tempPath("two-runs.json");
    QFile list(twoRuns);
    QVERIFY(list.open(QIODevice::WriteOnly));
    list.write(QJsonDocument(QJsonArray{json(run), json(run)}).toJson());
    list.close();
    const QString listPng = quantscope::test::tempPath("list-report.png");
    const CliRun fromList = cliWithoutDisplay({"report", twoRuns, "-o", listPng, "--title", "two runs"});
    QVERIFY2(fromList.exitCode == 0, qPrintable(fromList.err));
    QVERIFY(fromList.out.contains("2 runs of two runs"));
    checkReportImage(listPng);
    QVERIFY(QImage(listPng).height() > QImage(png).height());  // a table row more per run
    // Bad input: a clear message and a non-zero exit, never a crash.
    const CliRun notResults = cliWithoutDisplay({"report", f("features.csv"), "-o", listPng});
    QCOMPARE(notResults.exitCode, 1);
    QVERIFY2(notResults.err.contains("is not a QuantScope results file"), qPrintable(notResults.err));
    const CliRun badSuffix = cliWithoutDisplay({"report", oneRun, "-o", "report.txt"});
    QCOMPARE(badSuffix.exitCode, 1);
    QVERIFY(badSuffix.err.contains(".png or .pdf"));
    const CliRun missing = cliWithoutDisplay({"report", "/nonexistent/runs.json", "-o", listPng});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY(missing.err.contains("Cannot open"));
    const CliRun unmeasured = cliWithoutDisplay({"quantize", f("mlp.pt"), "-o", model, "--report", png});
    QCOMPARE(unmeasured.exitCode, 1);
    QVERIFY(unmeasured.err.contains("--report needs measured results"));
    // Commands that draw nothing make no QApplication, so the platform (unusable here) is never loaded.
    const CliRun inspect = cliWithoutDisplay({"inspect", f("mlp.pt"), "--json"});
    QVERIFY2(inspect.exitCode == 0, qPrintable(inspect.err));
    QCOMPARE(json(inspect).value("layers").toArray().size(), 3);
    QFile::remove(model);
  }
  void demoPrintsMeasuredFigures() {
    const CliRun run = cli({"demo", "--runs", "10", "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QJsonObject o = json(run);
    QCOMPARE(o.value("technique").toString(), QString("dynamic"));
    QVERIFY(o.value("original_accuracy").toObject().value("top1").toDouble() >= 0.97);
    QCOMPARE(o.value("dataset_size").toInt(), 360);
    QVERIFY(o.value("original_latency").toObject().value("median_ms").toDouble() > 0);
    QVERIFY(!o.value("runtime").toObject().value("blas_is_reference").toBool());
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
