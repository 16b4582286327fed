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
# spbmm.pc is relocatable: its prefix follows the file (${pcfiledir}), so the staged copy names
# the staged tree with no editing.
step "spbmm.pc relocates"
grep -q '^prefix=${pcfiledir}' "$pc" || { echo "spbmm.pc has a fixed prefix:" >&2; cat "$pc" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
prefix=$(cd "$(pkg-config --variable=prefix spbmm)" && pwd)
libdir=$(cd "$(pkg-config --variable=libdir spbmm)" && pwd)
includedir=$(cd "$(pkg-config --variable=includedir spbmm)" && pwd)
for d in "$prefix" "$libdir" "$includedir"; do
  case "$d" in "$root"/*) ;; *) echo "spbmm.pc points outside the staged tree: $d" >&2; exit 1 ;; esac
done
[ -f "$includedir/spbmm/spbmm.hpp" ] || { echo "no spbmm/spbmm.hpp under $includedir" >&2; exit 1; }
echo "pkg-config --cflags --libs spbmm: $(pkg-config --cflags --libs spbmm)"

step "versioned SONAME"
real=$(find "$libdir" -maxdepth 1 -name 'libspbmm.so.*.*.*' | head -n 1)
[ -n "$real" ] || { echo "no libspbmm.so.X.Y.Z in $libdir" >&2; ls -l "$libdir" >&2; exit 1; }
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libspbmm.so.0" ] || { echo "SONAME is '$soname', expected libspbmm.so.0" >&2; exit 1; }
[ "$(readlink "$libdir/libspbmm.so.0")" = "$(basename "$real")" ] || { echo "libspbmm.so.0 does not point at $real" >&2; exit 1; }
[ -e "$libdir/libspbmm.so" ] || { echo "no libspbmm.so link for the linker" >&2; exit 1; }
echo "$soname -> $(basename "$real")"

step "libspbmm links no CUDA library"
if readelf -d "$real" | grep -E 'NEEDED.*(cudart|cusparse|cublas)'; then
  echo "libspbmm links CUDA directly; the CUDA backend belongs in libspbmm_cuda.so" >&2
  exit 1
fi
if grep -q 'define SPBMM_HAVE_CUDA 1' "$includedir/spbmm/config.hpp"; then
  [ -f "$libdir/libspbmm_cuda.so" ] || { echo "built with CUDA, but no libspbmm_cuda.so in $libdir" >&2; exit 1; }
  echo "CUDA plugin: $libdir/libspbmm_cuda.so"
fi

step "installed spbmm finds its library through RUNPATH"
runpath=$(readelf -d "$prefix/bin/spbmm" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
case "$runpath" in *'$ORIGIN'*) echo "RUNPATH: $runpath" ;; *) echo "spbmm has no \$ORIGIN RUNPATH: '$runpath'" >&2; exit 1 ;; esac
env -u LD_LIBRARY_PATH "$prefix/bin/spbmm" --version | tee "$tmp/version.txt"
# The OpenBLAS build the build tree loads (its OpenMP build when found) is the one installed
# files load too.
# (Outputs are captured before grep -q reads them: under pipefail, grep -q leaving early can kill
# the writer with SIGPIPE and fail the pipeline although the line was found.)
if grep -q 'RUNPATH.*openblas-openmp' <<<"$(readelf -d "$build/libspbmm.so.0")"; then
  grep -q 'OpenBLAS (OpenMP' "$tmp/version.txt" || { echo "the installed spbmm loads another OpenBLAS build" >&2; exit 1; }
  grep -q 'RUNPATH.*openblas-openmp' <<<"$(readelf -d "$real")" || { echo "the installed libspbmm lost its OpenBLAS RUNPATH" >&2; exit 1; }
fi
if ! grep -q "libspbmm.so.0 => $root/" <<<"$(env -u LD_LIBRARY_PATH ldd "$prefix/bin/spbmm")"; then
  echo "the installed spbmm loads another libspbmm:" >&2
  env -u LD_LIBRARY_PATH ldd "$prefix/bin/spbmm" >&2
  exit 1
fi

export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cxx=${CXX:-c++}

step "below C++20: one clear error first"
printf '#include <spbmm/spbmm.hpp>\nint main() { return 0; }\n' > "$tmp/cxx17.cpp"
# shellcheck disable=SC2046
if "$cxx" -std=c++17 -fsyntax-only $(pkg-config --cflags spbmm) "$tmp/cxx17.cpp" 2> "$tmp/cxx17.log"; then
  echo "a C++17 compile of spbmm.hpp succeeded; expected the C++20 #error" >&2
  exit 1
fi
first=$(grep -m 1 'error' "$tmp/cxx17.log")
case "$first" in *"spbmm needs C++20"*) echo "$first" ;; *) echo "first error is not spbmm's: $first" >&2; exit 1 ;; esac

step "examples with $cxx and pkg-config"
mkdir "$tmp/direct"
for ex in ragged_batch gcn_layer recommender; do
  # shellcheck disable=SC2046
  "$cxx" -std=c++20 -O1 "$src/examples/$ex.cpp" $(pkg-config --cflags spbmm) \
    -o "$tmp/direct/$ex" $(pkg-config --libs spbmm)
  if grep -q "libspbmm.*=> $build" <<<"$(ldd "$tmp/direct/$ex")"; then
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
