#!/usr/bin/env bash
# Installs every package QuantScope needs from Debian 12's archive; safe to run again (installs only what
# is missing). Usage: packaging/install-deps.sh [--with-test-tools]
set -euo pipefail

runtime_and_build=(
  build-essential cmake ninja-build ccache pkg-config zlib1g-dev
  libtorch-dev                                   # LibTorch 1.13 (CMake package Torch)
  qt6-base-dev                                  # Qt 6 Widgets, PrintSupport, Test
  libqcustomplot-dev libqcustomplot2.1-qt6       # QCustomPlot for Qt 6 (CMake QCustomPlotQt6)
  libopenblas0-pthread                           # fp32 GEMM; the reference BLAS is ~20x slower
  fonts-dejavu-core                              # without fonts Qt draws boxes silently
)
# Only tests and benchmarks use Python: it makes fixtures and reference numbers, never runs in the app.
test_tools=(python3-torch python3-torchvision xvfb xauth clang-format-14 lintian parallel)

wanted=("${runtime_and_build[@]}")
if [[ "${1:-}" == "--with-test-tools" ]]; then wanted+=("${test_tools[@]}"); fi

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
