#!/usr/bin/env python3
"""The torch 2.x anchor of W11 (one GCN training step on the W8 graphs, N = 128), on spbmm's data.

`bench_w11 --dump DIR` writes the W8 graphs as one block-diagonal CSR (global row pointers and
columns, node offsets per graph), X, W, R and spbmm's gradients of the first step; this script
loads them, runs the same step with autograd

    Z = X @ W;  H = torch.sparse.mm(A, Z);  loss = (H * R).sum();  loss.backward()
    A.values -= lr * dA        (SGD on A's values, as bench_w11 does)

with A's values, X and W requiring grad, and times it as bench_w11 does (torch.set_num_threads,
best of --reps after one warm-up). A is a leaf sparse tensor that requires grad (see make_variant
for why not a tensor built from a values tensor, nor COO, for the whole batch). Variants: csr, the
block-diagonal A as one sparse CSR; loop-csr and loop-coo, a Python loop of per-graph products,
with one X @ W over all nodes; the fastest of those run is the anchor. The warm-up step of every
variant runs on A's initial values, and its dX, dW and dA are checked against spbmm's (relative
error printed; exit status 1 when any is off). The last lines give torch / spbmm for the step,
with spbmm's time read from the dump's manifest: run the two back to back, in the same run, e.g.

  sh -c 'build/bench/dispatch/bench_w11 --threads 2 --reps 10 --dump /tmp/w11 &&
                     bench/.venv/bin/python bench/anchors_w11.py /tmp/w11 --threads 2 --reps 10'
"""

import argparse
import json
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description="Time torch 2.x on W11 with bench_w11's dumped data "
                                "and check its gradients against spbmm's.")
    p.add_argument("dump", help="the folder bench_w11 --dump wrote")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--reps", type=int, default=10, help="timed steps after a warm-up (default 10)")
    p.add_argument("--variants", default="csr,loop-csr",
                   help="comma-separated subset of csr (block-diagonal), loop-csr, loop-coo "
                   "(per-graph loops; loop-coo forms a dense gradient per graph) "
                   "(default csr,loop-csr)")
    p.add_argument("--no-parts", action="store_true",
                   help="skip timing torch's products one by one")
    p.add_argument("--rtol", type=float, default=1e-4,
                   help="largest relative error (norm-wise and max-abs) accepted (default 1e-4)")
    args = p.parse_args()
    if args.threads < 1 or args.reps < 1:
        p.error("--threads and --reps must be at least 1")
    args.variants = [v for v in args.variants.split(",") if v]
    for v in args.variants:
        if v not in ("csr", "loop-coo", "loop-csr"):
            p.error("unknown variant '%s'" % v)
    if not os.path.isfile(os.path.join(args.dump, "manifest.json")):
        p.error("%s has no manifest.json (run bench_w11 --dump %s first)" % (args.dump, args.dump))
    return args


ARGS = parse_args()
# Thread pools size themselves when the libraries load, so this must precede the imports.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["MKL_NUM_THREADS"] = str(ARGS.threads)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
warnings.filterwarnings("ignore", message=".*Sparse invariant checks are implicitly disabled.*")

LEARNING_RATE = 1e-3  # the same SGD step on A's values as bench_w11


def load(dump):
    with open(os.path.join(dump, "manifest.json")) as f:
        m = json.load(f)
    if m.get("workload") != "W11" or m.get("byte_order") != "little":
        sys.exit("anchors_w11: %s is not a little-endian W11 dump" % dump)
    n, nnz, k, g = m["total_nodes"], m["total_nnz"], m["features"], m["graphs"]

    def arr(name, dtype, count):
        a = np.fromfile(os.path.join(dump, name), dtype=np.dtype(dtype).newbyteorder("<"))
        if a.size != count:
            sys.exit("anchors_w11: %s holds %d values, the manifest says %d" % (name, a.size, count))
        return a

    d = {
        "m": m,
        "node_offsets": arr("node_offsets.i64", np.int64, g + 1),
        "nnz_offsets": arr("nnz_offsets.i64", np.int64, g + 1),
        "row_ptr": arr("row_ptr.i64", np.int64, n + 1),
        "col_idx": arr("col_idx.i32", np.int32, nnz),
        "values": arr("values.f32", np.float32, nnz),
        "x": arr("x.f32", np.float32, n * k).reshape(n, k),
        "w": arr("w.f32", np.float32, k * k).reshape(k, k),
        "r": arr("r.f32", np.float32, n * k).reshape(n, k),
        "dx": arr("dx.f32", np.float32, n * k).reshape(n, k),
        "dw": arr("dw.f32", np.float32, k * k).reshape(k, k),
        "da": arr("da.f32", np.float32, nnz),
    }
    if d["row_ptr"][0] != 0 or d["row_ptr"][-1] != nnz or np.any(np.diff(d["row_ptr"]) < 0):
        sys.exit("anchors_w11: row_ptr.i64 is not a CSR row pointer array")
    return d


def rel_errors(got, want):
    got = got.astype(np.float64)
    want = want.astype(np.float64)
    diff = got - want
    norm = np.linalg.norm(diff) / max(np.linalg.norm(want), 1e-300)
    maxabs = np.max(np.abs(diff)) / max(np.max(np.abs(want)), 1e-300)
    return norm, maxabs


def make_variant(name, d):
    """Returns (state, step): step(state) runs one training step, returns (forward s, total s).

    A is a leaf sparse tensor with requires_grad (its values are the parameter): for a CSR leaf,
    torch 2.x computes the gradient of A with sparse_sampled_addmm, on A's pattern. A sparse
    tensor built inside the step from a values tensor that requires grad (COO or CSR), and a COO
    leaf, get a dense rows x cols gradient first (grad @ Z^T, then masked): for the block-diagonal
    W8 graph that is 503232^2 floats, about 1 TB, so those run only per graph (loop-coo).
    """
    n, k = d["x"].shape
    cols = d["col_idx"].astype(np.int64)
    st = {
        "x": torch.from_numpy(d["x"].copy()).requires_grad_(True),
        "w": torch.from_numpy(d["w"].copy()).requires_grad_(True),
        "r": torch.from_numpy(d["r"]),
    }
    no, zo = d["node_offsets"], d["nnz_offsets"]
    if name == "csr":
        # One block-diagonal CSR over all nodes (global row pointers and columns).
        st["a"] = [torch.sparse_csr_tensor(torch.from_numpy(d["row_ptr"]), torch.from_numpy(cols),
                                           torch.from_numpy(d["values"].copy()),
                                           (n, n)).requires_grad_(True)]

        def forward(s):
            h = torch.sparse.mm(s["a"][0], s["x"] @ s["w"])
            return (h * s["r"]).sum()
    else:
        # A Python loop of per-graph products; X @ W stays one product over all nodes.
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(d["row_ptr"]))
        st["a"], sizes = [], []
        for g in range(len(no) - 1):
            n0, n1, z0, z1 = int(no[g]), int(no[g + 1]), int(zo[g]), int(zo[g + 1])
            v = torch.from_numpy(d["values"][z0:z1].copy())
            if name == "loop-coo":
                idx = torch.from_numpy(np.stack([rows[z0:z1] - n0, cols[z0:z1] - n0]))
                a = torch.sparse_coo_tensor(idx, v, (n1 - n0, n1 - n0), is_coalesced=True)
            else:
                a = torch.sparse_csr_tensor(torch.from_numpy(d["row_ptr"][n0:n1 + 1] - z0),
                                            torch.from_numpy(cols[z0:z1] - n0), v,
                                            (n1 - n0, n1 - n0))
            st["a"].append(a.requires_grad_(True))
            sizes.append(n1 - n0)
        st["r_parts"] = torch.split(st["r"], sizes)

        def forward(s):
            # torch.split, not slices: the backward of each slice of Z would zero-fill a gradient
            # of Z's full size (512 times 257 MB); split's backward concatenates once.
            zs = torch.split(s["x"] @ s["w"], sizes)
            loss = 0
            for a, z, r in zip(s["a"], zs, s["r_parts"]):
                loss = loss + (torch.sparse.mm(a, z) * r).sum()
            return loss

    def step(s):
        for t in s["a"] + [s["x"], s["w"]]:
            t.grad = None
        t0 = time.perf_counter()
        loss = forward(s)
        t1 = time.perf_counter()
        loss.backward()
        with torch.no_grad():
            for a in s["a"]:
                if a.layout == torch.sparse_coo:
                    a._values().sub_(LEARNING_RATE * a.grad.coalesce()._values())
                else:
                    a.values().sub_(LEARNING_RATE * a.grad.values())
        t2 = time.perf_counter()
        s["loss"] = float(loss.detach())
        return t1 - t0, t2 - t0

    def grad_a(s):
        """dA's values in the dump's order (CSR order of the block-diagonal matrix)."""
        parts = []
        for a in s["a"]:
            g = a.grad
            if g.layout == torch.sparse_coo:
                g = g.coalesce()
                same = torch.equal(g.indices(), a.detach().indices())
            else:
                same = (torch.equal(g.crow_indices(), a.crow_indices())
                        and torch.equal(g.col_indices(), a.col_indices()))
            if not same:
                sys.exit("anchors_w11: torch's gradient of A does not have A's pattern")
            parts.append(g.values().numpy())
        return np.concatenate(parts)

    st["grad_a"] = grad_a
    return st, step


def print_torch_parts(d):
    """Times the products of torch's step one by one, outside autograd (best of --reps), next to
    spbmm's parts from the manifest: where the two spend the step."""
    n, k = d["x"].shape
    x, w, r = (torch.from_numpy(d[key]) for key in ("x", "w", "r"))
    a = torch.sparse_csr_tensor(torch.from_numpy(d["row_ptr"]),
                                torch.from_numpy(d["col_idx"].astype(np.int64)),
                                torch.from_numpy(d["values"]), (n, n))
    at = a.t().to_sparse_csr()  # made once, outside the timing
    zero_a = torch.sparse_csr_tensor(a.crow_indices(), a.col_indices(),
                                     torch.zeros_like(a.values()), (n, n))
    z = x @ w
    h = torch.sparse.mm(a, z)
    dz = torch.sparse.mm(at, r)
    parts = [
        ("Z = X @ W", lambda: x @ w),
        ("H = sparse.mm(A, Z), CSR", lambda: torch.sparse.mm(a, z)),
        ("loss = (H * R).sum()", lambda: (h * r).sum()),
        ("dZ = sparse.mm(A^T, R), CSR", lambda: torch.sparse.mm(at, r)),
        ("dW = X^T @ dZ", lambda: x.t() @ dz),
        ("dX = dZ @ W^T", lambda: dz @ w.t()),
        ("dA = sampled_addmm(A, R, Z^T)",
         lambda: torch.sparse.sampled_addmm(zero_a, r, z.t(), beta=0.0)),
    ]
    spbmm_parts = list(d["m"].get("spbmm_parts_ms", {}).items())
    print("torch's products one by one (no autograd, A^T made outside the timing), best of %d; "
          "spbmm's parts of its best step:" % ARGS.reps)
    for label, f in parts:
        with torch.no_grad():
            f()
            best = float("inf")
            for _ in range(ARGS.reps):
                t0 = time.perf_counter()
                f()
                best = min(best, time.perf_counter() - t0)
        print("  %-32s %9.3f ms" % (label, best * 1e3))
    for label, ms in spbmm_parts:
        print("  spbmm %-26s %9.3f ms" % (label, ms))


def main():
    torch.set_num_threads(ARGS.threads)
    d = load(ARGS.dump)
    m = d["m"]
    spbmm_ms = m["spbmm_step_ms"]
    print("W11 torch anchor: torch %s, numpy %s, %d threads, best of %d after a warm-up; "
          "%d graphs, %d nodes, %d nnz, N = %d" %
          (torch.__version__, np.__version__, torch.get_num_threads(), ARGS.reps, m["graphs"],
           m["total_nodes"], m["total_nnz"], m["features"]))
    failed = False
    results = {}
    for name in ARGS.variants:
        st, step = make_variant(name, d)
        step(st)  # warm-up, on A's initial values: its gradients are checked
        errs = {
            "dX": rel_errors(st["x"].grad.numpy(), d["dx"]),
            "dW": rel_errors(st["w"].grad.numpy(), d["dw"]),
            "dA": rel_errors(st["grad_a"](st), d["da"]),
        }
        loss_err = abs(st["loss"] - m["loss"]) / max(abs(m["loss"]), 1e-300)
        ok = all(e[0] <= ARGS.rtol and e[1] <= ARGS.rtol for e in errs.values())
        ok = ok and loss_err <= ARGS.rtol
        best, best_fwd = float("inf"), float("inf")
        for _ in range(ARGS.reps):
            fwd, total = step(st)
            if total < best:
                best, best_fwd = total, fwd
        results[name] = best
        print("%-9s step %9.3f ms (forward %8.3f, backward + update %8.3f)  torch/spbmm %6.2f" %
              (name, best * 1e3, best_fwd * 1e3, (best - best_fwd) * 1e3, best * 1e3 / spbmm_ms))
        print("          against spbmm: %s; loss %.2e  %s" %
              (", ".join("%s %.2e (max %.2e)" % (k, e[0], e[1]) for k, e in errs.items()),
               loss_err, "OK" if ok else "MISMATCH"))
        if not ok:
            failed = True
        del st, step
    if not ARGS.no_parts:
        print_torch_parts(d)
    fastest = min(results, key=results.get)
    ratio = results[fastest] * 1e3 / spbmm_ms
    print("spbmm step (from the dump's manifest): %.3f ms" % spbmm_ms)
    print("anchor: torch %s, fastest variant %s, %.3f ms; torch / spbmm = %.2f (bar >= 3: %s)" %
          (torch.__version__, fastest, results[fastest] * 1e3, ratio,
           "met" if ratio >= 3 else "not met"))
    if failed:
        print("anchors_w11: FAILED: torch's gradients differ from spbmm's beyond --rtol %g" %
              ARGS.rtol, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
