#include "app/cli_sweep.h"

#include <sys/prctl.h>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>

#include <csignal>
#include <iostream>

#include "app/cli_options.h"
#include "core/errors.h"
#include "core/results/project_file.h"
#include "core/results/report_text.h"
#include "core/results/run_result_json.h"
#include "core/sweep/sweep_plan.h"

namespace quantscope::cli {
namespace {

const char* const kSweepHelp = R"(
Job file (paths relative to it; fields mean what quantize's flags of the same name mean):
  {"jobs": [{"model": "model.pt", "technique": "static", "params": {"calib_samples": 64},
             "data": "digits", "calib_data": "digits:train", "input_shape": "1x1x8x8"}, ...],
   "grid": {"model": ["a.pt", "b.pt"], "technique": ["static", "fx"],
            "params": {"qconfig": ["x86", "qnnpack"]}, "data": "digits"}}
A grid expands to every combination of its lists; grid jobs follow the listed ones.

Each job writes one result JSON, <folder>/<job id>.json (the window's run export schema: File > Import
results and `quantscope-cli report` read it). The job id hashes everything the job runs with, so a job
whose result exists is skipped (an interrupted sweep resumes) and a changed job never reuses an old result.

Fan out with GNU parallel (locally or over machines that share the paths with --sshlogin) or a Slurm
job array; the commands are self-contained:
  quantscope-cli sweep jobs.json --list -o results | parallel -j2
  quantscope-cli sweep jobs.json --list -o results > jobs.txt  # Slurm: sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt | bash
)";

struct JobOutcome {
  enum Status { Ran, Skipped, Failed } status = Ran;
  QString message;  // the job's summary, or why it failed
  double seconds = 0;
};

const char* statusName(JobOutcome::Status status) {
  switch (status) {
    case JobOutcome::Ran:
      return "ran";
    case JobOutcome::Skipped:
      return "skipped";
    case JobOutcome::Failed:
      return "failed";
  }
  return "";
}

QString describeParams(const SweepJob& job) {
  QStringList params;
  for (const auto& [key, value] : job.params) params << QString::fromStdString(key + "=" + value);
  return params.join(' ');
}

// The job's own error message from its stderr: from the last "error" line of quantscope-cli on (message
// and hint), else what the exit says about a crash.
QString failureMessage(const QString& stderrText, const QProcess& process) {
  const QStringList lines = stderrText.split('\n');
  for (int i = lines.size() - 1; i >= 0; --i) {
    const QString line = lines[i].trimmed();
    if (!line.startsWith("error") && !line.startsWith("cancelled:")) continue;
    QStringList message;
    for (int j = i; j < lines.size(); ++j) {
      if (!lines[j].trimmed().isEmpty()) message << lines[j].trimmed();
    }
    QString text = message.join(' ');
    if (text.startsWith("error: ")) text = text.mid(7);
    return text;
  }
  if (process.exitStatus() == QProcess::CrashExit) return "the job crashed.";
  // The shell reports a command killed by signal N as exit status 128 + N.
  if (process.exitCode() > 128)
    return QString("the job was killed by signal %1.").arg(process.exitCode() - 128);
  QString last;
  for (const QString& line : lines) {
    if (!line.trimmed().isEmpty()) last = line.trimmed();
  }
  return QString("the job exited with status %1%2")
      .arg(process.exitCode())
      .arg(last.isEmpty() ? "." : ": " + last);
}

// One line about a finished job's result, read back from the file it wrote.
QString resultSummary(const QString& resultPath) {
  const std::vector<ProjectRun> runs = loadRuns(resultPath);
  const RunResult& result = runs.front().result;
  QString text;
  if (result.quantizedAccuracy.available)
    text += "top-1 " + QString::fromStdString(formatPercent(result.quantizedAccuracy.top1)) + ", ";
  text += QString("%1x smaller").arg(result.sizes.serializedRatio, 0, 'f', 2);
  return text;
}

JobOutcome runJob(const QString& command, const QString& resultPath) {
  QElapsedTimer clock;
  clock.start();
  JobOutcome outcome;
  QProcess process;
  process.setProgram("/bin/sh");
  process.setArguments({"-c", command});
  // If the sweep is killed (Ctrl+C, a scheduler's time limit), its running job goes with it rather than
  // run on unseen; the job's result is written atomically at its end, so nothing partial is left and the
  // next sweep runs it again. (sh execs the command, so the signal reaches quantscope-cli itself.)
  process.setChildProcessModifier([] { prctl(PR_SET_PDEATHSIG, SIGTERM); });
  process.start();
  if (!process.waitForStarted(-1)) {
    outcome.status = JobOutcome::Failed;
    outcome.message = "cannot start /bin/sh: " + process.errorString();
    return outcome;
  }
  process.waitForFinished(-1);
  outcome.seconds = clock.elapsed() / 1000.0;
  const QString stderrText = QString::fromLocal8Bit(process.readAllStandardError());
  if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
    outcome.status = JobOutcome::Failed;
    outcome.message = failureMessage(stderrText, process);
    return outcome;
  }
  if (!QFileInfo(resultPath).isFile()) {
    outcome.status = JobOutcome::Failed;
    outcome.message = "the job finished without writing its result " + resultPath + ".";
    return outcome;
  }
  try {
    outcome.message = resultSummary(resultPath);
  } catch (const Error& e) {
    outcome.status = JobOutcome::Failed;
    outcome.message = "its result cannot be read back: " + QString::fromStdString(e.what());
  }
  return outcome;
}

void ensureFolder(const QString& folder) {
  if (QFileInfo(folder).isDir()) return;
  if (QFileInfo::exists(folder))
    throw Error("The results folder '" + folder.toStdString() + "' is a file.", "Give -o a folder.");
  if (!QDir().mkpath(folder))
    throw Error("Cannot create the results folder '" + folder.toStdString() + "'.",
                "Check that its parent exists and is writable.");
}

}  // namespace

void addResultJsonOption(QCommandLineParser& parser) {
  parser.addOption({"result-json",
                    "Also write the run's result JSON (the window's run export schema; File > Import results "
                    "and `report` read it), atomically. -o is optional with it.",
                    "file"});
}

void checkResultJsonPath(const QString& path, const QString& modelPath, const QString& outputPath) {
  const QFileInfo info(path);
  if (info.suffix().toLower() != "json")
    throw Error("A result JSON is named .json, not '" + path.toStdString() + "'.");
  if (!QFileInfo(info.absolutePath()).isDir())
    throw Error("Cannot write the result JSON '" + path.toStdString() + "': its folder does not exist.",
                "Create the folder first (quantscope-cli sweep creates its results folder).");
  if (info.isDir()) throw Error("The result JSON '" + path.toStdString() + "' is a folder.");
  for (const QString& other : {modelPath, outputPath}) {
    if (!other.isEmpty() && info.absoluteFilePath() == QFileInfo(other).absoluteFilePath())
      throw Error("The result JSON '" + path.toStdString() + "' would overwrite '" + other.toStdString() +
                  "'.");
  }
}

void writeResultJson(const QJsonObject& result, const QString& path) {
  writeJsonFile(QJsonDocument(result), path, "the result JSON");
}

int commandSweep(const QStringList& args) {
  QCommandLineParser parser;
  parser.addOption({{"o", "output"},
                    "Results folder (default: 'results' beside the job file); created if missing.",
                    "folder"});
  parser.addOption({"list", "Print one self-contained shell command per job instead of running them."});
  parser.addOption({"pending", "With --list: only the jobs whose result does not exist yet."});
  parser.addOption({"program",
                    "The quantscope-cli the job commands call (default: this one, by absolute path), e.g. "
                    "quantscope-cli when it is on every machine's PATH.",
                    "path"});
  parser.addPositionalArgument("jobs", "The job file (JSON).");
  parseOrExit(
      parser, args,
      "Runs every job of a job file, each as its own quantscope-cli process (the command --list "
      "prints), writing one result JSON per job; jobs whose result exists are skipped. Exits non-zero "
      "when a job failed.",
      kSweepHelp);
  if (parser.positionalArguments().isEmpty()) throw Error("Missing the job file.", "See sweep --help.");
  if (parser.isSet("pending") && !parser.isSet("list")) throw Error("--pending goes with --list.");
  const SweepPlan plan = loadSweepPlan(parser.positionalArguments().front().toStdString());
  const QString folder = QDir::cleanPath(QDir::current().absoluteFilePath(
      parser.isSet("output") ? parser.value("output")
                             : QFileInfo(QString::fromStdString(plan.file)).absolutePath() + "/results"));
  const std::string program = parser.isSet("program") ? parser.value("program").toStdString()
                                                      : QCoreApplication::applicationFilePath().toStdString();
  // The listed commands write into the folder, wherever they run: it must exist before the first one.
  ensureFolder(folder);
  const bool json = parser.isSet("json");
  const int total = int(plan.jobs.size());

  if (parser.isSet("list")) {
    QJsonArray listed;
    for (const SweepJob& job : plan.jobs) {
      const std::string result = sweepResultPath(job, folder.toStdString());
      if (parser.isSet("pending") && QFileInfo::exists(QString::fromStdString(result))) continue;
      const std::string command = sweepJobCommand(job, program, folder.toStdString());
      if (json) {
        listed.append(QJsonObject{{"index", job.index},
                                  {"id", QString::fromStdString(job.id)},
                                  {"command", QString::fromStdString(command)},
                                  {"result", QString::fromStdString(result)}});
      } else {
        std::cout << command << "\n";
      }
    }
    if (json) std::cout << QJsonDocument(QJsonObject{{"jobs", listed}}).toJson().toStdString();
    return 0;
  }

  if (!json)
    std::cout << "Sweep " << plan.file << ": " << total << (total == 1 ? " job" : " jobs") << ", results in "
              << folder.toStdString() << "\n"
              << std::flush;
  int counts[3] = {0, 0, 0};
  QJsonArray jobsJson;
  QStringList failures;
  for (const SweepJob& job : plan.jobs) {
    const QString resultPath = QString::fromStdString(sweepResultPath(job, folder.toStdString()));
    const QString label =
        QString::fromStdString(job.id) + (job.params.empty() ? QString() : " (" + describeParams(job) + ")");
    const QString position = QString("[%1/%2]").arg(job.index).arg(total);
    JobOutcome outcome;
    if (QFileInfo::exists(resultPath)) {
      outcome.status = JobOutcome::Skipped;
      outcome.message = "its result exists";
    } else {
      std::cerr << position.toStdString() << " running " << label.toStdString() << "\n";
      outcome =
          runJob(QString::fromStdString(sweepJobCommand(job, program, folder.toStdString())), resultPath);
    }
    ++counts[outcome.status];
    if (outcome.status == JobOutcome::Failed)
      failures << QString("  job %1 %2: %3").arg(job.index).arg(label, outcome.message);
    jobsJson.append(QJsonObject{{"index", job.index},
                                {"id", QString::fromStdString(job.id)},
                                {"technique", QString::fromStdString(job.technique)},
                                {"status", statusName(outcome.status)},
                                {"message", outcome.message},
                                {"seconds", outcome.seconds},
                                {"result", resultPath}});
    if (!json) {
      const QString status = statusName(outcome.status);
      QString line = QString("%1 %2 %3: %4")
                         .arg(position, outcome.status == JobOutcome::Failed ? status.toUpper() : status,
                              label, outcome.message);
      if (outcome.status == JobOutcome::Ran) line += QString(" (%1 s)").arg(outcome.seconds, 0, 'f', 1);
      std::cout << line.toStdString() << "\n" << std::flush;
    }
  }
  if (json) {
    std::cout << QJsonDocument(QJsonObject{{"jobs", jobsJson},
                                           {"ran", counts[JobOutcome::Ran]},
                                           {"skipped", counts[JobOutcome::Skipped]},
                                           {"failed", counts[JobOutcome::Failed]},
                                           {"results", folder}})
                     .toJson()
                     .toStdString();
  } else {
    std::cout << "Summary: " << total << (total == 1 ? " job: " : " jobs: ") << counts[JobOutcome::Ran]
              << " ran, " << counts[JobOutcome::Skipped] << " skipped (result exists), "
              << counts[JobOutcome::Failed] << " failed.\n";
    if (!failures.isEmpty()) std::cout << "Failed:\n" << failures.join('\n').toStdString() << "\n";
  }
  return counts[JobOutcome::Failed] > 0 ? 1 : 0;
}

}  // namespace quantscope::cli
