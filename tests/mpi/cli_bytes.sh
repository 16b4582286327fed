#!/usr/bin/env bash
# `spbmm multiply` under mpiexec at 1, 2 and 4 ranks writes the same bytes as one process:
# a sharded directory, and one matrix split by rows. A bad file fails every rank with one line.
# usage: cli_bytes.sh SPBMM DEMO_DIR REAL_MATRIX_OR_EMPTY MPIEXEC [MPIEXEC_ARGS...]
set -u
spbmm=$1 demo=$2 real=$3 mpiexec=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if cmp -s "$1" "$2"; then :; else echo "FAIL: $1 and $2 differ"; fail=1; fi; }

"$spbmm" multiply "$demo" --random-rhs 64 --seed 7 --quiet -o "$work/one/" || exit 1
# A graph: a real one when data is configured, else the bundled power-law graph.
graph=${real:-$demo/b_powerlaw_2000.mtx}
"$spbmm" multiply "$graph" --random-rhs 16 --seed 3 --kernel sparse --quiet -o "$work/c1.mtx" ||
  exit 1
for p in 1 2 4; do
  "$mpiexec" "$@" -np "$p" "$spbmm" multiply "$demo" --random-rhs 64 --seed 7 --quiet \
    -o "$work/np$p/" || { echo "FAIL: sharded run at $p ranks"; fail=1; }
  for f in "$work"/one/*.mtx; do check "$f" "$work/np$p/$(basename "$f")"; done
  "$mpiexec" "$@" -np "$p" "$spbmm" multiply "$graph" --distribute rows --random-rhs 16 \
    --seed 3 --quiet -o "$work/c$p.rows.mtx" || { echo "FAIL: row run at $p ranks"; fail=1; }
  check "$work/c1.mtx" "$work/c$p.rows.mtx"
  echo "$p ranks: compared"
done

mkdir "$work/bad"
cp "$demo"/*.mtx "$work/bad/"
printf '%%%%MatrixMarket matrix coordinate real general\n3 3 1\n4 1 1.0\n' >"$work/bad/c.mtx"
"$mpiexec" "$@" -np 4 "$spbmm" multiply "$work/bad" --random-rhs 4 -o "$work/out_bad/" \
  2>"$work/err" >/dev/null
status=$?
if [ "$status" -eq 0 ]; then echo "FAIL: a bad file did not fail"; fail=1; fi
lines=$(grep -c "^spbmm multiply: .*c.mtx:3: row index 4" "$work/err")
if [ "$lines" -ne 1 ]; then
  echo "FAIL: expected one error line naming c.mtx:3, got:"
  cat "$work/err"
  fail=1
fi
exit "$fail"
