#!/usr/bin/env python3
"""W11 (one GCN training step on the W8 graphs, N = 128, fp32) from Python: spbmm.torch against
torch 2.x autograd in one run, with the C++ figure of bench_w11 where it is built.

The step, as bench/dispatch/bench_w11.cpp and bench/anchors_w11.py run it:

    Z = X @ W;  H = A Z;  loss = sum(H * R);  loss.backward();  A.values -= lr * dA

with A's values, X and W requiring grad. A is the batch of 512 graphs as one concatenated
(PyG-style) batch: spbmm.ConcatCsr over the block-diagonal CSR with `ptr`, its values a leaf
tensor. Variants:

  spbmm.torch + plan   H = spbmm.torch.bmm(A, Z, plan=plan), one Plan(both_ops) made outside
                       the timing (as bench_w11 does); X @ W, dW, dX by torch's matmul
  spbmm.torch          the same without a plan (spbmm plans A at every call)
  spbmm all products   the plan variant with the three dense products through spbmm too:
                       Z = spbmm.torch.mm(X, W), whose backward runs dX = dZ W^T and
                       dW = X^T dZ on spbmm's tall-product kernels
  torch csr            torch.sparse.mm on the block-diagonal leaf CSR (anchors_w11's `csr`)
  torch loop-csr       a loop of per-graph leaf CSR products (anchors_w11's `loop-csr`)

The warm-up step of each variant runs on A's initial values; its dX, dW, dA are checked against
torch csr's (and against the C++ ones bench_w11 dumps, when it runs): relative norm-wise and
max-abs errors <= --rtol, else exit status 1. Then best and median of --reps steps, the ratio
torch / spbmm (the bar: >= 3), the Python step against bench_w11's (same data, same run), and
where the time goes: each product timed alone outside autograd, and (--profile) torch.profiler's
table of one spbmm.torch step.

Run it alone (nothing else running), from the source tree, e.g.:
    PYTHONPATH=build/python bench/.venv/bin/python bench/python_w11.py \\
        --bench-w11 build-bench/bench/dispatch/bench_w11 --threads 2 --reps 10 --profile
Without --bench-w11 (or when it is not built) the graphs are made here with the recipe of
bench/common/workloads.cpp (another random generator: statistically the same batch).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--bench-w11", default="build/bench/dispatch/bench_w11",
                   help="bench_w11 (for the C++ figure and its data); '' or a missing file: "
                   "make the graphs here and skip the C++ figure")
    p.add_argument("--variants", default="plan,noplan,all,torch-csr,torch-loop-csr",
                   help="comma-separated subset of plan, noplan, all, torch-csr, torch-loop-csr")
    p.add_argument("--profile", action="store_true",
                   help="print torch.profiler's table of one spbmm.torch + plan step")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--graphs", type=int, default=512,
                   help="graphs to make when the data is made here (a quick check of the script)")
    args = p.parse_args()
    if args.threads < 1 or args.reps < 1:
        p.error("--threads and --reps must be at least 1")
    args.variants = [v for v in args.variants.split(",") if v]
    known = ("plan", "noplan", "all", "torch-csr", "torch-loop-csr")
    for v in args.variants:
        if v not in known:
            p.error(f"unknown variant {v!r} (known: {', '.join(known)})")
    return args


ARGS = parse_args()
# Thread pools size themselves when the libraries load: set before the imports.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["MKL_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402

try:
    import torch
except ImportError:
    sys.exit("python_w11.py needs torch 2.x (the step runs under torch autograd)")

import spbmm  # noqa: E402
import spbmm.torch as st  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import w11_common as w11  # noqa: E402
from machine import cpu_model  # noqa: E402

N = 128


def run_cpp(exe, folder):
    """bench_w11's step time (ms), its part lines and its dump (the data of this run)."""
    cmd = [exe, "--threads", str(ARGS.threads), "--reps", str(ARGS.reps), "--dump", folder]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"^step: ([0-9.]+) ms", out, re.M)
    if not m:
        sys.exit(f"python_w11: no step line in the output of {' '.join(cmd)}:\n{out}")
    return float(m.group(1)), " ".join(cmd), out


def make_data(graphs, seed=11):
    """The W8 graphs (recipe of bench/common/workloads.cpp) as one block-diagonal CSR."""
    rng = np.random.default_rng(seed)
    ptr, row_ptr, cols, vals = [0], [np.zeros(1, np.int64)], [], []
    for _ in range(graphs):
        n = int(rng.integers(50, 2001))
        m = n * 8 // 2
        a = rng.integers(0, n, m)
        b = rng.integers(0, n - 1, m)
        b += b >= a  # no self loops
        w = rng.random(m).astype(np.float32)
        r = np.concatenate([a, b])
        c = np.concatenate([b, a])
        key = r * n + c
        uniq, inv = np.unique(key, return_inverse=True)
        v = np.zeros(len(uniq), np.float32)
        np.add.at(v, inv, np.concatenate([w, w]))  # duplicates summed
        counts = np.bincount(uniq // n, minlength=n)
        row_ptr.append(row_ptr[-1][-1] + np.cumsum(counts))
        cols.append((uniq % n + ptr[-1]).astype(np.int32))
        vals.append(v)
        ptr.append(ptr[-1] + n)
    nodes = ptr[-1]
    x = rng.uniform(-1, 1, (nodes, N)).astype(np.float32)
    r = rng.uniform(-1, 1, (nodes, N)).astype(np.float32)
    w = (rng.uniform(-1, 1, (N, N)) / np.sqrt(N)).astype(np.float32)
    row_ptr = np.concatenate(row_ptr)
    ptr = np.array(ptr, np.int64)
    return {"ptr": ptr, "nnz_offsets": row_ptr[ptr], "row_ptr": row_ptr,
            "col_idx": np.concatenate(cols), "values": np.concatenate(vals), "x": x, "w": w,
            "r": r, "cpp": None, "loss": None}


def make_variant(name, d):
    """(state, step, grads): step(state) -> (forward s, step s); grads(state) -> dX, dW, dA."""
    if name.startswith("torch-"):
        return w11.make_torch_variant(name[len("torch-"):], d)
    s = w11.leaf_inputs(d)
    values = torch.from_numpy(d["values"].copy()).requires_grad_(True)
    batch = spbmm.ConcatCsr(d["row_ptr"], d["col_idx"], values, d["ptr"])
    plan = None
    if name != "noplan":
        t0 = time.perf_counter()
        plan = spbmm.Plan(batch, N, both_ops=True, threads=ARGS.threads)
        s["plan_ms"] = (time.perf_counter() - t0) * 1e3
    s.update(batch=batch, plan=plan)

    def forward(s):
        z = st.mm(s["x"], s["w"], threads=ARGS.threads) if name == "all" else s["x"] @ s["w"]
        h = st.bmm(s["batch"], z, plan=s["plan"], threads=ARGS.threads)
        return (h * s["r"]).sum()

    def update(s):
        values.sub_(w11.LEARNING_RATE * values.grad)

    def grads(s):
        return {"dX": s["x"].grad.numpy(), "dW": s["w"].grad.numpy(), "dA": values.grad.numpy()}

    return s, w11.make_step([values], s, forward, update), grads


def parts_alone(d):
    """Each product of the step alone (no autograd), best of --reps: spbmm's and torch's."""
    n = d["x"].shape[0]
    x, w, r = (torch.from_numpy(d[k]) for k in ("x", "w", "r"))
    values = torch.from_numpy(d["values"].copy())
    batch = spbmm.ConcatCsr(d["row_ptr"], d["col_idx"], values, d["ptr"])
    plan = spbmm.Plan(batch, N, both_ops=True, threads=ARGS.threads)
    tp = w11.torch_products(d, values)
    z = x @ w
    dz = plan.execute(r, op_a="T")
    out = spbmm.empty((n, N), like="torch")
    da = torch.empty_like(values)
    t = ARGS.threads
    xs, dzs, outs = (batch.split_nodes(m, "") for m in (x, dz, out))
    # spbmm.torch.mm's forward and backward against torch's, both making new results as in a step.
    xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    with torch.enable_grad():
        zs, zt = st.mm(xg, wg, threads=t), xg @ wg
    rows = [
        ("Z = X W", tp["xw"], lambda: spbmm.bmm(xs, w, out=outs, threads=t)),
        ("H = A Z", tp["az"], lambda: plan.execute(z, out)),
        ("loss = sum(H * R)", tp["loss"], None),
        ("dZ = A^T R", tp["atr"], lambda: plan.execute(r, out, op_a="T")),
        ("dW = X^T dZ", tp["dw"], lambda: spbmm.bmm_sum(xs, dzs, op_a="T", threads=t)),
        ("dW, one tall product", None, lambda: spbmm.multiply(x, dz, op_a="T", threads=t)),
        ("dX = dZ W^T", tp["dx"], lambda: spbmm.bmm(dzs, w, op_b="T", out=outs, threads=t)),
        ("dX, one tall product", None,
         lambda: spbmm.multiply(dz, w, op_b="T", out=out, threads=t)),
        ("dA = SDDMM(R, Z) on A", tp["sddmm"], lambda: spbmm.sddmm(batch, r, z, out=da, threads=t)),
        ("Z = X W, new result (mm)", lambda: x @ w, lambda: st.mm(x, w, threads=t)),
        ("dX and dW, mm's backward",
         lambda: torch.autograd.grad(zt, (xg, wg), dz, retain_graph=True),
         lambda: torch.autograd.grad(zs, (xg, wg), dz, retain_graph=True)),
    ]
    print(f"\neach product alone, no autograd, best of {ARGS.reps} (ms), into buffers made "
          "beforehand where the call takes one; spbmm's sparse products on the plan, its dense "
          "ones over the graphs' row blocks as bench_w11 runs them; torch's A^T made beforehand; "
          "the last two rows as a step runs them: spbmm.torch.mm against torch's X @ W and its "
          "autograd backward, new results each time:")
    print(f"  {'':28s} {'torch':>9s} {'spbmm':>9s}")
    for label, ft, fs in rows:
        tt = w11.best_of(ft, ARGS.reps) if ft is not None else float("nan")
        ts = w11.best_of(fs, ARGS.reps) if fs is not None else float("nan")
        print(f"  {label:28s} {tt:9.2f} {ts:9.2f}")


def profile_step(d):
    from torch.profiler import ProfilerActivity, profile
    s, step, _ = make_variant("plan", d)
    step(s)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step(s)
    print("\ntorch.profiler, three spbmm.torch + plan steps (self CPU time, top 14):")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


def main():
    torch.set_num_threads(ARGS.threads)
    cpp = None
    exe = ARGS.bench_w11
    with tempfile.TemporaryDirectory(prefix="python_w11.") as folder:
        if exe and os.path.isfile(exe):
            cpp = run_cpp(exe, folder)
            d = w11.load_dump(folder, "python_w11")
            source = f"the data of {exe} --dump (the C++ figure's own graphs)"
        else:
            d = make_data(ARGS.graphs)
            source = "graphs made here (bench_w11 not given or not built: no C++ figure)"
    nodes, nnz = d["x"].shape[0], len(d["values"])
    print(f"CPU: {cpu_model()}; spbmm {spbmm.__version__}; torch {torch.__version__}; numpy "
          f"{np.__version__}; {ARGS.threads} threads")
    print(f"W11 from Python: {len(d['ptr']) - 1} graphs, {nodes} nodes, {nnz} nnz, N = {N}, "
          f"fp32; {source}; best (median) of {ARGS.reps} steps after a warm-up")
    if cpp:
        print(f"C++: {cpp[1]}\n" + "".join(f"     {line}\n" for line in cpp[2].splitlines()
                                         if line and not line.startswith("dumped")))

    results, failed, ref = {}, False, None
    order = [v for v in ("torch-csr", "plan", "noplan", "all", "torch-loop-csr")
             if v in ARGS.variants]
    for name in order:
        s, step, grads = make_variant(name, d)
        step(s)  # warm-up on A's initial values: its gradients are checked
        g = grads(s)
        checks = []
        if ref is not None and name != "torch-csr":
            checks.append(("torch csr", ref))
        if d["cpp"] is not None:
            checks.append(("C++", d["cpp"]))
        if name == "torch-csr":
            ref = {k: v.copy() for k, v in g.items()}
        notes = []
        for who, want in checks:
            ok, errs = w11.check_grads(g, want, ARGS.rtol)
            failed = failed or not ok
            notes.append(f"vs {who}: {w11.format_errors(errs)}" + (" OK" if ok else " MISMATCH"))
        if d["loss"] is not None:
            notes.append(f"loss vs C++ {abs(s['loss'] - d['loss']) / abs(d['loss']):.1e}")
        fwd, tot = [], []
        for _ in range(ARGS.reps):
            f, t = step(s)
            fwd.append(f)
            tot.append(t)
        best = min(tot)
        results[name] = (best * 1e3, statistics.median(tot) * 1e3,
                         fwd[tot.index(best)] * 1e3, s.get("plan_ms"))
        print(f"{name:15s} step {best * 1e3:9.2f} ms (median {statistics.median(tot) * 1e3:8.2f};"
              f" forward {fwd[tot.index(best)] * 1e3:8.2f})"
              + (f"; plan made once in {s['plan_ms']:.1f} ms" if s.get("plan_ms") else ""))
        for note in notes:
            print(f"{'':16s}{note}")
        del s, step, grads

    print(f"\n{'W11 step, fp32, ' + str(ARGS.threads) + ' threads':36s} {'best ms':>9s} "
          f"{'median ms':>10s} {'torch/this':>11s} {'vs C++':>8s}")
    torch_best = min((results[v][0] for v in ("torch-csr", "torch-loop-csr") if v in results),
                     default=None)
    labels = {"plan": "spbmm.torch + plan", "noplan": "spbmm.torch (plans every call)",
              "all": "spbmm, all products (+ plan)", "torch-csr": "torch block-diagonal CSR",
              "torch-loop-csr": "torch per-graph loop CSR"}
    cpp_ms = cpp[0] if cpp else None
    for name in order:
        best, med, _, _ = results[name]
        ratio = f"{torch_best / best:10.2f}x" if torch_best and not name.startswith("torch") \
            else ""
        vs = f"{(best - cpp_ms) / cpp_ms * 100:+7.1f}%" if cpp_ms and not name.startswith(
            "torch") else ""
        print(f"{labels[name]:36s} {best:9.2f} {med:10.2f} {ratio:>11s} {vs:>8s}")
    if cpp_ms:
        print(f"{'C++ bench_w11 (same data)':36s} {cpp_ms:9.2f} {'':10s} "
              f"{(f'{torch_best / cpp_ms:10.2f}x' if torch_best else ''):>11s}")
    if torch_best:
        for name in order:
            if not name.startswith("torch"):
                ratio = torch_best / results[name][0]
                print(f"bar W11 >= 3x torch 2.x: {labels[name]}: {ratio:.2f}x, "
                      f"{'met' if ratio >= 3 else 'not met'}")
    parts_alone(d)
    if ARGS.profile:
        profile_step(d)
    if failed:
        print(f"python_w11: FAILED: gradients differ beyond --rtol {ARGS.rtol}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
