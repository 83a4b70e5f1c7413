#!/usr/bin/env bash
# Rebuilds the README's screenshots from the real window under Xvfb (needs xvfb: install-deps.sh
# --with-test-tools). Writes resources/screenshots/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/build.sh
xvfb-run -a -s "-screen 0 1400x900x24" build/tests/make_screenshots resources/screenshots
xvfb-run -a -s "-screen 0 1400x900x24" build/tests/make_screenshots resources/screenshots details
# A sweep's results imported into the window (File > Import results). The sweep runs its jobs one after
# another, so their latencies are not contended.
sweep=$(mktemp -d)
trap 'rm -rf "$sweep"' EXIT
cp resources/digits_cnn.pt "$sweep/"
cat >"$sweep/jobs.json" <<'JOBS'
{"grid": {"model": "digits_cnn.pt", "technique": ["dynamic", "static", "fx"],
          "params": {"qconfig": ["fbgemm", "qnnpack"]}, "data": "digits", "calib_data": "digits:train"}}
JOBS
build/app/quantscope-cli sweep "$sweep/jobs.json" -o "$sweep/results"
xvfb-run -a -s "-screen 0 1400x900x24" build/tests/make_screenshots resources/screenshots import "$sweep/results"
