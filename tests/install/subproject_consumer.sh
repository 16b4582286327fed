#!/usr/bin/env bash
# Builds tests/install/consumer, a tiny project that takes spbmm as a Meson subproject (through a
# subprojects/spbmm link to this source tree), then runs its test. The subproject is configured
# the way the README shows (tests off, benchmarks off), with the GPU backend off to keep the build
# short, and without optimization: this checks the build logic, not the speed.
#   usage: subproject_consumer.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp -r "$src/tests/install/consumer" "$tmp/consumer"
mkdir "$tmp/consumer/subprojects"
ln -s "$src" "$tmp/consumer/subprojects/spbmm"
cd "$tmp/consumer"
# --force-fallback-for: use the subproject even where an installed spbmm would be found.
meson setup build --force-fallback-for=spbmm -Dbuildtype=plain -Dspbmm:cuda=disabled \
  -Dspbmm:data_dir= >/dev/null
meson compile -C build
meson test -C build --print-errorlogs
cat build/meson-logs/testlog.txt | grep -m1 "from a subproject"
echo "subproject: OK"
