#!/usr/bin/env bash
# Copies Debian's GoogleTest source and Eigen headers into .gpu-deps/ (git-ignored) for
# bench/gpu/run.sh: the GPU machine has neither.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-/usr/src/googletest}
if [ ! -f "$src/CMakeLists.txt" ]; then
  echo "prepare.sh: no GoogleTest source at $src (apt-get install googletest)" >&2
  exit 1
fi
rm -rf .gpu-deps/googletest
mkdir -p .gpu-deps
cp -r "$src" .gpu-deps/googletest
# Eigen, laid out as an install prefix so both its pkg-config and CMake files find the headers.
rm -rf .gpu-deps/eigen
mkdir -p .gpu-deps/eigen/include .gpu-deps/eigen/share/pkgconfig .gpu-deps/eigen/share/eigen3
cp -r /usr/include/eigen3 .gpu-deps/eigen/include/
cp -r /usr/share/eigen3/cmake .gpu-deps/eigen/share/eigen3/
sed 's|^prefix=.*|prefix=${pcfiledir}/../..|' /usr/share/pkgconfig/eigen3.pc \
  >.gpu-deps/eigen/share/pkgconfig/eigen3.pc
# Ignored through the repository's own exclude file, so the tracked .gitignore stays as it is.
exclude="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.gpu-deps/' "$exclude" 2>/dev/null || echo '/.gpu-deps/' >>"$exclude"
echo "prepared .gpu-deps/googletest ($(du -sh .gpu-deps | cut -f1)); carry path: .gpu-deps"
