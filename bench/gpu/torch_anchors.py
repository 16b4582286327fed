#!/usr/bin/env python3
"""Torch anchors for the GPU workloads G1-G4 (bench/WORKLOADS.md), timed like bench_gpu.

Usage: torch_anchors.py [results.csv]

The workloads are regenerated here (torch's CPU generator) from the same parameters as bench_gpu.cpp (R-MAT
scale 17, 2,000,000 edges, probabilities 0.57/0.19/0.19/0.05, duplicates summed, values uniform
in [0, 1); W4: 32 entries of 4096 x 4096 with round(0.002 * 4096^2) distinct uniform positions
each, N = 64; W8: 512 graphs of 50..2000 nodes, 8 * n random edges each, duplicates summed,
N = 128; W10: SDDMM at the pattern of those graphs, k = 128). They are statistically the same workloads, not the same matrices: the random streams
differ, so compare GFLOP/s, not bits. fp32, CUDA events, best of 10 runs after 3 warm-up runs.
"""
import sys
import time

WARMUP = 3
RUNS = 10
rows = []


def best_ms(torch, f):
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    for _ in range(WARMUP):
        f()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(RUNS):
        start.record()
        f()
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end))
    return best


def report(workload, impl, ms, flops):
    gflops = flops / (ms * 1e-3) / 1e9
    rows.append((workload, impl, ms, gflops))
    print(f"  {workload:4s} {impl:52s} {ms:9.3f} ms {gflops:9.1f} GFLOP/s", flush=True)


def rmat(torch, g, scale=17, edges=2_000_000, a=0.57, b=0.19, c=0.19):
    r = torch.zeros(edges, dtype=torch.int64)
    col = torch.zeros(edges, dtype=torch.int64)
    for _ in range(scale):
        p = torch.rand(edges, generator=g, dtype=torch.float64)
        down = (p >= a + b).long()
        right = (((p >= a) & (p < a + b)) | (p >= a + b + c)).long()
        r = (r << 1) | down
        col = (col << 1) | right
    return r, col, torch.rand(edges, generator=g)


def distinct(torch, g, n_total, k):
    """k distinct integers uniform in [0, n_total)."""
    while True:
        cand = torch.unique(torch.randint(0, n_total, (int(k * 1.1) + 16,), generator=g))
        if cand.numel() >= k:
            return cand[torch.randperm(cand.numel(), generator=g)[:k]]


def run(torch, dev):
    g = torch.Generator().manual_seed(20240601)

    # G1: one R-MAT graph, CSR x dense 131072 x 64.
    try:
        t0 = time.time()
        r, c, v = rmat(torch, g)
        n = 1 << 17
        a = torch.sparse_coo_tensor(torch.stack([r, c]), v, (n, n)).coalesce()
        nnz = a._nnz()
        print(f"G1: R-MAT {n} x {n}, nnz {nnz} (generated in {time.time() - t0:.2f} s), N = 64")
        a_csr = a.to_sparse_csr().to(dev)
        x = torch.rand(n, 64, device=dev)
        report("G1", "torch CSR @ dense (cuda)", best_ms(torch, lambda: a_csr @ x), 2.0 * nnz * 64)
        a_coo = a.to(dev)
        report("G1", "torch.sparse.mm COO (cuda)",
               best_ms(torch, lambda: torch.sparse.mm(a_coo, x)), 2.0 * nnz * 64)
    except Exception as e:  # keep going: every anchor is independent
        print(f"G1 torch anchor failed: {e!r}")

    # G2: 32 entries of 4096 x 4096, density 0.002, x dense 4096 x 64.
    try:
        batch, m, n_cols = 32, 4096, 64
        nnz = int(round(0.002 * m * m))
        idx = []
        for i in range(batch):
            pos = distinct(torch, g, m * m, nnz)
            idx.append(torch.stack([torch.full((nnz,), i, dtype=torch.int64), pos // m, pos % m]))
        idx = torch.cat(idx, dim=1)
        vals = torch.rand(idx.shape[1], generator=g)
        print(f"G2: {batch} entries of {m} x {m}, nnz {nnz} each, N = {n_cols}")
        a = torch.sparse_coo_tensor(idx, vals, (batch, m, m)).coalesce().to(dev)
        x = torch.rand(batch, m, n_cols, device=dev)
        report("G2", "torch.bmm(sparse COO cuda, dense cuda)",
               best_ms(torch, lambda: torch.bmm(a, x)), 2.0 * nnz * batch * n_cols)
    except Exception as e:
        print(f"G2 torch anchor failed: {e!r}")

    # G3: 512 graphs of 50..2000 nodes, average degree 8, x features N = 128.
    try:
        batch, n_cols = 512, 128
        sizes = torch.randint(50, 2001, (batch,), generator=g).tolist()
        blocks = []
        offset = 0
        rr, cc, vv = [], [], []
        for s in sizes:
            src = torch.randint(0, s, (8 * s,), generator=g)
            dst = torch.randint(0, s, (8 * s,), generator=g)
            val = torch.rand(8 * s, generator=g)
            blocks.append(torch.sparse_coo_tensor(torch.stack([src, dst]), val, (s, s)).coalesce())
            rr.append(src + offset)
            cc.append(dst + offset)
            vv.append(val)
            offset += s
        total = offset
        a = torch.sparse_coo_tensor(torch.stack([torch.cat(rr), torch.cat(cc)]), torch.cat(vv),
                                    (total, total)).coalesce()
        nnz = a._nnz()
        print(f"G3: {batch} graphs, {total} nodes, nnz {nnz}, N = {n_cols}")
        a_coo = a.to(dev)
        x = torch.rand(total, n_cols, device=dev)
        flops = 2.0 * nnz * n_cols
        report("G3", "torch.sparse.mm block-diagonal COO (cuda)",
               best_ms(torch, lambda: torch.sparse.mm(a_coo, x)), flops)
        a_csr = a.to_sparse_csr().to(dev)
        report("G3", "torch block-diagonal CSR @ dense (cuda)", best_ms(torch, lambda: a_csr @ x),
               flops)
        per = []
        offset = 0
        for s, blk in zip(sizes, blocks):
            per.append((blk.to(dev), x[offset:offset + s]))
            offset += s
        report("G3", "torch.sparse.mm, Python loop per graph (cuda)",
               best_ms(torch, lambda: [torch.sparse.mm(b, f) for b, f in per]), flops)
    except Exception as e:
        print(f"G3 torch anchor failed: {e!r}")
        return

    # G4: W10, SDDMM at the pattern of the G3 graphs, k = 128: values = (X Y^T) sampled at A.
    try:
        k = 128
        xs = torch.rand(total, k, device=dev)
        ys = torch.rand(total, k, device=dev)
        flops = 2.0 * nnz * k
        print(f"G4: SDDMM on the G3 graphs, nnz {nnz}, k = {k}")
        ys_t = ys.t().contiguous()
        report("G4", "torch.sparse.sampled_addmm block-diagonal CSR (cuda)",
               best_ms(torch, lambda: torch.sparse.sampled_addmm(a_csr, xs, ys_t, beta=0.0)),
               flops)
        per = []
        offset = 0
        for s, blk in zip(sizes, blocks):
            per.append((blk.to_sparse_csr().to(dev), xs[offset:offset + s],
                        ys[offset:offset + s].t().contiguous()))
            offset += s
        report("G4", "torch.sparse.sampled_addmm, Python loop per graph (cuda)",
               best_ms(torch, lambda: [torch.sparse.sampled_addmm(b, x1, y1, beta=0.0)
                                       for b, x1, y1 in per]), flops)
    except Exception as e:
        print(f"G4 torch anchor failed: {e!r}")


def main():
    try:
        import torch
    except Exception as e:
        print(f"torch not importable: {e!r}")
        return 0
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available {torch.cuda.is_available()}")
    if not torch.cuda.is_available():
        print("no CUDA device for torch: nothing to measure")
        return 0
    print(f"device: {torch.cuda.get_device_name(0)}")
    run(torch, torch.device("cuda"))
    print("\n| workload | implementation | ms | GFLOP/s |\n|---|---|---|---|")
    for w, impl, ms, g in rows:
        print(f"| {w} | {impl} | {ms:.3f} | {g:.1f} |")
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write("workload,implementation,ms,gflops\n")
            for w, impl, ms, g in rows:
                f.write(f'{w},"{impl}",{ms:.4f},{g:.2f}\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
