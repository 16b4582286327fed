#!/usr/bin/env bash
# Runs a command while one core is kept busy by a spinning process (another program computing on
# a shared machine), to see how spbmm behaves under load: compare with the command run alone.
#   usage: bench/load.sh COMMAND [ARGS...]
#   e.g.   bench/load.sh ./build/src/cli/spbmm bench W3 W8 --threads 2
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: bench/load.sh COMMAND [ARGS...]" >&2
  exit 2
fi
bash -c 'while :; do :; done' &
spinner=$!
trap 'kill "$spinner" 2>/dev/null || true' EXIT
"$@"
