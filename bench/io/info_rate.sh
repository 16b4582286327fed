#!/usr/bin/env bash
# End-to-end `spbmm info FILE` (process start included) against the in-process read of the same
# file (bench_io, W6): the command should run at >= 0.8x the reader's rate.
#   usage: bench/io/info_rate.sh BUILD_DIR FILE [RUNS]
#   e.g.   bench/io/info_rate.sh build /tmp/w3.mtx 10
# FILE is (re)written with the W3 matrix by bench_io. Reader and command use 2 threads.
set -euo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: bench/io/info_rate.sh BUILD_DIR FILE [RUNS]" >&2
  exit 2
fi
build=$1
file=$2
runs=${3:-10}
export OMP_NUM_THREADS=2
io=$("$build/bench/io/bench_io" "$file" --runs "$runs" --threads 2 --keep)
echo "$io" | grep -E '^(file|W6)'
# "W6 read  2 threads: COO  1063.6 MB/s (0.054 s), CSR   846.3 MB/s (0.068 s)"
coo_s=$(echo "$io" | sed -n 's/^W6 read.*COO .*(\([0-9.]*\) s), CSR.*/\1/p')
csr_s=$(echo "$io" | sed -n 's/^W6 read.*CSR .*(\([0-9.]*\) s)$/\1/p')
times=()
for ((i = 0; i < runs; ++i)); do
  t0=$(date +%s%N)
  "$build/src/cli/spbmm" info "$file" >/dev/null
  t1=$(date +%s%N)
  times+=($(((t1 - t0) / 1000)))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best_us=$(echo "$sorted" | head -1)
median_us=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
mb=$(stat -c %s "$file")
awk -v b="$best_us" -v m="$median_us" -v coo="$coo_s" -v csr="$csr_s" -v mb="$mb" 'BEGIN {
  printf "spbmm info: best %.1f ms (%.0f MB/s), median %.1f ms (%.0f MB/s) of %d runs\n",
         b / 1e3, mb / b, m / 1e3, mb / m, '"$runs"'
  printf "info rate / in-process read rate (best): %.2fx the CSR read, %.2fx the COO read\n",
         csr * 1e6 / b, coo * 1e6 / b
}'
