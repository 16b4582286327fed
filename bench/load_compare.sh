#!/usr/bin/env bash
# spbmm, Intel MKL and torch on the demo's batch, W3 and W8, alone and under load (bench/load.sh:
# one core kept busy), one after the other in one run, so their losses under load compare.
#   usage: bench/load_compare.sh BUILD_DIR [PYTHON] [ROUNDS]
#   e.g.   bench/load_compare.sh build bench/.venv/bin/python 2
# PYTHON runs bench/anchors.py (torch); without it torch is left out. bench_mkl is used when
# BUILD_DIR has it (configured with -Dmkl_pkgconfig_dir). Extra spbmm settings are tried as
# environment variables: SPBMM_LOAD_SETTINGS="OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=10000".
set -euo pipefail
if [ "$#" -lt 1 ]; then
  echo "usage: bench/load_compare.sh BUILD_DIR [PYTHON] [ROUNDS]" >&2
  exit 2
fi
build=$1
python=${2:-}
rounds=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
spbmm=$build/src/cli/spbmm
mkl=$build/bench/mkl/bench_mkl
settings=("default" ${SPBMM_LOAD_SETTINGS:-})

run_all() {  # $1: "alone" or "load"
  local wrap=()
  [ "$1" = load ] && wrap=("$here/load.sh")
  for s in "${settings[@]}"; do
    local env=()
    [ "$s" != default ] && env=("$s")
    for _ in 1 2 3; do
      echo "$1 spbmm[$s] demo: $(env "${env[@]}" "${wrap[@]}" "$spbmm" demo |
        sed -n 's/.*whole batch \([0-9.]* ms\).*/\1/p')"
    done
    env "${env[@]}" "${wrap[@]}" "$spbmm" bench W3 W8 --threads 2 --reps 5 |
      awk -v tag="$1 spbmm[$s]" '$1 ~ /^W[38]$/ { print tag, $1 ":", $3, "ms" }'
  done
  if [ -x "$mkl" ]; then
    MKL_THREADING_LAYER=GNU "${wrap[@]}" "$mkl" W3 W8 --threads 2 --reps 5 |
      awk -v tag="$1 mkl" '$1 ~ /^W[38]$/ && $NF !~ /wrong/ && $3 !~ /opt2/ {
        print tag, $1, $3 ":", $4, "ms" }'
  fi
  if [ -n "$python" ]; then
    "${wrap[@]}" "$python" "$here/anchors.py" W3 W8 --threads 2 --reps 5 |
      awk -v tag="$1 torch" '$1 ~ /^W[38]$/ && $3 ~ /^torch/ { print tag, $1, $3 ":", $4, "ms" }'
  fi
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
for ((r = 1; r <= rounds; ++r)); do
  echo "-- round $r"
  run_all alone
  run_all load
done
