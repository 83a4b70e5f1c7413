#include "core/results/results_folder.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>

#include "core/errors.h"
#include "core/results/run_result_json.h"

namespace quantscope {

ResultsFolder loadResultsFolder(const QString& folder) {
  const QFileInfo info(folder);
  if (!info.isDir())
    throw Error("'" + folder.toStdString() + "' is not a folder.",
                "Choose the folder the result JSONs are in.");
  if (!info.isReadable())
    throw Error("Cannot read the folder '" + folder.toStdString() + "': permission denied.");
  ResultsFolder result;
  // Hidden files are left out on purpose: they include the temporary files of results still being written.
  const QFileInfoList files = QDir(folder).entryInfoList(QDir::Files, QDir::Name);
  for (const QFileInfo& file : files) {
    try {
      for (ProjectRun& run : loadRuns(file.absoluteFilePath())) {
        result.runs.push_back(std::move(run));
        result.runFiles.push_back(file.fileName());
      }
    } catch (const Error& e) {
      // The list names the file already: the reason need not repeat its full path.
      QString reason = QString::fromStdString(e.what());
      const QString quotedPath = "'" + file.absoluteFilePath() + "'";
      if (reason.startsWith(quotedPath)) reason = "It" + reason.mid(quotedPath.size());
      result.skipped.push_back({file.fileName(), reason});
    }
  }
  return result;
}

QByteArray runIdentity(const RunResult& result) {
  return QJsonDocument(toJson(result)).toJson(QJsonDocument::Compact);
}

}  // namespace quantscope
