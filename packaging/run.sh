#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to QuantScope running: install what is missing, build, run.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
packaging/build.sh
exec build/app/quantscope-cli demo "$@"
