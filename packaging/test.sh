#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the test suite passing: install, build, run CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh --with-test-tools
packaging/build.sh
cd build
ctest -j2 --output-on-failure --timeout 900
