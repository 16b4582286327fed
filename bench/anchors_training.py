#!/usr/bin/env python3
"""Times the torch anchors of the training workloads W10 and W12 (bench/WORKLOADS.md) against
spbmm in the same run, on the very same matrices, and checks torch's results against spbmm's.

It runs `spbmm bench W10 W12 --json` with SPBMM_BENCH_DUMP set to a temporary directory, so
that spbmm writes each workload's operands and its own result there, then loads them with numpy
and times torch on them:
  W10  torch.sparse.sampled_addmm (beta = 0): on the block-diagonal CSR of the 512 graphs (one
       call), and in a Python loop of one call per graph. Batched (3-D) CSR is not an option:
       torch requires one nnz for every batch entry and the W8 graphs differ.
  W12  torch.sparse.mm(A, B, reduce="amax") with A in CSR.
Each figure is the best of --reps runs after one warm-up; torch runs on --threads threads.
Ratios are torch time / spbmm time (above 1: spbmm is faster). Needs torch 2.x and numpy:

  bench/.venv/bin/python bench/anchors_training.py --spbmm build/src/cli/spbmm --threads 2
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

WORKLOADS = ["W10", "W12"]
BARS = {"W10": 3.0, "W12": 2.0}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="example: python bench/anchors_training.py --spbmm "
                                       "build/src/cli/spbmm --threads 2 --reps 5")
    p.add_argument("workloads", nargs="*", metavar="W", help="W10 and/or W12 (default: both)")
    p.add_argument("--spbmm", default="build/src/cli/spbmm", help="the spbmm command")
    p.add_argument("--threads", type=int, default=2, help="threads for spbmm and torch (default 2)")
    p.add_argument("--reps", type=int, default=5, help="timed runs after a warm-up (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per workload per line")
    args = p.parse_args()
    args.ids = [w.upper() for w in args.workloads] or WORKLOADS
    for w in args.ids:
        if w not in WORKLOADS:
            p.error("unknown workload '%s' (expected W10 or W12)" % w)
    if args.threads < 1 or args.reps < 1:
        p.error("--threads and --reps must be at least 1")
    return args


ARGS = parse_args()
# Thread pools size themselves when the libraries load, so this must precede the imports.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

try:
    import numpy as np
    import torch
except ImportError as e:
    print("anchors_training.py: %s; nothing to measure (needs numpy and torch 2.x)" % e)
    sys.exit(0)


def best_of(fn):
    fn()
    best = float("inf")
    for _ in range(ARGS.reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def load(dump, manifest, workload):
    arrays = {}
    for w, name, dtype, count in manifest:
        if w == workload:
            a = np.fromfile(os.path.join(dump, "%s_%s.bin" % (w, name)), dtype=dtype)
            if a.size != int(count):
                raise SystemExit("anchors_training.py: %s_%s.bin holds %d values, not %s"
                                 % (w, name, a.size, count))
            arrays[name] = a
    return arrays


def max_rel_error(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))


def w10(a):
    shape = a["shape"].reshape(-1, 3)
    k = 128
    rows, cols, nnz = shape[:, 0], shape[:, 1], shape[:, 2]
    row_off = np.concatenate([[0], np.cumsum(rows)])
    col_off = np.concatenate([[0], np.cumsum(cols)])
    nnz_off = np.concatenate([[0], np.cumsum(nnz)])
    rp_off = np.concatenate([[0], np.cumsum(rows + 1)])
    x = torch.from_numpy(a["x"].reshape(-1, k))
    y = torch.from_numpy(a["y"].reshape(-1, k))
    col_idx = a["col_idx"].astype(np.int64)
    # The block-diagonal matrix: global row pointers, columns shifted by each graph's offset.
    crow = [np.zeros(1, dtype=np.int64)]
    cols_g = np.empty_like(col_idx)
    graphs = []
    for i in range(len(rows)):
        rp = a["row_ptr"][rp_off[i]:rp_off[i + 1]].astype(np.int64)
        crow.append(rp[1:] + nnz_off[i])
        ci = col_idx[nnz_off[i]:nnz_off[i + 1]]
        cols_g[nnz_off[i]:nnz_off[i + 1]] = ci + col_off[i]
        ones = torch.ones(int(nnz[i]), dtype=x.dtype)
        graphs.append((torch.sparse_csr_tensor(torch.from_numpy(rp), torch.from_numpy(ci.copy()),
                                               ones, size=(int(rows[i]), int(cols[i]))),
                       x[row_off[i]:row_off[i + 1]], y[col_off[i]:col_off[i + 1]].t()))
    n_rows, n_cols = int(row_off[-1]), int(col_off[-1])
    block = torch.sparse_csr_tensor(torch.from_numpy(np.concatenate(crow)),
                                    torch.from_numpy(cols_g), torch.ones(len(cols_g), dtype=x.dtype),
                                    size=(n_rows, n_cols))
    yt = y.t()
    out = {}

    def run_block():
        out["block"] = torch.sparse.sampled_addmm(block, x, yt, beta=0.0, alpha=1.0)

    def run_loop():
        out["loop"] = [torch.sparse.sampled_addmm(g, xi, yi, beta=0.0, alpha=1.0)
                       for g, xi, yi in graphs]

    anchors = []
    t = best_of(run_block)
    anchors.append(("sampled_addmm block-diagonal", t,
                    max_rel_error(out["block"].values().numpy(), a["out"])))
    t = best_of(run_loop)
    loop_vals = np.concatenate([r.values().numpy() for r in out["loop"]])
    anchors.append(("sampled_addmm per-graph loop", t, max_rel_error(loop_vals, a["out"])))
    return anchors, 1e-3


def w12(a):
    m, k, nnz, n = (int(v) for v in a["shape"])
    A = torch.sparse_csr_tensor(torch.from_numpy(a["row_ptr"].astype(np.int64)),
                                torch.from_numpy(a["col_idx"].astype(np.int64)),
                                torch.from_numpy(a["values"]), size=(m, k))
    B = torch.from_numpy(a["b"].reshape(k, n))
    out = {}

    def run():
        out["c"] = torch.sparse.mm(A, B, reduce="amax")

    t = best_of(run)
    # The maxima are single products: torch and spbmm agree exactly.
    return [("sparse.mm reduce=amax", t, max_rel_error(out["c"].numpy().ravel(), a["c"]))], 0.0


def main():
    torch.set_num_threads(ARGS.threads)
    with tempfile.TemporaryDirectory(prefix="spbmm_anchors_") as dump:
        env = dict(os.environ, SPBMM_BENCH_DUMP=dump)
        cmd = [ARGS.spbmm, "bench"] + ARGS.ids + ["--threads", str(ARGS.threads), "--reps",
                                                  str(ARGS.reps), "--json"]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit("anchors_training.py: %s failed (exit %d)" % (" ".join(cmd),
                                                                           proc.returncode))
        spbmm = {r["workload"]: r for r in map(json.loads, proc.stdout.splitlines())}
        with open(os.path.join(dump, "manifest.txt")) as f:
            manifest = [line.split() for line in f if line.strip()]
        status = 0
        if not ARGS.json:
            print("torch %s, numpy %s, %d threads, best of %d runs after a warm-up"
                  % (torch.__version__, np.__version__, ARGS.threads, ARGS.reps))
            print("%-4s %10s  %-30s %10s %8s %10s  %s" % ("id", "spbmm ms", "torch anchor",
                                                          "ms", "ratio", "max err", "bar"))
        for wid in ARGS.ids:
            arrays = load(dump, manifest, wid)
            anchors, tol = (w10 if wid == "W10" else w12)(arrays)
            mine = spbmm[wid]["spbmm_seconds"]
            best = min(t for _, t, _ in anchors)
            met = best / mine >= BARS[wid]
            ok = all(err <= tol for _, _, err in anchors)
            status |= 0 if ok else 1
            if ARGS.json:
                print(json.dumps({"workload": wid, "threads": ARGS.threads, "reps": ARGS.reps,
                                  "torch": torch.__version__, "spbmm_seconds": mine,
                                  "anchors": [{"name": nm, "seconds": t, "ratio": t / mine,
                                               "max_rel_error": e} for nm, t, e in anchors],
                                  "bar": BARS[wid], "bar_met": met, "ok": ok}))
                continue
            for i, (name, t, err) in enumerate(anchors):
                print("%-4s %10s  %-30s %10.3f %7.2fx %10.2e  %s" % (
                    wid if i == 0 else "", "%.3f" % (mine * 1e3) if i == 0 else "", name,
                    t * 1e3, t / mine, err,
                    (">= %.0fx vs best: %s" % (BARS[wid], "met" if met else "MISSED"))
                    if i == 0 else ""))
            if not ok:
                print("     CHECK FAILED: a torch result differs from spbmm's (tolerance %g)" % tol)
    return status


if __name__ == "__main__":
    sys.exit(main())
