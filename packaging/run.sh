#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to QuantScope running: install what is missing, build, and
# open the desktop application with the built-in digits demo loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
packaging/build.sh
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "No display found (DISPLAY/WAYLAND_DISPLAY unset): running the command-line demo instead." >&2
  exec build/app/quantscope-cli demo "$@"
fi
exec build/app/quantscope "$@"
