#!/usr/bin/env bash
# Builds the libFuzzer targets (configuring the build folder first if it does not exist) and runs
# each target for a given time, one after another, on one core.
#
#   tests/fuzz/run.sh [seconds per target, default 600] [target ...]   (targets: mm_read validate bmm)
#
# Environment: BUILD (build folder, default build-fuzz), WORK (corpora, crashes and logs, default
# $BUILD/fuzz-work), JOBS (compile jobs, default 2). Each target's new inputs go to
# $WORK/<target>/corpus, crashes to $WORK/<target>/crashes/, the whole output to
# $WORK/<target>/log.txt; the final statistics are printed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-600}
if [ $# -gt 0 ]; then shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(mm_read validate bmm); fi
build=${BUILD:-$root/build-fuzz}
work=${WORK:-$build/fuzz-work}

if [ ! -d "$build" ]; then
  CC=clang CXX=clang++ meson setup "$build" "$root" -Dfuzz=true -Dcuda=disabled -Dbench=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
fi
meson compile -C "$build" -j "${JOBS:-2}" "${targets[@]/#/fuzz_}"

# UBSan findings must stop the run like ASan's do; one thread keeps runs on one core.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OMP_NUM_THREADS=1

for t in "${targets[@]}"; do
  case $t in
    mm_read)
      seeds=("$root/data/mm" "$root/data/demo")
      extra=(-dict="$root/tests/fuzz/mm_read.dict" -max_len=8192)
      ;;
    validate | bmm)
      seeds=("$root/tests/fuzz/corpus/$t")
      extra=(-max_len=4096)
      ;;
    *)
      echo "unknown target $t" >&2
      exit 2
      ;;
  esac
  mkdir -p "$work/$t/corpus" "$work/$t/crashes"
  echo "== $t: $secs s"
  status=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${extra[@]}" -artifact_prefix="$work/$t/crashes/" \
    "$work/$t/corpus" "${seeds[@]}" "$root/tests/fuzz/regressions/$t" \
    > "$work/$t/log.txt" 2>&1 || status=$?
  grep -a -E '^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|^SUMMARY|^stat::|^Done' \
    "$work/$t/log.txt" || true
  echo "corpus files: $(find "$work/$t/corpus" -type f | wc -l)"
  if [ "$status" -ne 0 ]; then
    echo "$t stopped with status $status; see $work/$t/log.txt and $work/$t/crashes/" >&2
  fi
done
