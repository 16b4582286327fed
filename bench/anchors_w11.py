#!/usr/bin/env python3
"""The torch 2.x anchor of W11 (one GCN training step on the W8 graphs, N = 128), on spbmm's data.

`bench_w11 --dump DIR` writes the W8 graphs as one block-diagonal CSR (global row pointers and
columns, node offsets per graph), X, W, R and spbmm's gradients of the first step; this script
loads them, runs the same step with autograd

    Z = X @ W;  H = torch.sparse.mm(A, Z);  loss = (H * R).sum();  loss.backward()
    A.values -= lr * dA        (SGD on A's values, as bench_w11 does)

with A's values, X and W requiring grad, and times it as bench_w11 does (torch.set_num_threads,
best of --reps after one warm-up). A is a leaf sparse tensor that requires grad (see
w11_common.make_torch_variant for why not a tensor built from a values tensor, nor COO, for the
whole batch). Variants: csr, the
block-diagonal A as one sparse CSR; loop-csr and loop-coo, a Python loop of per-graph products,
with one X @ W over all nodes; the fastest of those run is the anchor. The warm-up step of every
variant runs on A's initial values, and its dX, dW and dA are checked against spbmm's (relative
error printed; exit status 1 when any is off). The last lines give torch / spbmm for the step,
with spbmm's time read from the dump's manifest: run the two back to back, in the same run, e.g.

  sh -c 'build/bench/dispatch/bench_w11 --threads 2 --reps 10 --dump /tmp/w11 &&
                     bench/.venv/bin/python bench/anchors_w11.py /tmp/w11 --threads 2 --reps 10'
"""

import argparse
import os
import sys


def parse_args(argv=None):
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
    args = p.parse_args(argv)
    if args.threads < 1 or args.reps < 1:
        p.error("--threads and --reps must be at least 1")
    args.variants = [v for v in args.variants.split(",") if v]
    for v in args.variants:
        if v not in ("csr", "loop-coo", "loop-csr"):
            p.error("unknown variant '%s'" % v)
    if not os.path.isfile(os.path.join(args.dump, "manifest.json")):
        p.error("%s has no manifest.json (run bench_w11 --dump %s first)" % (args.dump, args.dump))
    return args


def print_torch_parts(w11, d, reps):
    """Times the products of torch's step one by one, outside autograd (best of reps), next to
    spbmm's parts from the manifest: where the two spend the step."""
    f = w11.torch_products(d)
    parts = [
        ("Z = X @ W", f["xw"]),
        ("H = sparse.mm(A, Z), CSR", f["az"]),
        ("loss = (H * R).sum()", f["loss"]),
        ("dZ = sparse.mm(A^T, R), CSR", f["atr"]),
        ("dW = X^T @ dZ", f["dw"]),
        ("dX = dZ @ W^T", f["dx"]),
        ("dA = sampled_addmm(A, R, Z^T)", f["sddmm"]),
    ]
    print("torch's products one by one (no autograd, A^T made outside the timing), best of %d; "
          "spbmm's parts of its best step:" % reps)
    for label, fn in parts:
        print("  %-32s %9.3f ms" % (label, w11.best_of(fn, reps)))
    for label, ms in d["m"].get("spbmm_parts_ms", {}).items():
        print("  spbmm %-26s %9.3f ms" % (label, ms))


def main(argv=None):
    args = parse_args(argv)
    # Thread pools size themselves when the libraries load, so this must precede the imports.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["MKL_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy as np
    import torch

    import w11_common as w11

    torch.set_num_threads(args.threads)
    d = w11.load_dump(args.dump, "anchors_w11")
    m = d["m"]
    spbmm_ms = m["spbmm_step_ms"]
    print("W11 torch anchor: torch %s, numpy %s, %d threads, best of %d after a warm-up; "
          "%d graphs, %d nodes, %d nnz, N = %d" %
          (torch.__version__, np.__version__, torch.get_num_threads(), args.reps, m["graphs"],
           m["total_nodes"], m["total_nnz"], m["features"]))
    failed = False
    results = {}
    for name in args.variants:
        st, step, grads = w11.make_torch_variant(name, d)
        step(st)  # warm-up, on A's initial values: its gradients are checked
        ok, errs = w11.check_grads(grads(st), d["cpp"], args.rtol)
        loss_err = abs(st["loss"] - m["loss"]) / max(abs(m["loss"]), 1e-300)
        ok = ok and loss_err <= args.rtol
        best, best_fwd = float("inf"), float("inf")
        for _ in range(args.reps):
            fwd, total = step(st)
            if total < best:
                best, best_fwd = total, fwd
        results[name] = best
        print("%-9s step %9.3f ms (forward %8.3f, backward + update %8.3f)  torch/spbmm %6.2f" %
              (name, best * 1e3, best_fwd * 1e3, (best - best_fwd) * 1e3, best * 1e3 / spbmm_ms))
        print("          against spbmm: %s; loss %.2e  %s" %
              (w11.format_errors(errs), loss_err, "OK" if ok else "MISMATCH"))
        if not ok:
            failed = True
        del st, step, grads
    if not args.no_parts:
        print_torch_parts(w11, d, args.reps)
    fastest = min(results, key=results.get)
    ratio = results[fastest] * 1e3 / spbmm_ms
    print("spbmm step (from the dump's manifest): %.3f ms" % spbmm_ms)
    print("anchor: torch %s, fastest variant %s, %.3f ms; torch / spbmm = %.2f (bar >= 3: %s)" %
          (torch.__version__, fastest, results[fastest] * 1e3, ratio,
           "met" if ratio >= 3 else "not met"))
    if failed:
        print("anchors_w11: FAILED: torch's gradients differ from spbmm's beyond --rtol %g" %
              args.rtol, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
