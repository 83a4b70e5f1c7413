#!/usr/bin/env bash
# Builds the Debian package from this build tree, unpacks it into a temporary root (dpkg-deb -x) and runs
# the unpacked programs from there: the CLI demo, and the window offscreen until it has shown the demo.
# Usage: test_debian_package.sh <source-dir> <build-dir>
set -euo pipefail
source_dir=$1
build_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

BUILD_DIR="$build_dir" bash "$source_dir/packaging/make-deb.sh" "$scratch" | tee "$scratch/make-deb.log"
deb=$(find "$scratch" -maxdepth 1 -name 'quantscope_*_amd64.deb' -print -quit)
[[ -n "$deb" ]] || { echo "FAIL: no package written"; exit 1; }
if command -v lintian >/dev/null && ! grep -q "lintian reports no errors" "$scratch/make-deb.log"; then
  echo "FAIL: lintian did not pass"
  exit 1
fi

failures=0
check() {  # check <description> <command...>
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

root="$scratch/root"
dpkg-deb -x "$deb" "$root"
for file in usr/bin/quantscope usr/bin/quantscope-cli \
            usr/share/quantscope/resources/digits.csv.gz usr/share/quantscope/resources/digits_cnn.pt \
            usr/share/quantscope/resources/digits_student.pt \
            usr/share/applications/quantscope.desktop usr/share/icons/hicolor/scalable/apps/quantscope.svg \
            usr/share/metainfo/io.github.quantscope.QuantScope.metainfo.xml \
            usr/share/man/man1/quantscope.1.gz usr/share/man/man1/quantscope-cli.1.gz \
            usr/share/doc/quantscope/copyright usr/share/doc/quantscope/changelog.gz; do
  check "package holds /$file" test -s "$root/$file"
done

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# dpkg-shlibdeps computed them from the binaries: the libraries they link must be named.
for library in libtorch libqt6widgets6 libqt6gui6 libqt6core6 libqcustomplot libc6 libopenblas0-pthread; do
  check "Depends names $library" grep -q "$library" <<<"$depends"
done

# The unpacked programs, run from elsewhere with no resource variable: they find their data by their own
# location.
cd "$scratch"
check "unpacked quantscope-cli demo runs" \
  env -u QUANTSCOPE_RESOURCES OMP_WAIT_POLICY=passive timeout 300 "$root/usr/bin/quantscope-cli" demo \
  >"$scratch/demo.txt" 2>&1
cat "$scratch/demo.txt"
# Proof that the installed copy is the one read: with the installed model cut short, the demo must fail
# and name that file (a build-tree copy would still load).
installed_model="$root/usr/share/quantscope/resources/digits_cnn.pt"
cp "$installed_model" "$scratch/digits_cnn.pt.good"
head -c 1000 "$scratch/digits_cnn.pt.good" >"$installed_model"
if env -u QUANTSCOPE_RESOURCES OMP_WAIT_POLICY=passive timeout 300 "$root/usr/bin/quantscope-cli" demo \
  >"$scratch/demo-broken.txt" 2>&1; then
  echo "FAIL: the demo ran with the installed model cut short: it read another copy"
  failures=$((failures + 1))
else
  check "the demo read the installed model" grep -q "$installed_model" "$scratch/demo-broken.txt"
fi
cp "$scratch/digits_cnn.pt.good" "$installed_model"
check "unpacked quantscope opens the demo offscreen and writes its screenshot" \
  env -u QUANTSCOPE_RESOURCES OMP_WAIT_POLICY=passive QT_QPA_PLATFORM=offscreen timeout 300 \
  "$root/usr/bin/quantscope" --screenshot "$scratch/window.png"
check "the screenshot is a PNG" test "$(head -c 8 "$scratch/window.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a
check "the screenshot holds a window, not an empty image" test "$(stat -c %s "$scratch/window.png")" -gt 20000
if command -v desktop-file-validate >/dev/null; then
  check "desktop entry is valid" desktop-file-validate "$root/usr/share/applications/quantscope.desktop"
fi

echo "debian package: $((failures)) failure(s)"
((failures == 0))
