#!/usr/bin/env bash
# The GPU device check: build with CUDA, run the 'gpu' test suites, G1-G4 with Auto and every
# forced kernel (bench_gpu fails when Auto is more than 1.1x slower than the best forced kernel or
# an estimate is off by more than 2x), the GPU figures measured on first use and cached, and the
# torch anchors.
#
# Run from the repository root on a bare GPU machine: bash bench/gpu/run.sh
# Everything is printed and kept in $OUT/gpu_log.txt (with test logs and CSV results in $OUT), and
# the log is copied to bench/results/gpu-run-STAMP.txt (commit it from there, or from $OUT when the
# machine's files come back through $OUT).
# Needs .gpu-deps/googletest (bench/gpu/prepare.sh) when the machine has no GoogleTest
# (SPBMM_BUILD_GTEST=1 builds that copy even where pkg-config finds one; JOBS sets parallelism).
# Keeps going after a failed step so that one run reports as much as it can; exits non-zero
# when any step failed.
set -u -o pipefail

OUT=${OUT:-/tmp/spbmm-gpu-out}
mkdir -p "$OUT"
BUILD=/tmp/build-gpu
GTEST_PREFIX=/tmp/gtest-prefix
JOBS=${JOBS:-16}
failed=()

step() { echo; echo "==== [$((SECONDS))s] $*"; }
fail() { echo "!!!! FAILED: $*"; failed+=("$*"); }

main() {
  cd "$(dirname "$0")/../.." || exit 1
  export PATH="/usr/local/cuda/bin:$HOME/.local/bin:$PATH"
  [ -d /usr/local/cuda ] && export CUDA_PATH=/usr/local/cuda

  step "environment"
  nvidia-smi -L || fail "nvidia-smi -L"
  nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max \
    --format=csv 2>/dev/null || true
  g++ --version | head -1 || fail "g++ missing"
  nvcc --version 2>/dev/null | tail -2 || true
  echo "meson $(meson --version 2>/dev/null || echo missing), ninja $(ninja --version 2>/dev/null || echo missing)"
  cmake --version 2>/dev/null | head -1 || true
  echo "pkg-config: $(command -v pkg-config || command -v pkgconf || echo none)"
  python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 | tail -1
  nproc
  git log -1 --format='commit %h %s' 2>/dev/null || true

  step "GoogleTest"
  local pc=""
  pc=$(command -v pkg-config || command -v pkgconf || true)
  if [ -z "${SPBMM_BUILD_GTEST:-}" ] && [ -n "$pc" ] && "$pc" --exists gtest gtest_main 2>/dev/null; then
    echo "system GoogleTest $("$pc" --modversion gtest)"
  else
    local src=""
    for d in .gpu-deps/googletest /usr/src/googletest; do
      if [ -f "$d/CMakeLists.txt" ]; then src=$d; break; fi
    done
    if [ -z "$src" ]; then
      fail "no GoogleTest: neither pkg-config's nor a source copy (.gpu-deps/googletest)"
    elif [ -f "$GTEST_PREFIX/include/gtest/gtest.h" ]; then
      echo "reusing $GTEST_PREFIX"
    else
      echo "building GoogleTest from $src into $GTEST_PREFIX"
      timeout 240 cmake -S "$src" -B /tmp/gtest-build -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$GTEST_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON >/tmp/gtest-cmake.log 2>&1 \
        && timeout 240 cmake --build /tmp/gtest-build -j "$JOBS" >>/tmp/gtest-cmake.log 2>&1 \
        && cmake --install /tmp/gtest-build >>/tmp/gtest-cmake.log 2>&1 \
        || { tail -30 /tmp/gtest-cmake.log; fail "GoogleTest build"; }
    fi
    for f in gtest.pc gtest_main.pc gmock.pc; do
      if [ -f "$GTEST_PREFIX/lib/pkgconfig/$f" ]; then echo "found $GTEST_PREFIX/lib/pkgconfig/$f"
      else echo "missing $GTEST_PREFIX/lib/pkgconfig/$f"; fi
    done
    export PKG_CONFIG_PATH="$GTEST_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    # Without a pkg-config binary Meson's 'system' lookup still finds -lgtest through these.
    export LIBRARY_PATH="$GTEST_PREFIX/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
    export CPLUS_INCLUDE_PATH="$GTEST_PREFIX/include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}"
  fi

  step "Eigen"
  if [ -d .gpu-deps/eigen ]; then
    export PKG_CONFIG_PATH="$PWD/.gpu-deps/eigen/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export CMAKE_PREFIX_PATH="$PWD/.gpu-deps/eigen${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    echo "using the carried Eigen in .gpu-deps/eigen"
  fi

  step "configure"
  rm -rf "$BUILD"
  if ! timeout 180 meson setup "$BUILD" -Dcuda=enabled -Dtests=true -Dbench=enabled -Dopenmp=enabled; then
    tail -40 "$BUILD/meson-logs/meson-log.txt" 2>/dev/null
    cp "$BUILD/meson-logs/meson-log.txt" "$OUT/meson-log-first.txt" 2>/dev/null
    fail "meson setup with -Dbench=enabled -Dopenmp=enabled (retrying with auto)"
    rm -rf "$BUILD"
    timeout 180 meson setup "$BUILD" -Dcuda=enabled -Dtests=true -Dbench=auto -Dopenmp=auto \
      || { tail -40 "$BUILD/meson-logs/meson-log.txt" 2>/dev/null; fail "meson setup"; }
  fi
  cp "$BUILD/meson-logs/meson-log.txt" "$OUT/" 2>/dev/null

  step "build"
  if ! timeout 300 meson compile -C "$BUILD" -j "$JOBS"; then
    fail "full build (building the GPU targets alone)"
    timeout 200 meson compile -C "$BUILD" -j "$JOBS" test_gpu test_gpu_cpu || fail "GPU test build"
    timeout 100 meson compile -C "$BUILD" -j "$JOBS" bench_gpu || fail "bench_gpu build"
  fi

  step "tests: suite gpu"
  XDG_CACHE_HOME="$OUT/xdg-cache-tests" timeout 300 meson test -C "$BUILD" --no-rebuild --suite gpu --print-errorlogs || fail "suite gpu"
  cp "$BUILD/meson-logs/testlog.txt" "$OUT/testlog-gpu.txt" 2>/dev/null
  grep -E '^\s+\[first plan|gpu figures:|batch split' "$BUILD/meson-logs/testlog.txt" | head -20
  grep -E '^\[  (PASSED|FAILED|SKIPPED) \]|^  \[path|^  \[CUDA|^  \[pinned' "$BUILD/meson-logs/testlog.txt" | sort | uniq -c | sort -rn | head -40

  step "tests: suite gpu_cpu"
  timeout 60 meson test -C "$BUILD" --no-rebuild --suite gpu_cpu --print-errorlogs || fail "suite gpu_cpu"
  cp "$BUILD/meson-logs/testlog.txt" "$OUT/testlog-gpu_cpu.txt" 2>/dev/null

  step "GPU figures: none cached yet (a fresh XDG_CACHE_HOME)"
  export XDG_CACHE_HOME="$OUT/xdg-cache"
  rm -rf "$XDG_CACHE_HOME"
  "$BUILD/src/cli/spbmm" --gpu || fail "spbmm --gpu"

  step "benchmark G1-G4 (the first plan measures the GPU figures and caches them)"
  local bench
  bench=$(find "$BUILD" -name bench_gpu -type f -perm -u+x 2>/dev/null | head -1)
  if [ -z "$bench" ]; then
    # bench/gpu not part of this build (no subdir line yet): build it against the library.
    echo "bench_gpu not in the build; compiling it directly"
    local lib
    lib=$(dirname "$(find "$BUILD" -name 'libspbmm.so' | head -1)")
    bench=/tmp/bench_gpu
    g++ -std=c++20 -O2 -Iinclude -I"$BUILD/include" -isystem /usr/local/cuda/include \
      bench/gpu/bench_gpu.cpp -o "$bench" -L"$lib" -lspbmm -L/usr/local/cuda/lib64 -lcusparse \
      -lcudart -Wl,-rpath,"$lib" || { fail "bench_gpu direct build"; bench=""; }
  fi
  if [ -n "$bench" ]; then
    timeout 300 "$bench" "$OUT/bench_gpu.csv" || fail "bench_gpu (exit 2: an Auto or estimate check)"
  fi

  step "GPU figures after the benchmark (read from the cache), and spbmm calibrate refreshing them"
  "$BUILD/src/cli/spbmm" --gpu || fail "spbmm --gpu after the benchmark"
  for f in "$XDG_CACHE_HOME"/spbmm/*; do echo "--- $f"; cat "$f"; done
  timeout 120 "$BUILD/src/cli/spbmm" calibrate -o "$OUT/machine.txt" || fail "spbmm calibrate"
  cat "$OUT/machine.txt" 2>/dev/null

  step "torch anchors"
  timeout 240 python3 bench/gpu/torch_anchors.py "$OUT/torch_anchors.csv" || fail "torch anchors"

  step "done in ${SECONDS}s"
  if [ "${#failed[@]}" -gt 0 ]; then
    printf 'FAILED STEP: %s\n' "${failed[@]}"
    return 1
  fi
  echo "all steps passed"
}

main "$@" 2>&1 | tee "$OUT/gpu_log.txt"
status=${PIPESTATUS[0]}
stamp=$(date -u +%Y%m%d-%H%M)-$(git -C "$(dirname "$0")/../.." rev-parse --short HEAD 2>/dev/null || echo nogit)
mkdir -p "$(dirname "$0")/../results" && cp "$OUT/gpu_log.txt" "$(dirname "$0")/../results/gpu-run-$stamp.txt"
exit "$status"
