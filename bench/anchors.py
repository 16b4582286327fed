#!/usr/bin/env python3
"""Times the torch and scipy anchors of bench/WORKLOADS.md (W1-W5, W8) on this machine.

The workloads are regenerated here in numpy with the same parameters as the C++ generators in
bench/common/workloads.cpp (same shapes, densities, degree, R-MAT quadrant probabilities, value
ranges and duplicate handling), but with numpy's random streams: the matrices are statistically
identical to the ones `spbmm bench` measures, not bit-identical. Compare ratios with figures of
`spbmm bench` taken on the same machine at the same time.

Anchors (as WORKLOADS.md names them):
  W1, W2  torch.bmm on dense [batch, M, K] @ [batch, K, N]
  W3      torch CSR matmul (torch.sparse_csr_tensor @ dense) and scipy csr @ dense
  W4      torch.bmm(sparse COO 3-D, dense) and a scipy loop of csr @ dense
  W5      torch.matmul in a Python loop over the ragged entries
  W8      torch.sparse.mm on one block-diagonal COO matrix, and a Python loop of per-graph
          torch.sparse.mm products

Every figure is the best of --reps runs after one warm-up; torch runs on --threads threads
(torch.set_num_threads). Results of the anchors of one workload are compared with each other
(max relative error). Installs nothing: without numpy, or without both torch and scipy, it says
so and exits 0. Run it with the system Python (Debian's python3-torch and python3-scipy):

  /usr/bin/python3 bench/anchors.py --threads 2
  /usr/bin/python3 bench/anchors.py W1 W3 --double --json
"""

import argparse
import json
import os
import sys
import time
import warnings

WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W8"]
SEED = 20261126


def parse_args():
    p = argparse.ArgumentParser(
        description="Time the torch and scipy anchors of bench/WORKLOADS.md.",
        epilog="example: /usr/bin/python3 bench/anchors.py W3 W4 --threads 2 --reps 5")
    p.add_argument("workloads", nargs="*", metavar="W",
                   help="workloads to run: " + " ".join(WORKLOADS) + " or all (default: all)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--reps", type=int, default=5, help="timed runs after a warm-up (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per workload per line")
    p.add_argument("--double", action="store_true", help="fp64 instead of fp32")
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
    args.ids = ids
    return args


ARGS = parse_args()
# Thread pools size themselves when the libraries load, so this must precede the imports.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))

try:
    import numpy as np
except ImportError:
    print("anchors.py: numpy is not installed; nothing to measure (install python3-numpy)")
    sys.exit(0)
try:
    import torch
except ImportError:
    torch = None
try:
    import scipy
    import scipy.sparse as sp
except ImportError:
    scipy = None
    sp = None
if torch is None and scipy is None:
    print("anchors.py: neither torch nor scipy is installed; nothing to measure "
          "(install python3-torch and python3-scipy)")
    sys.exit(0)
if torch is not None:
    torch.set_num_threads(ARGS.threads)
    # torch 1.13 warns that sparse CSR is beta on every construction.
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")

DTYPE = np.float64 if ARGS.double else np.float32
TDTYPE = None if torch is None else (torch.float64 if ARGS.double else torch.float32)


# ---- generators: the parameters of bench/common/workloads.cpp -------------------------------

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
    return float(np.max(np.abs(g - w) / np.maximum(1.0, np.abs(w))))


def run_anchors(wid, flops, anchors):
    result = {"workload": wid, "precision": "fp64" if ARGS.double else "fp32",
              "threads": ARGS.threads, "reps": ARGS.reps, "flops": flops, "anchors": []}
    first = None
    for name, fn in anchors:
        entry = {"name": name}
        try:
            seconds, out = best_of(fn)
            entry["seconds"] = seconds
            entry["gflops"] = flops / seconds * 1e-9
            if first is None:
                first = out
            else:
                entry["max_rel_error"] = max_rel_error(out, first)
        except Exception as e:  # an anchor a library build cannot run is reported, not fatal
            entry["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        result["anchors"].append(entry)
    return result


# ---- workloads ------------------------------------------------------------------------------

def dense_uniform(wid, batch, m, k, n):
    rng = np.random.default_rng(SEED)
    a, b = uniform(rng, (batch, m, k)), uniform(rng, (batch, k, n))
    anchors = []
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        anchors.append(("torch.bmm", lambda: torch.bmm(ta, tb)))
    return run_anchors(wid, 2.0 * batch * m * k * n, anchors)


def w3():
    rng = np.random.default_rng(SEED)
    a = rmat(rng)
    b = uniform(rng, (a.cols, 64))
    anchors = []
    if torch is not None:
        ta = torch.sparse_csr_tensor(torch.from_numpy(a.indptr), torch.from_numpy(a.indices),
                                     torch.from_numpy(a.data), size=(a.rows, a.cols))
        tb = torch.from_numpy(b)
        anchors.append(("torch-csr", lambda: ta @ tb))
    if sp is not None:
        sa = a.scipy()
        anchors.append(("scipy-csr", lambda: sa @ b))
    return run_anchors("W3", 2.0 * a.nnz * 64, anchors)


def w4():
    rng = np.random.default_rng(SEED)
    mats = [random_uniform_csr(rng, 4096, 4096, 0.002) for _ in range(32)]
    b = uniform(rng, (32, 4096, 64))
    nnz = sum(m.nnz for m in mats)
    anchors = []
    if torch is not None:
        idx = np.concatenate([np.stack([np.full(m.nnz, i, dtype=np.int64), m.row_index(),
                                        m.indices]) for i, m in enumerate(mats)], axis=1)
        vals = np.concatenate([m.data for m in mats])
        ta = torch.sparse_coo_tensor(torch.from_numpy(idx), torch.from_numpy(vals),
                                     size=(32, 4096, 4096)).coalesce()
        tb = torch.from_numpy(b)
        anchors.append(("torch.bmm(sparse)", lambda: torch.bmm(ta, tb)))
    if sp is not None:
        sa = [m.scipy() for m in mats]
        anchors.append(("scipy-loop", lambda: [sa[i] @ b[i] for i in range(32)]))
    return run_anchors("W4", 2.0 * nnz * 64, anchors)


def w5():
    rng = np.random.default_rng(SEED)
    dims = rng.integers(8, 129, size=(2000, 3))
    a = [uniform(rng, (m, k)) for m, k, _ in dims]
    b = [uniform(rng, (k, n)) for _, k, n in dims]
    flops = float(sum(2.0 * m * k * n for m, k, n in dims))
    anchors = []
    if torch is not None:
        ta = [torch.from_numpy(x) for x in a]
        tb = [torch.from_numpy(x) for x in b]
        anchors.append(("torch.matmul-loop",
                        lambda: [torch.matmul(x, y) for x, y in zip(ta, tb)]))
    return run_anchors("W5", flops, anchors)


def w8():
    rng = np.random.default_rng(SEED)
    sizes = rng.integers(50, 2001, size=512)
    graphs = [random_graph(rng, int(n), 8.0) for n in sizes]
    feats = [uniform(rng, (g.rows, 128)) for g in graphs]
    nnz = sum(g.nnz for g in graphs)
    anchors = []
    if torch is not None:
        offsets = np.concatenate([[0], np.cumsum([g.rows for g in graphs])])
        total = int(offsets[-1])
        rows = np.concatenate([g.row_index() + o for g, o in zip(graphs, offsets)])
        cols = np.concatenate([g.indices + o for g, o in zip(graphs, offsets)])
        vals = np.concatenate([g.data for g in graphs])
        block = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols])),
                                        torch.from_numpy(vals), size=(total, total)).coalesce()
        x = torch.from_numpy(np.concatenate(feats))
        per = [torch.sparse_coo_tensor(torch.from_numpy(np.stack([g.row_index(), g.indices])),
                                       torch.from_numpy(g.data), size=(g.rows, g.cols)).coalesce()
               for g in graphs]
        xs = [torch.from_numpy(f) for f in feats]
        anchors.append(("torch-blockdiag", lambda: torch.sparse.mm(block, x)))
        anchors.append(("torch-per-graph-loop",
                        lambda: [torch.sparse.mm(g, f) for g, f in zip(per, xs)]))
    return run_anchors("W8", 2.0 * nnz * 128, anchors)


RUNNERS = {
    "W1": lambda: dense_uniform("W1", 64, 256, 256, 256),
    "W2": lambda: dense_uniform("W2", 20000, 16, 16, 16),
    "W3": w3,
    "W4": w4,
    "W5": w5,
    "W8": w8,
}


def main():
    if not ARGS.json:
        libs = []
        if torch is not None:
            libs.append("torch %s (%d threads)" % (torch.__version__, torch.get_num_threads()))
        if scipy is not None:
            libs.append("scipy %s" % scipy.__version__)
        print("anchors.py: %s; numpy %s; best of %d runs after a warm-up"
              % (", ".join(libs), np.__version__, ARGS.reps))
        print("%-4s %-5s %-22s %11s %9s %10s" % ("id", "prec", "anchor", "ms", "GFLOP/s",
                                                 "max err"))
    for wid in ARGS.ids:
        r = RUNNERS[wid]()
        if ARGS.json:
            print(json.dumps(r), flush=True)
            continue
        if not r["anchors"]:
            print("%-4s %-5s %-22s (torch is not installed)" % (wid, r["precision"], "-"))
        for e in r["anchors"]:
            if "error" in e:
                print("%-4s %-5s %-22s failed: %s" % (wid, r["precision"], e["name"], e["error"]))
                continue
            err = "%.2e" % e["max_rel_error"] if "max_rel_error" in e else "-"
            print("%-4s %-5s %-22s %11.3f %9.2f %10s" % (wid, r["precision"], e["name"],
                                                         e["seconds"] * 1e3, e["gflops"], err),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
