#!/usr/bin/env bash
# Installs the build into a temporary folder (meson install --destdir), then builds the examples
# against that install the way a user would: with pkg-config directly, with examples/Makefile,
# and with examples/CMakeLists.txt (when make / cmake are present). Every program it builds runs
# and must succeed, and so does the installed `spbmm` command.
#   usage: install_examples.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"

step() { echo "== $*"; }

step "meson install --destdir $root"
meson install -C "$build" --no-rebuild --quiet --destdir "$root"

pc=$(find "$root" -name spbmm.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$pc" ]; then
  echo "no spbmm.pc under $root" >&2
  exit 1
fi
# The staged copy of spbmm.pc still names the configured prefix: point it at the staging folder
# (every other path in it is relative to ${prefix}). Other packages' .pc files are untouched.
prefix="$root$(sed -n 's/^prefix=//p' "$pc")"
sed -i "s|^prefix=.*|prefix=$prefix|" "$pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(pkg-config --variable=libdir spbmm)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "pkg-config --cflags --libs spbmm: $(pkg-config --cflags --libs spbmm)"

cxx=${CXX:-c++}
step "examples with $cxx and pkg-config"
mkdir "$tmp/direct"
for ex in ragged_batch gcn_layer recommender; do
  # shellcheck disable=SC2046
  "$cxx" -std=c++20 -O1 "$src/examples/$ex.cpp" $(pkg-config --cflags spbmm) \
    -o "$tmp/direct/$ex" $(pkg-config --libs spbmm)
  if ldd "$tmp/direct/$ex" | grep -q "libspbmm.*=> $build"; then
    echo "$ex links the build tree's library, not the installed one" >&2
    exit 1
  fi
  step "run $ex"
  "$tmp/direct/$ex"
done

step "installed spbmm command"
"$prefix/bin/spbmm" --version
"$prefix/bin/spbmm" demo "$prefix/share/spbmm/demo" --quiet

if command -v make >/dev/null 2>&1; then
  step "examples/Makefile (ragged_batch)"
  mkdir "$tmp/make"
  cp "$src/examples/Makefile" "$src/examples/ragged_batch.cpp" "$tmp/make/"
  make -s -C "$tmp/make" ragged_batch CXXFLAGS=-O1
  "$tmp/make/ragged_batch"
else
  echo "make not found: the Makefile build is not checked"
fi

if command -v cmake >/dev/null 2>&1; then
  step "examples/CMakeLists.txt (ragged_batch)"
  cmake -S "$src/examples" -B "$tmp/cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tmp/cmake" --target ragged_batch >/dev/null
  "$tmp/cmake/ragged_batch"
else
  echo "cmake not found: the CMake build is not checked"
fi
echo "install: OK"
