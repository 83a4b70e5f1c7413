#!/usr/bin/env bash
# Rebuilds the README's screenshots from the real window under Xvfb (needs xvfb: install-deps.sh
# --with-test-tools). Writes resources/screenshots/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/build.sh
xvfb-run -a -s "-screen 0 1400x900x24" build/tests/make_screenshots resources/screenshots
