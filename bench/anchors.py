#!/usr/bin/env python3
"""Times the torch, scipy and fast_matrix_market anchors of bench/WORKLOADS.md on this machine.

W1-W5 and W8 are regenerated here in numpy with the same parameters as the C++ generators in
src/cli/bench/workloads.cpp (same shapes, densities, degree, R-MAT quadrant probabilities, value
ranges and duplicate handling), but with numpy's random streams: the matrices are statistically
identical to the ones `spbmm bench` and bench_mkl measure, not bit-identical. Compare ratios with
figures taken on the same machine in the same run (bench/plot.py runs all of them).

Anchors (as WORKLOADS.md names them):
  W1, W2  torch.bmm on dense [batch, M, K] @ [batch, K, N]
  W3      torch CSR matmul (sparse_csr_tensor @ dense) and scipy csr @ dense
  W4      torch.bmm(3-D sparse COO, dense) and a scipy loop of csr @ dense
  W5      torch.matmul in a Python loop over the ragged entries
  W8      a Python loop of per-graph products and one block-diagonal product, each with torch
          sparse COO (torch.sparse.mm) and with torch CSR (@)
  W6, W9  Matrix Market read and write of the W3 file that spbmm's bench reads (made by
          `bench_io FILE --keep`, given with --mtx FILE): fast_matrix_market (read_coo,
          mmread into scipy CSR, mmwrite) and scipy.io.mmread/mmwrite, 17 significant digits

Every product is the best of --reps runs after one warm-up, on --threads threads, and its result
is checked against a float64 product of the same operands (numpy/scipy); W6 results are checked
against each other entry by entry and W9 files are read back and compared with the matrix. An
anchor a library version cannot run is reported as failed, not fatal. Installs nothing: run it
with the environment of bench/setup-anchors.sh:

  bench/.venv/bin/python bench/anchors.py --threads 2
  bench/.venv/bin/python bench/anchors.py W1 W3 --double --json
  bench/.venv/bin/python bench/anchors.py W6 W9 --mtx /tmp/w3.mtx
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W8", "W9"]
IO_WORKLOADS = ["W6", "W9"]
SEED = 20261126


def parse_args():
    p = argparse.ArgumentParser(
        description="Time the torch and scipy anchors of bench/WORKLOADS.md.",
        epilog="example: bench/.venv/bin/python bench/anchors.py W3 W4 --threads 2 --reps 5")
    p.add_argument("workloads", nargs="*", metavar="W",
                   help="workloads to run: " + " ".join(WORKLOADS) + " or all (default: all)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--reps", type=int, default=5, help="timed runs after a warm-up (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per workload per line")
    p.add_argument("--double", action="store_true", help="fp64 instead of fp32")
    p.add_argument("--mtx", default=None,
                   help="the W3 Matrix Market file for W6 and W9 (bench_io FILE --keep writes it); "
                        "without it W6 and W9 are skipped")
    args = p.parse_args()
    ids = []
    for w in args.workloads or ["all"]:
        w = w.upper()
        if w == "ALL":
            ids += WORKLOADS
        elif w in WORKLOADS:
            ids.append(w)
        else:
            p.error("unknown workload '%s' (expected %s or all)" % (w, " ".join(WORKLOADS)))
    if args.threads < 1 or args.reps < 1:
        p.error("--threads and --reps must be at least 1")
    if args.mtx is None:
        ids = [w for w in ids if w not in IO_WORKLOADS]
    elif not os.path.isfile(args.mtx):
        p.error("--mtx %s: no such file" % args.mtx)
    args.ids = ids
    return args


ARGS = parse_args()
# Thread pools size themselves when the libraries load, so this must precede the imports.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))

try:
    import numpy as np
except ImportError:
    print("anchors.py: numpy is not installed; nothing to measure (bench/setup-anchors.sh)")
    sys.exit(0)
try:
    import torch
except ImportError:
    torch = None
try:
    import scipy
    import scipy.io
    import scipy.sparse as sp
except ImportError:
    scipy = None
    sp = None
try:
    import fast_matrix_market as fmm
except ImportError:
    fmm = None
if torch is None and scipy is None and fmm is None:
    print("anchors.py: none of torch, scipy and fast_matrix_market is installed; nothing to "
          "measure (bench/setup-anchors.sh makes an environment with them)")
    sys.exit(0)
if torch is not None:
    torch.set_num_threads(ARGS.threads)
    # Some torch versions warn that sparse CSR is beta on every construction.
    warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support is in beta.*")
    warnings.filterwarnings("ignore", message=".*[Ss]parse invariant checks.*")
if fmm is not None:
    fmm.PARALLELISM = ARGS.threads
if scipy is not None:
    # scipy.io's Matrix Market code is a bundled fast_matrix_market with its own thread count.
    try:
        import scipy.io._fast_matrix_market as scipy_fmm
        scipy_fmm.PARALLELISM = ARGS.threads
    except (ImportError, AttributeError):
        pass

DTYPE = np.float64 if ARGS.double else np.float32
TDTYPE = None if torch is None else (torch.float64 if ARGS.double else torch.float32)


# ---- generators: the parameters of src/cli/bench/workloads.cpp ----------------------------

class Csr:
    """Canonical CSR arrays (sorted columns, duplicates summed)."""

    def __init__(self, rows, cols, indptr, indices, data):
        self.rows, self.cols = rows, cols
        self.indptr, self.indices, self.data = indptr, indices, data

    @property
    def nnz(self):
        return len(self.data)

    def scipy(self):
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=(self.rows, self.cols))

    def row_index(self):
        return np.repeat(np.arange(self.rows, dtype=np.int64), np.diff(self.indptr))


def csr_from_coo(rows, cols, r, c, v):
    keys = r.astype(np.int64) * cols + c.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    keys, v = keys[order], v[order]
    uniq, start = np.unique(keys, return_index=True)
    data = np.add.reduceat(v, start) if len(v) else v
    rr = uniq // cols
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rr, minlength=rows), out=indptr[1:])
    return Csr(rows, cols, indptr, (uniq % cols).astype(np.int64), data.astype(DTYPE))


def rmat(rng, scale=17, edges=2_000_000, a=0.57, b=0.19, c=0.19):
    n = 1 << scale
    r = np.zeros(edges, dtype=np.int64)
    col = np.zeros(edges, dtype=np.int64)
    for _ in range(scale):
        x = rng.random(edges)
        rb = x >= a + b
        cb = ((x >= a) & (x < a + b)) | (x >= a + b + c)
        r = 2 * r + rb
        col = 2 * col + cb
    return csr_from_coo(n, n, r, col, rng.random(edges))


def random_uniform_csr(rng, rows, cols, density):
    # Exact Bernoulli(density) per position through geometric gaps, as the C++ generator.
    total = rows * cols
    expect = total * density
    gaps = rng.geometric(density, size=int(expect + 10 * np.sqrt(expect) + 100))
    pos = np.cumsum(gaps) - 1
    while pos[-1] < total:
        more = np.cumsum(rng.geometric(density, size=len(gaps))) + pos[-1]
        pos = np.concatenate([pos, more])
    pos = pos[pos < total]
    return csr_from_coo(rows, cols, pos // cols, pos % cols, rng.random(len(pos)))


def random_graph(rng, n, degree):
    m = int(n * degree / 2)
    a = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    same = a == b
    while same.any():
        b[same] = rng.integers(0, n, int(same.sum()))
        same = a == b
    w = rng.random(m)
    return csr_from_coo(n, n, np.concatenate([a, b]), np.concatenate([b, a]),
                        np.concatenate([w, w]))


def uniform(rng, shape):
    return (rng.random(shape) * 2.0 - 1.0).astype(DTYPE)


# ---- timing -----------------------------------------------------------------------------------

def best_of(fn):
    out = fn()
    best = float("inf")
    for _ in range(ARGS.reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def to_numpy(x):
    if torch is not None and isinstance(x, torch.Tensor):
        return (x.to_dense() if x.layout != torch.strided else x).numpy()
    if sp is not None and sp.issparse(x):
        return x.toarray()
    return np.asarray(x)


def flat(result):
    if isinstance(result, (list, tuple)):
        return np.concatenate([to_numpy(r).ravel() for r in result])
    return to_numpy(result).ravel()


def max_rel_error(got, want):
    g, w = flat(got).astype(np.float64), flat(want).astype(np.float64)
    if g.shape != w.shape:
        return float("inf")
    if g.size == 0:
        return 0.0
    err = np.abs(g - w) / np.maximum(1.0, np.abs(w))
    return float("inf") if np.isnan(err).any() else float(np.max(err))


# As `spbmm bench` and bench_mkl: bounds the rounding of sums of a few thousand terms in any order.
TOLERANCE = 1e-10 if ARGS.double else 2e-3


def run_anchors(wid, flops, anchors, reference):
    """Times each (name, fn) and checks its result against `reference` (a float64 result)."""
    result = {"workload": wid, "precision": "fp64" if ARGS.double else "fp32",
              "threads": ARGS.threads, "reps": ARGS.reps, "flops": flops, "tolerance": TOLERANCE,
              "anchors": []}
    for name, fn in anchors:
        entry = {"name": name}
        try:
            seconds, out = best_of(fn)
            entry["seconds"] = seconds
            entry["gflops"] = flops / seconds * 1e-9
            entry["max_rel_error"] = max_rel_error(out, reference)
            entry["correct"] = entry["max_rel_error"] <= TOLERANCE
        except Exception as e:  # an anchor a library build cannot run is reported, not fatal
            entry["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        result["anchors"].append(entry)
    return result


def f64(x):
    return x.astype(np.float64)


def csr64(a):
    return sp.csr_matrix((f64(a.data), a.indices, a.indptr), shape=(a.rows, a.cols))


def torch_csr(a):
    return torch.sparse_csr_tensor(torch.from_numpy(a.indptr), torch.from_numpy(a.indices),
                                   torch.from_numpy(a.data), size=(a.rows, a.cols))


def torch_coo(a):
    return torch.sparse_coo_tensor(torch.from_numpy(np.stack([a.row_index(), a.indices])),
                                   torch.from_numpy(a.data), size=(a.rows, a.cols)).coalesce()


# ---- product workloads ----------------------------------------------------------------------

def dense_uniform(wid, batch, m, k, n):
    rng = np.random.default_rng(SEED)
    a, b = uniform(rng, (batch, m, k)), uniform(rng, (batch, k, n))
    reference = np.matmul(f64(a), f64(b))
    anchors = []
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        anchors.append(("torch.bmm", lambda: torch.bmm(ta, tb)))
    return run_anchors(wid, 2.0 * batch * m * k * n, anchors, reference)


def w3():
    rng = np.random.default_rng(SEED)
    a = rmat(rng)
    b = uniform(rng, (a.cols, 64))
    reference = csr64(a) @ f64(b)
    anchors = []
    if torch is not None:
        ta = torch_csr(a)
        tb = torch.from_numpy(b)
        anchors.append(("torch-csr", lambda: ta @ tb))
    if sp is not None:
        sa = a.scipy()
        anchors.append(("scipy-csr", lambda: sa @ b))
    return run_anchors("W3", 2.0 * a.nnz * 64, anchors, reference)


def w4():
    rng = np.random.default_rng(SEED)
    mats = [random_uniform_csr(rng, 4096, 4096, 0.002) for _ in range(32)]
    b = uniform(rng, (32, 4096, 64))
    nnz = sum(m.nnz for m in mats)
    reference = [csr64(m) @ f64(b[i]) for i, m in enumerate(mats)]
    anchors = []
    if torch is not None:
        idx = np.concatenate([np.stack([np.full(m.nnz, i, dtype=np.int64), m.row_index(),
                                        m.indices]) for i, m in enumerate(mats)], axis=1)
        vals = np.concatenate([m.data for m in mats])
        ta = torch.sparse_coo_tensor(torch.from_numpy(idx), torch.from_numpy(vals),
                                     size=(32, 4096, 4096)).coalesce()
        tb = torch.from_numpy(b)
        anchors.append(("torch.bmm(sparse)", lambda: torch.bmm(ta, tb)))
        tcsr = [torch_csr(m) for m in mats]
        anchors.append(("torch-csr-loop", lambda: [tcsr[i] @ tb[i] for i in range(32)]))
    if sp is not None:
        sa = [m.scipy() for m in mats]
        anchors.append(("scipy-loop", lambda: [sa[i] @ b[i] for i in range(32)]))
    return run_anchors("W4", 2.0 * nnz * 64, anchors, reference)


def w5():
    rng = np.random.default_rng(SEED)
    dims = rng.integers(8, 129, size=(2000, 3))
    a = [uniform(rng, (m, k)) for m, k, _ in dims]
    b = [uniform(rng, (k, n)) for _, k, n in dims]
    flops = float(sum(2.0 * m * k * n for m, k, n in dims))
    reference = [f64(x) @ f64(y) for x, y in zip(a, b)]
    anchors = []
    if torch is not None:
        ta = [torch.from_numpy(x) for x in a]
        tb = [torch.from_numpy(x) for x in b]
        anchors.append(("torch.matmul-loop",
                        lambda: [torch.matmul(x, y) for x, y in zip(ta, tb)]))
    return run_anchors("W5", flops, anchors, reference)


def w8():
    rng = np.random.default_rng(SEED)
    sizes = rng.integers(50, 2001, size=512)
    graphs = [random_graph(rng, int(n), 8.0) for n in sizes]
    feats = [uniform(rng, (g.rows, 128)) for g in graphs]
    nnz = sum(g.nnz for g in graphs)
    reference = [csr64(g) @ f64(f) for g, f in zip(graphs, feats)]
    anchors = []
    if torch is not None:
        offsets = np.concatenate([[0], np.cumsum([g.rows for g in graphs])])
        total = int(offsets[-1])
        starts = np.concatenate([[0], np.cumsum([g.nnz for g in graphs])])
        block = Csr(total, total,
                    np.concatenate([[0]] + [g.indptr[1:] + s for g, s in zip(graphs, starts)]),
                    np.concatenate([g.indices + o for g, o in zip(graphs, offsets)]),
                    np.concatenate([g.data for g in graphs]))
        block_coo = torch_coo(block)
        block_csr = torch_csr(block)
        x = torch.from_numpy(np.concatenate(feats))
        per_coo = [torch_coo(g) for g in graphs]
        per_csr = [torch_csr(g) for g in graphs]
        xs = [torch.from_numpy(f) for f in feats]
        anchors.append(("torch-per-graph-loop",
                        lambda: [torch.sparse.mm(g, f) for g, f in zip(per_coo, xs)]))
        anchors.append(("torch-per-graph-loop-csr",
                        lambda: [g @ f for g, f in zip(per_csr, xs)]))
        anchors.append(("torch-blockdiag", lambda: torch.sparse.mm(block_coo, x)))
        anchors.append(("torch-blockdiag-csr", lambda: block_csr @ x))
    return run_anchors("W8", 2.0 * nnz * 128, anchors, reference)


# ---- Matrix Market I/O: W6 (read) and W9 (write) of the W3 file ------------------------------

def canonical(m):
    """A scipy matrix as canonical CSR (sorted, duplicates summed), float64."""
    c = sp.csr_matrix(m, dtype=np.float64)
    c.sum_duplicates()
    c.sort_indices()
    return c


def same_matrix(x, y):
    x, y = canonical(x), canonical(y)
    return (x.shape == y.shape and x.nnz == y.nnz and np.array_equal(x.indptr, y.indptr)
            and np.array_equal(x.indices, y.indices) and np.array_equal(x.data, y.data))


def io_record(wid, nbytes, anchors):
    return {"workload": wid, "precision": "fp64", "threads": ARGS.threads, "reps": ARGS.reps,
            "bytes": nbytes, "file": ARGS.mtx, "anchors": anchors}


def timed_io(name, fn, nbytes_of, check):
    entry = {"name": name}
    try:
        seconds, out = best_of(fn)
        nbytes = nbytes_of()
        entry.update(seconds=seconds, bytes=nbytes, mb_per_s=nbytes / seconds * 1e-6)
        entry["correct"] = bool(check(out))
    except Exception as e:
        entry["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    return entry


def w6():
    path = ARGS.mtx
    nbytes = os.path.getsize(path)
    anchors = []
    if sp is None:
        return io_record("W6", nbytes, anchors)
    # The oracle: scipy's reader, once, untimed; each timed reader must give the same matrix.
    want = scipy.io.mmread(path)
    size = lambda: nbytes  # noqa: E731
    if fmm is not None:
        anchors.append(timed_io(
            "fmm.read_coo", lambda: fmm.read_coo(path, parallelism=ARGS.threads), size,
            lambda out: same_matrix(sp.coo_matrix(out[0], shape=out[1]), want)))
        anchors.append(timed_io(
            "fmm.mmread-csr", lambda: fmm.mmread(path).tocsr(), size,
            lambda out: same_matrix(out, want)))
    anchors.append(timed_io("scipy.io.mmread", lambda: scipy.io.mmread(path), size,
                            lambda out: same_matrix(out, want)))
    return io_record("W6", nbytes, anchors)


def w9():
    # The matrix of the W3 file, written with 17 significant digits as spbmm's W9 writes it.
    if sp is None:
        return io_record("W9", os.path.getsize(ARGS.mtx), [])
    a = scipy.io.mmread(ARGS.mtx).tocoo()
    tmp = tempfile.mkdtemp(prefix="spbmm_anchors_")
    anchors = []
    try:
        out = os.path.join(tmp, "w9.mtx")
        size = lambda: os.path.getsize(out)  # noqa: E731
        read_back = lambda _: same_matrix(scipy.io.mmread(out), a)  # noqa: E731
        if fmm is not None:
            anchors.append(timed_io("fmm.mmwrite",
                                    lambda: fmm.mmwrite(out, a, precision=17,
                                                        parallelism=ARGS.threads),
                                    size, read_back))
        anchors.append(timed_io("scipy.io.mmwrite",
                                lambda: scipy.io.mmwrite(out, a, precision=17), size, read_back))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return io_record("W9", os.path.getsize(ARGS.mtx), anchors)


RUNNERS = {
    "W1": lambda: dense_uniform("W1", 64, 256, 256, 256),
    "W2": lambda: dense_uniform("W2", 20000, 16, 16, 16),
    "W3": w3,
    "W4": w4,
    "W5": w5,
    "W6": w6,
    "W8": w8,
    "W9": w9,
}


def versions():
    v = {"numpy": np.__version__}
    if torch is not None:
        v["torch"] = torch.__version__
    if scipy is not None:
        v["scipy"] = scipy.__version__
    if fmm is not None:
        try:
            import importlib.metadata
            v["fast_matrix_market"] = importlib.metadata.version("fast_matrix_market")
        except Exception:  # a source build without metadata
            v["fast_matrix_market"] = getattr(fmm, "__version__", "?")
    return v


def main():
    if ARGS.json:
        print(json.dumps({"kind": "versions", "versions": versions(),
                          "python": sys.version.split()[0]}), flush=True)
    else:
        print("anchors.py: %s (%d threads); best of %d runs after a warm-up"
              % (", ".join("%s %s" % kv for kv in versions().items()), ARGS.threads, ARGS.reps))
        print("%-4s %-5s %-26s %11s %13s %10s" % ("id", "prec", "anchor", "ms", "GFLOP/s|MB/s",
                                                  "max err"))
    failed = False
    for wid in ARGS.ids:
        r = RUNNERS[wid]()
        failed = failed or any(e.get("correct") is False for e in r["anchors"])
        if ARGS.json:
            print(json.dumps(r), flush=True)
            continue
        if not r["anchors"]:
            print("%-4s %-5s %-26s (no library for it is installed)" % (wid, r["precision"], "-"))
        for e in r["anchors"]:
            if "error" in e:
                print("%-4s %-5s %-26s failed: %s" % (wid, r["precision"], e["name"], e["error"]))
                continue
            rate = e["mb_per_s"] if "mb_per_s" in e else e["gflops"]
            err = "%.2e" % e["max_rel_error"] if "max_rel_error" in e else \
                ("same" if e["correct"] else "DIFFERS")
            print("%-4s %-5s %-26s %11.3f %13.2f %10s%s" % (
                wid, r["precision"], e["name"], e["seconds"] * 1e3, rate, err,
                "" if e["correct"] else "  WRONG"), flush=True)
    if failed:
        print("anchors.py: a result differs from the float64 reference", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
