#!/usr/bin/env bash
# Builds the Debian package quantscope_<version>_amd64.deb with CPack from the build tree (configuring and
# building it first when needed) and checks it with lintian when lintian is installed.
# Usage: packaging/make-deb.sh [output-dir] (default: the current directory). BUILD_DIR overrides ./build.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)
build_dir=$(cd "$source_dir" && mkdir -p "${BUILD_DIR:-build}" && cd "${BUILD_DIR:-build}" && pwd)

command -v dpkg-shlibdeps >/dev/null || {
  echo "make-deb: dpkg-shlibdeps is missing: apt install dpkg-dev" >&2
  exit 1
}
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" --target quantscope quantscope-cli quantscope_package_docs

# CPack stages and writes in a scratch folder; the finished package is moved into place in one step.
work=$(mktemp -d "$build_dir/deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$build_dir" && cpack -G DEB -B "$work" >"$work/cpack.log") || {
  cat "$work/cpack.log" >&2
  exit 1
}
deb=$(find "$work" -maxdepth 1 -name 'quantscope_*_amd64.deb' -print -quit)
[[ -n "$deb" ]] || {
  echo "make-deb: CPack wrote no package" >&2
  cat "$work/cpack.log" >&2
  exit 1
}
mv -f "$deb" "$out_dir/"
deb="$out_dir/$(basename "$deb")"
echo "make-deb: wrote $deb"
dpkg-deb -f "$deb" Package Version Architecture Depends

if command -v lintian >/dev/null; then
  # Errors fail the build; warnings are printed (the README lists the ones that remain and why).
  lintian --fail-on error --tag-display-limit 0 "$deb"
  echo "make-deb: lintian reports no errors"
else
  echo "make-deb: lintian is not installed (apt install lintian); the package was not checked"
fi
