#!/usr/bin/env bash
# Makes (or reuses) the Python virtual environment of today's anchors: torch, scipy, numpy,
# fast-matrix-market, matplotlib and Intel MKL (mkl, mkl-devel, mkl-include) from PyPI.
#
# Only the benchmarks need it (bench/anchors.py, bench/plot.py, and the MKL anchors that Meson
# builds when it finds MKL's pkg-config files); the build and the tests never do.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/setup-anchors.sh [--venv DIR] [--python PY] [--torch-index URL] [--upgrade]

Makes a Python virtual environment with the benchmark anchors, or reuses it when it already has
them, then prints the versions it holds and how to build the MKL anchors against it.

  --venv DIR         where the environment goes (default: bench/.venv, or $SPBMM_ANCHORS_VENV)
  --python PY        the Python that makes it (default: python3, or $PYTHON)
  --torch-index URL  a package index with CPU-only torch wheels (or $TORCH_INDEX_URL); without
                     it torch comes from PyPI with the CUDA runtime packages it requires
                     (about 6 GB in all), which a CPU benchmark does not use
  --upgrade          install the newest versions even when the environment is complete
EOF
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SPBMM_ANCHORS_VENV:-$here/.venv}"
python="${PYTHON:-python3}"
torch_index="${TORCH_INDEX_URL:-}"
upgrade=0
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="${2:?--venv needs a directory}"; shift 2 ;;
    --python) python="${2:?--python needs a command}"; shift 2 ;;
    --torch-index) torch_index="${2:?--torch-index needs a URL}"; shift 2 ;;
    --upgrade) upgrade=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup-anchors.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# The packages and the modules that prove each one is usable.
packages=(numpy scipy fast-matrix-market matplotlib mkl mkl-devel mkl-include)
modules="numpy scipy fast_matrix_market matplotlib torch"

complete() {
  [ -x "$venv/bin/python" ] || return 1
  "$venv/bin/python" - "$modules" <<'EOF' >/dev/null 2>&1 || return 1
import importlib, sys
for m in sys.argv[1].split():
    importlib.import_module(m)
EOF
  ls "$venv"/lib/pkgconfig/mkl-dynamic-lp64-gomp.pc >/dev/null 2>&1
}

if [ "$upgrade" = 0 ] && complete; then
  echo "setup-anchors.sh: reusing $venv"
else
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup-anchors.sh: making $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
  fi
  pip=("$venv/bin/python" -m pip install --upgrade-strategy only-if-needed)
  [ "$upgrade" = 1 ] && pip+=(--upgrade)
  "${pip[@]}" "${packages[@]}"
  if [ -n "$torch_index" ]; then
    "${pip[@]}" torch --index-url "$torch_index"
  else
    # PyPI's Linux wheel: its CPU kernels are the CPU wheel's, but it will not import without
    # the CUDA runtime packages it names (several GB), so those come along.
    "${pip[@]}" torch
  fi
  complete || { echo "setup-anchors.sh: $venv is still incomplete" >&2; exit 1; }
fi

"$venv/bin/python" - <<'EOF'
import importlib.metadata as md, sys
print("python " + sys.version.split()[0])
for p in ["torch", "numpy", "scipy", "fast-matrix-market", "matplotlib", "mkl", "mkl-devel",
          "mkl-include", "intel-openmp"]:
    try:
        print("%s %s" % (p, md.version(p)))
    except md.PackageNotFoundError:
        print("%s (not installed)" % p)
EOF
pc="$(cd "$venv/lib/pkgconfig" && pwd)"
echo "MKL pkg-config files: $pc"
echo "build the MKL anchors: meson configure build -Dmkl_pkgconfig_dir=$pc" \
  "(or PKG_CONFIG_PATH=$pc meson setup ...)"
