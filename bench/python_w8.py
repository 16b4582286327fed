#!/usr/bin/env python3
"""W8 (GNN mini-batch: 512 graphs of 50..2000 nodes, degree 8, N = 128, fp32) from Python.

Times spbmm.bmm and spbmm.Plan.execute on a batch generated here in NumPy with the recipe of
src/cli/bench/workloads.cpp (random_graph: n * 8 / 2 random undirected edges without self loops,
both directions stored, weights uniform in [0, 1), duplicates summed; n uniform in [50, 2000];
B uniform in [-1, 1)), statistically identical to the C++ batch but not the same graphs (a
different random generator). In the same run it takes the C++ figure of
`spbmm bench W8 --threads T` (the Plan's execute time on its own batch) and times torch 2.x:
torch.sparse.mm on the block-diagonal CSR matrix and a per-graph loop of torch.sparse.mm.

Python overhead = (Python time - C++ time) / C++ time, per nonzero of each batch (the two
batches differ by a fraction of a percent in nnz). Bar: <= 10% for Plan.execute.

Run it alone (with nothing else running):
    python3 bench/python_w8.py --spbmm build/src/cli/spbmm --threads 2 --reps 10
with PYTHONPATH pointing at the package (build/python, or an installed spbmm).
"""

import argparse
import datetime
import re
import statistics
import subprocess
import sys
import time

import numpy as np

import spbmm
from machine import cpu_model  # bench/, this script's folder

try:
    import scipy.sparse as sp
except ImportError:
    sp = None

try:
    import torch
except ImportError:
    torch = None

N = 128


def w8_batch(seed=8):
    """512 CSR graphs (float32 values, int32 indices) and their B_i (float32, n_i x 128)."""
    rng = np.random.default_rng(seed)
    A, B = [], []
    for _ in range(512):
        n = int(rng.integers(50, 2001))
        m = n * 8 // 2
        a = rng.integers(0, n, m)
        b = rng.integers(0, n - 1, m)
        b += b >= a  # uniform over the other n - 1 nodes: no self loops
        w = rng.random(m).astype(np.float32)
        g = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([a, b]),
                                                     np.concatenate([b, a]))),
                          shape=(n, n)).tocsr()
        g.sum_duplicates()
        g.indptr = g.indptr.astype(np.int32)
        g.indices = g.indices.astype(np.int32)
        A.append(g)
        B.append(rng.uniform(-1, 1, (n, N)).astype(np.float32))
    return A, B


def best_and_median(f, reps):
    f()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3, statistics.median(times) * 1e3


def cpp_w8(cli, threads, reps):
    """(ms, line) of `spbmm bench W8`: the spbmm time of its W8 row."""
    cmd = [cli, "bench", "W8", "--threads", str(threads), "--reps", str(reps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*W8\s+fp32\s+([0-9.]+)", line)
        if m:
            return float(m.group(1)), " ".join(cmd), line.strip()
    raise RuntimeError(f"no W8 row in the output of {' '.join(cmd)}:\n{out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--spbmm", default="build/src/cli/spbmm",
                   help="the spbmm command line (for the C++ figure); '' to skip it")
    p.add_argument("--cpp-nnz", type=int, default=0,
                   help="total nnz of the C++ W8 batch (to scale the overhead per nonzero)")
    args = p.parse_args()
    if sp is None:
        sys.exit("python_w8.py needs SciPy (to build the graphs)")

    A, B = w8_batch()
    nnz = sum(a.nnz for a in A)
    rows = sum(a.shape[0] for a in A)
    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
    print(f"CPU: {cpu_model()}; spbmm {spbmm.__version__}; numpy {np.__version__}; "
          f"torch {torch.__version__ if torch is not None else 'absent'}")
    print(f"W8 from Python: 512 graphs, {rows} nodes, {nnz} nnz, N = {N}, fp32, "
          f"{args.threads} threads, best (median) of {args.reps} after a warm-up")

    first_cpp = cpp_w8(args.spbmm, args.threads, args.reps) if args.spbmm else None
    out = [np.empty((a.shape[0], N), dtype=np.float32) for a in A]
    plan = spbmm.Plan(A, N, threads=args.threads)
    rows_out = []

    # Correctness first: one entry in three against SciPy.
    got = plan.execute(B)
    err = max(float(np.abs(got[i] - A[i] @ B[i]).max()) for i in range(0, 512, 3))
    assert err < 1e-3, err

    # B and C as views of one stacked feature matrix each (the layout of the C++ bench, whose
    # B_i and C_i lie back to back, and of a PyG-style batch).
    offsets = np.cumsum([0] + [a.shape[0] for a in A])
    b_stack = np.concatenate(B)
    c_stack = np.empty_like(b_stack)
    B_views = [b_stack[offsets[i]:offsets[i + 1]] for i in range(512)]
    C_views = [c_stack[offsets[i]:offsets[i + 1]] for i in range(512)]
    # The same, 64-byte aligned (the library's own buffers are; NumPy's large arrays start 16
    # bytes into a page, so every 512-byte row of B and C straddles one more cache line).
    b_al = spbmm.empty(b_stack.shape)
    b_al[...] = b_stack
    c_al = spbmm.empty(b_stack.shape)
    B_al = [b_al[offsets[i]:offsets[i + 1]] for i in range(512)]
    C_al = [c_al[offsets[i]:offsets[i + 1]] for i in range(512)]
    # Which of the two matters: only B aligned, only C aligned (streaming stores need C's rows
    # on line boundaries; B's loads straddle one more line per row when B's rows are not).
    B_sep_al = [spbmm.empty(b.shape) for b in B]
    for x, b in zip(B_sep_al, B):
        x[...] = b
    C_sep_al = [spbmm.empty(o.shape) for o in out]
    # The call's own cost: the same 512 entries with B_i of no columns (nothing to multiply).
    B_empty = [np.empty((a.shape[0], 0), dtype=np.float32) for a in A]
    C_empty = [np.empty((a.shape[0], 0), dtype=np.float32) for a in A]

    t_plan = best_and_median(lambda: plan.execute(B, out), args.reps)
    t_stack = best_and_median(lambda: plan.execute(B_views, C_views), args.reps)
    t_al = best_and_median(lambda: plan.execute(B_al, C_al), args.reps)
    t_b_al = best_and_median(lambda: plan.execute(B_sep_al, out), args.reps)
    t_c_al = best_and_median(lambda: plan.execute(B, C_sep_al), args.reps)
    t_both_al = best_and_median(lambda: plan.execute(B_sep_al, C_sep_al), args.reps)
    t_call = best_and_median(lambda: plan.execute(B_empty, C_empty), args.reps)
    t_plan_new = best_and_median(lambda: plan.execute(B), args.reps)
    t_bmm = best_and_median(lambda: spbmm.bmm(A, B, out=out, threads=args.threads), args.reps)
    t_make = best_and_median(lambda: spbmm.Plan(A, N, threads=args.threads), args.reps)
    rows_out += [("spbmm.Plan.execute(B, out)", t_plan),
                 ("  B, out: views of one stacked array each", t_stack),
                 ("  B, out: the same, 64-byte aligned", t_al),
                 ("  separate arrays, B_i by spbmm.empty", t_b_al),
                 ("  separate arrays, out_i by spbmm.empty", t_c_al),
                 ("  separate arrays, both by spbmm.empty", t_both_al),
                 ("  B_i with no columns (the call's own cost)", t_call),
                 ("spbmm.Plan.execute(B) (allocates C)", t_plan_new),
                 ("spbmm.bmm(A, B, out) (plans every call)", t_bmm),
                 ("spbmm.Plan(A, 128) (making the plan)", t_make)]

    if torch is not None:
        torch.set_num_threads(args.threads)
        ta = [torch.sparse_csr_tensor(torch.from_numpy(a.indptr.astype(np.int64)),
                                      torch.from_numpy(a.indices.astype(np.int64)),
                                      torch.from_numpy(a.data), a.shape) for a in A]
        tb = [torch.from_numpy(b) for b in B]
        blk = sp.block_diag(A, format="csr")
        tblk = torch.sparse_csr_tensor(torch.from_numpy(blk.indptr.astype(np.int64)),
                                       torch.from_numpy(blk.indices.astype(np.int64)),
                                       torch.from_numpy(blk.data.astype(np.float32)), blk.shape)
        tstack = torch.from_numpy(np.concatenate(B))
        ref = torch.sparse.mm(tblk, tstack)
        assert float((ref[:A[0].shape[0]] - torch.from_numpy(got[0])).abs().max()) < 1e-3
        t_blk = best_and_median(lambda: torch.sparse.mm(tblk, tstack), args.reps)
        t_loop = best_and_median(lambda: [torch.sparse.mm(a, b) for a, b in zip(ta, tb)],
                                 args.reps)
        rows_out += [("torch.sparse.mm block-diagonal CSR", t_blk),
                     ("torch.sparse.mm per-graph loop (CSR)", t_loop)]

    cpp = None
    if args.spbmm:
        # Run before and after the Python timings; the better of the two.
        cpp_ms, cmd, line = min(first_cpp, cpp_w8(args.spbmm, args.threads, args.reps))
        print(f"C++: {cmd} (run before and after the Python timings, the better kept)\n"
              f"     {first_cpp[2]}\n     {line if line != first_cpp[2] else ''}")
        cpp = cpp_ms
        if args.cpp_nnz:
            cpp = cpp_ms * nnz / args.cpp_nnz  # the same work per nonzero as this batch
        rows_out.append(("C++ spbmm bench W8 (Plan::execute)" +
                         (", scaled to this nnz" if args.cpp_nnz else ""), (cpp, cpp)))

    print(f"\n{'':46s} {'best ms':>9s} {'median ms':>10s} {'vs C++':>9s} {'spbmm x':>8s}")
    for name, (best, med) in rows_out:
        vs = f"{(best - cpp) / cpp * 100:+8.1f}%" if cpp else ""
        speed = f"{best / t_plan[0]:7.2f}x" if name.startswith("torch") else ""
        print(f"{name:46s} {best:9.3f} {med:10.3f} {vs:>9s} {speed:>8s}")
    if cpp:
        for name, t in (("Plan.execute(B, out), separate arrays", t_plan[0]),
                        ("Plan.execute(B, out), stacked views", t_stack[0]),
                        ("Plan.execute(B, out), stacked aligned views", t_al[0]),
                        ("Plan.execute(B, out), separate spbmm.empty arrays", t_both_al[0])):
            overhead = (t - cpp) / cpp * 100
            verdict = "meets" if overhead <= 10 else "misses"
            print(f"Python time - C++ time, {name}: {overhead:+.1f}% of the C++ time "
                  f"({verdict} the 10% bar)")
        print(f"the call's own cost (512 entries, no columns): {t_call[0] / cpp * 100:.1f}% of "
              "the C++ time")


if __name__ == "__main__":
    main()
