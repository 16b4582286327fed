"""What bench/anchors_w11.py and bench/python_w11.py share about W11 (one GCN training step on
the W8 graphs, N = 128, fp32): loading bench_w11's dump, torch 2.x's step with autograd, the
gradient checks, and timing.

Import it only after the thread counts are in the environment (OMP_NUM_THREADS, MKL_NUM_THREADS):
it imports torch, whose thread pools size themselves when it loads.
"""

import json
import os
import sys
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
warnings.filterwarnings("ignore", message=".*Sparse invariant checks are implicitly disabled.*")

LEARNING_RATE = 1e-3  # the SGD step on A's values, as bench_w11 takes it
TORCH_VARIANTS = ("csr", "loop-csr", "loop-coo")


def load_dump(folder, who):
    """The data `bench_w11 --dump folder` wrote, checked against its manifest: a dict with the
    manifest (m), node offsets per graph (ptr), stored-entry offsets per graph (nnz_offsets), the
    block-diagonal CSR (row_ptr, col_idx, values), X, W, R, the first step's loss and spbmm's
    gradients of it (cpp: dX, dW, dA). `who` prefixes the messages of a failed load."""
    path = os.path.join(folder, "manifest.json")
    if not os.path.isfile(path):
        sys.exit(f"{who}: {folder} has no manifest.json (run bench_w11 --dump {folder} first)")
    with open(path) as f:
        m = json.load(f)
    if m.get("workload") != "W11" or m.get("byte_order") != "little":
        sys.exit(f"{who}: {folder} is not a little-endian W11 dump")
    n, nnz, k, g = m["total_nodes"], m["total_nnz"], m["features"], m["graphs"]

    def arr(name, dtype, count, shape=None):
        a = np.fromfile(os.path.join(folder, name), dtype=np.dtype(dtype).newbyteorder("<"))
        if a.size != count:
            sys.exit(f"{who}: {name} holds {a.size} values, the manifest says {count}")
        return a.reshape(shape) if shape else a

    d = {
        "m": m,
        "ptr": arr("node_offsets.i64", np.int64, g + 1),
        "nnz_offsets": arr("nnz_offsets.i64", np.int64, g + 1),
        "row_ptr": arr("row_ptr.i64", np.int64, n + 1),
        "col_idx": arr("col_idx.i32", np.int32, nnz),
        "values": arr("values.f32", np.float32, nnz),
        "x": arr("x.f32", np.float32, n * k, (n, k)),
        "w": arr("w.f32", np.float32, k * k, (k, k)),
        "r": arr("r.f32", np.float32, n * k, (n, k)),
        "cpp": {"dX": arr("dx.f32", np.float32, n * k, (n, k)),
                "dW": arr("dw.f32", np.float32, k * k, (k, k)),
                "dA": arr("da.f32", np.float32, nnz)},
        "loss": m["loss"],
    }
    rp = d["row_ptr"]
    if rp[0] != 0 or rp[-1] != nnz or np.any(np.diff(rp) < 0):
        sys.exit(f"{who}: row_ptr.i64 is not a CSR row pointer array")
    return d


def rel_errors(got, want):
    """Relative norm-wise and max-abs errors of got against want."""
    got = got.astype(np.float64)
    want = want.astype(np.float64)
    diff = got - want
    return (np.linalg.norm(diff) / max(np.linalg.norm(want), 1e-300),
            np.max(np.abs(diff)) / max(np.max(np.abs(want)), 1e-300))


def check_grads(got, want, rtol):
    """(ok, {name: (norm-wise, max-abs)}) for the gradients dX, dW, dA of got against want."""
    errs = {k: rel_errors(got[k], want[k]) for k in ("dX", "dW", "dA")}
    return all(e[0] <= rtol and e[1] <= rtol for e in errs.values()), errs


def format_errors(errs):
    return ", ".join(f"{k} {e[0]:.2e} (max {e[1]:.2e})" for k, e in errs.items())


def make_step(params, s, forward, update):
    """step(s) -> (forward s, step s): gradients cleared, forward, backward, the update of A's
    values; the loss kept in s["loss"]."""

    def step(s):
        for t in params + [s["x"], s["w"]]:
            t.grad = None
        t0 = time.perf_counter()
        loss = forward(s)
        t1 = time.perf_counter()
        loss.backward()
        with torch.no_grad():
            update(s)
        t2 = time.perf_counter()
        s["loss"] = float(loss.detach())
        return t1 - t0, t2 - t0

    return step


def leaf_inputs(d):
    """X and W as leaves that require grad (copies), and R."""
    return {"x": torch.from_numpy(d["x"].copy()).requires_grad_(True),
            "w": torch.from_numpy(d["w"].copy()).requires_grad_(True),
            "r": torch.from_numpy(d["r"])}


def make_torch_variant(name, d):
    """torch 2.x's step: (state, step, grads), step(state) -> (forward s, step s), grads(state) ->
    {dX, dW, dA} with dA's values in the dump's order (CSR order of the block-diagonal matrix).

        Z = X @ W;  H = A Z;  loss = (H * R).sum();  loss.backward();  A.values -= lr * dA

    A is a leaf sparse tensor that requires grad (its values are the parameter): for a CSR leaf,
    torch 2.x computes the gradient of A with sparse_sampled_addmm, on A's pattern. A sparse
    tensor built inside the step from a values tensor that requires grad (COO or CSR), and a COO
    leaf, get a dense rows x cols gradient first (grad @ Z^T, then masked): for the block-diagonal
    W8 graph that is 503232^2 floats, about 1 TB, so those run only per graph (loop-coo).
    Variants: csr, the block-diagonal A as one sparse CSR; loop-csr and loop-coo, a Python loop of
    per-graph products, with one X @ W over all nodes.
    """
    if name not in TORCH_VARIANTS:
        raise ValueError(f"unknown torch variant {name!r}")
    n = d["x"].shape[0]
    cols = d["col_idx"].astype(np.int64)
    s = leaf_inputs(d)
    if name == "csr":
        a = torch.sparse_csr_tensor(torch.from_numpy(d["row_ptr"]), torch.from_numpy(cols),
                                    torch.from_numpy(d["values"].copy()), (n, n))
        s["a"] = [a.requires_grad_(True)]

        def forward(s):
            return (torch.sparse.mm(s["a"][0], s["x"] @ s["w"]) * s["r"]).sum()
    else:
        no, zo = d["ptr"], d["nnz_offsets"]
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(d["row_ptr"]))
        s["a"], sizes = [], []
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
            s["a"].append(a.requires_grad_(True))
            sizes.append(n1 - n0)
        s["r_parts"] = torch.split(s["r"], sizes)

        def forward(s):
            # torch.split, not slices: the backward of each slice of Z would zero-fill a gradient
            # of Z's full size (512 times 257 MB); split's backward concatenates once.
            zs = torch.split(s["x"] @ s["w"], sizes)
            loss = 0
            for a, z, r in zip(s["a"], zs, s["r_parts"]):
                loss = loss + (torch.sparse.mm(a, z) * r).sum()
            return loss

    def update(s):
        for a in s["a"]:
            if a.layout == torch.sparse_coo:
                a._values().sub_(LEARNING_RATE * a.grad.coalesce()._values())
            else:
                a.values().sub_(LEARNING_RATE * a.grad.values())

    def grads(s):
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
                sys.exit("w11: torch's gradient of A does not have A's pattern")
            parts.append(g.values().numpy())
        return {"dX": s["x"].grad.numpy(), "dW": s["w"].grad.numpy(), "dA": np.concatenate(parts)}

    return s, make_step(s["a"], s, forward, update), grads


def best_of(f, reps):
    """Best wall time of f() in ms over reps calls after one warm-up, outside autograd."""
    with torch.no_grad():
        f()
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            best = min(best, time.perf_counter() - t0)
    return best * 1e3


def torch_products(d, values=None):
    """torch's products of the step, each alone (no autograd; A^T made here, outside any timing):
    a dict of label -> zero-argument callable. Labels: xw, az, loss, atr, dw, dx, sddmm.
    `values`: A's values as a tensor (shared with the caller), else a tensor over the dump's."""
    n, k = d["x"].shape
    x, w, r = (torch.from_numpy(d[key]) for key in ("x", "w", "r"))
    if values is None:
        values = torch.from_numpy(d["values"])
    a = torch.sparse_csr_tensor(torch.from_numpy(d["row_ptr"]),
                                torch.from_numpy(d["col_idx"].astype(np.int64)), values, (n, n))
    at = a.t().to_sparse_csr()
    zero_a = torch.sparse_csr_tensor(a.crow_indices(), a.col_indices(), torch.zeros_like(values),
                                     (n, n))
    z = x @ w
    h = torch.sparse.mm(a, z)
    dz = torch.sparse.mm(at, r)
    out = torch.empty(n, k)
    return {
        "xw": lambda: torch.mm(x, w, out=out),
        "az": lambda: torch.sparse.mm(a, z),
        "loss": lambda: (h * r).sum(),
        "atr": lambda: torch.sparse.mm(at, r),
        "dw": lambda: x.t() @ dz,
        "dx": lambda: torch.mm(dz, w.t(), out=out),
        "sddmm": lambda: torch.sparse.sampled_addmm(zero_a, r, z.t(), beta=0.0),
    }
