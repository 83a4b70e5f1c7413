#!/usr/bin/env bash
# A small sweep end to end: a grid of 2 techniques x 2 parameter values on the digits demo, its job list run
# by GNU parallel, every result JSON checked (technique, parameters, a measured accuracy); then the
# sweep's own runner on the same folder: everything skipped, one deleted result re-run alone, and a job
# that fails at run time (data of the wrong shape) reported with its error and a non-zero exit.
# Usage: test_sweep.sh <source-dir> <quantscope-cli> <python>
set -euo pipefail
source_dir=$1
cli=$2
python=$3
scratch=$(cd "$(mktemp -d)" && pwd -P)  # physical path: the one the jobs' commands name
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
command -v parallel >/dev/null || { echo "FAIL: GNU parallel is missing (packaging/install-deps.sh --with-test-tools)"; exit 1; }

failures=0
check() {  # check <description> <command...>
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
contains() { grep -qF -- "$2" "$1"; }  # contains <file> <text>
lines() { wc -l <"$1" | tr -d ' '; }

cp "$source_dir/resources/digits_cnn.pt" model.pt
cat >jobs.json <<'EOF'
{"grid": {"model": "model.pt", "technique": ["static", "fx"], "params": {"calib_samples": [32, 64]},
          "data": "digits", "calib_data": "digits:train"}}
EOF

# 1. The job list through GNU parallel.
"$cli" sweep jobs.json --list -o results >list.txt
cat list.txt
check "--list prints one command per job (4)" test "$(lines list.txt)" -eq 4
check "--list created the results folder" test -d results
check "every listed command writes its result JSON" test "$(grep -c -- '--result-json' list.txt)" -eq 4
check "GNU parallel runs the listed jobs" parallel -j2 <list.txt
cat >check_results.py <<'EOF'
import glob, json, sys
expected = {("static", "32"), ("static", "64"), ("fx", "32"), ("fx", "64")}
found = set()
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    run = json.load(open(path))
    accuracy = run["quantized_accuracy"]
    assert accuracy["available"] and accuracy["samples"] == 360, (path, accuracy)
    assert 0.9 < accuracy["top1"] <= 1.0, (path, accuracy)
    assert run["sizes"]["serialized_ratio"] > 2, (path, run["sizes"])
    assert run["model_path"].endswith("model.pt"), run["model_path"]
    found.add((run["technique"], run["params"]["calib_samples"]))
    print("%s: %s calib_samples=%s top-1 %.4f, %.2fx smaller" % (path, run["technique"],
          run["params"]["calib_samples"], accuracy["top1"], run["sizes"]["serialized_ratio"]))
assert found == expected, found
EOF
check "4 result JSONs with the grid's techniques and parameters and a measured accuracy" \
  "$python" check_results.py results
check "exactly 4 files in the results folder" test "$(find results -type f | wc -l)" -eq 4
md5sum results/*.json >before.md5

# 2. The sweep's own runner on the same folder: every result exists, so every job is skipped.
set +e
"$cli" sweep jobs.json -o results >rerun.txt 2>&1
status=$?
set -e
cat rerun.txt
check "a finished sweep exits 0" test "$status" -eq 0
check "every job is skipped" test "$(grep -c '] skipped ' rerun.txt)" -eq 4
check "the summary says 0 ran, 4 skipped, 0 failed" contains rerun.txt "4 jobs: 0 ran, 4 skipped (result exists), 0 failed."
check "skipped results are untouched" md5sum --quiet -c before.md5

# 3. An interrupted sweep resumes: with one result deleted, only that job runs.
deleted=$(sed -n 3p list.txt | sed 's/.*--result-json //')
deleted_id=$(basename "$deleted" .json)
rm "$deleted"
set +e
"$cli" sweep jobs.json -o results >resume.txt 2>&1
status=$?
set -e
cat resume.txt
check "the resumed sweep exits 0" test "$status" -eq 0
check "the summary says 1 ran, 3 skipped" contains resume.txt "4 jobs: 1 ran, 3 skipped (result exists), 0 failed."
check "the job that ran is the deleted one" contains resume.txt "] ran $deleted_id"
check "its result is back" test -s "$deleted"
check "the other results are untouched" md5sum --quiet -c <(grep -v "$deleted_id" before.md5)
check "the results check still passes" "$python" check_results.py results

# 3b. Interrupted mid-job (SIGTERM, as a scheduler's time limit sends): the running job goes with the sweep,
# nothing partial is left, and the next sweep finishes the rest.
"$cli" sweep jobs.json -o interrupted >interrupted.txt 2>&1 &
sweep_pid=$!
for _ in $(seq 1200); do
  grep -qF '[2/4] running' interrupted.txt && break
  sleep 0.1
done
kill -TERM "$sweep_pid"
wait "$sweep_pid" || true
cat interrupted.txt
orphans=1
for _ in $(seq 100); do
  pgrep -f -- "--result-json $scratch/interrupted/" >/dev/null || { orphans=0; break; }
  sleep 0.1
done
check "no job outlives the interrupted sweep" test "$orphans" -eq 0
check "the interrupted sweep left only complete result JSONs" \
  "$python" -c 'import glob, json, os, sys
files = os.listdir(sys.argv[1])
assert len(files) < 4, files
for f in files: json.load(open(os.path.join(sys.argv[1], f)))
print(len(files), "complete result(s):", files)' interrupted
check "the next sweep finishes the rest" "$cli" sweep jobs.json -o interrupted
check "... with every result right" "$python" check_results.py interrupted

# 4. A job that fails at run time (its data has 3 features; the model takes 1x8x8) beside one that works.
printf 'a,b,c,label\n1,2,3,0\n4,5,6,1\n' >wrong_shape.csv
cat >failing.json <<'EOF'
{"jobs": [{"model": "model.pt", "technique": "dynamic", "data": "wrong_shape.csv"},
          {"model": "model.pt", "technique": "dynamic", "data": "digits"}]}
EOF
set +e
"$cli" sweep failing.json -o failing-results >failing.txt 2>&1
status=$?
set -e
cat failing.txt
check "a sweep with a failed job exits non-zero" test "$status" -ne 0
check "the failed job is reported with its own error" contains failing.txt "[1/2] FAILED dynamic-model-"
check "the error message says what is wrong" contains failing.txt "does not fit the model"
check "the summary counts it" contains failing.txt "2 jobs: 1 ran, 0 skipped (result exists), 1 failed."
check "the other job ran and wrote its result" test "$(find failing-results -name '*.json' | wc -l)" -eq 1
"$cli" sweep failing.json -o failing-results --list --pending >pending.txt
check "--pending lists only the failed job" test "$(lines pending.txt)" -eq 1
check "... which is the wrong-shape one" contains pending.txt "wrong_shape.csv"

# 5. A bad job file is refused before anything runs, naming the job and the field.
cat >bad.json <<'EOF'
{"jobs": [{"model": "model.pt", "technique": "dynamic"}, {"model": "missing.pt", "technique": "dynamic"}]}
EOF
set +e
"$cli" sweep bad.json -o bad-results >bad.txt 2>&1
status=$?
set -e
cat bad.txt
check "a bad job file exits non-zero" test "$status" -ne 0
check "the error names the job and the missing model" contains bad.txt "Job 2 of"
check "... and the model" contains bad.txt "missing.pt' does not exist"
check "nothing ran" test ! -e bad-results

# 6. quantize --result-json, the form every job runs: -o is optional with it, and a bad path is refused
# before any work, leaving no file.
set +e
"$cli" quantize model.pt --technique dynamic >no-output.txt 2>&1
no_output=$?
"$cli" quantize model.pt --technique dynamic --result-json missing-folder/r.json >bad-path.txt 2>&1
bad_path=$?
set -e
check "quantize without -o or --result-json is refused" test "$no_output" -ne 0
check "... saying what is missing" contains no-output.txt "Missing -o/--output"
check "a result JSON in a missing folder is refused" test "$bad_path" -ne 0
check "... saying so" contains bad-path.txt "its folder does not exist"
check "... and nothing is written" test ! -e missing-folder
check "quantize -o and --result-json write both" \
  "$cli" quantize model.pt --technique dynamic --data digits -o q.pt --result-json both.json
check "... the model" test -s q.pt
check "... and the result with its accuracy" "$python" -c \
  'import json; r = json.load(open("both.json")); assert r["technique"] == "dynamic" and r["quantized_accuracy"]["available"]'
check "without data the result JSON holds only what was measured" \
  "$cli" quantize model.pt --technique static --calib-data digits:train --result-json sizes-only.json
check "... sizes, no accuracy" "$python" -c \
  'import json; r = json.load(open("sizes-only.json")); assert r["sizes"]["serialized_ratio"] > 2 and "quantized_accuracy" not in r'

echo "$failures failure(s)"
exit $((failures > 0))
