#!/usr/bin/env python3
"""Trains a two-layer graph convolutional network on a ragged batch of graphs with spbmm.torch,
and the same model with torch.sparse.mm (one product per graph), and compares them.

Each graph i has its own number of nodes; its normalized adjacency with self loops
Â_i = D^-1/2 (A_i + I) D^-1/2 is a sparse CSR tensor. The model is

    H_i = ReLU(Â_i X_i W1),   Z_i = Â_i H_i W2,   loss = cross-entropy of Z over every node,

so every epoch runs four batched sparse products (two forward, two for the gradients with
respect to the dense operands). Both versions start from the same weights and take the same Adam
steps in float64; the script prints the loss of each epoch for both, their largest difference
(which must stay below 1e-5), and the time per epoch of each.

    python3 examples/python/gcn_train.py [--graphs 64] [--epochs 10] [--threads N]
"""

import argparse
import sys
import time

import numpy as np
import torch

import spbmm
import spbmm.torch


def make_graphs(count, min_nodes, max_nodes, features, classes, seed):
    """A ragged batch of random graphs (a ring plus random chords, so every graph is connected)
    with node features and labels that a GCN can learn (a planted two-hop rule)."""
    rng = np.random.default_rng(seed)
    adjacency, xs, labels = [], [], []
    planted = rng.standard_normal((features, classes))
    for _ in range(count):
        n = int(rng.integers(min_nodes, max_nodes + 1))
        src = np.concatenate([np.arange(n), rng.integers(0, n, size=2 * n)])
        dst = np.concatenate([(np.arange(n) + 1) % n, rng.integers(0, n, size=2 * n)])
        a = np.zeros((n, n))
        a[src, dst] = 1.0
        a = np.maximum(a, a.T)
        np.fill_diagonal(a, 1.0)  # self loops
        d = 1.0 / np.sqrt(a.sum(axis=1))
        a_hat = torch.from_numpy(d[:, None] * a * d[None, :]).to_sparse_csr()
        x = rng.standard_normal((n, features))
        dense_hat = a_hat.to_dense().numpy()
        labels.append(torch.from_numpy(np.argmax(dense_hat @ dense_hat @ x @ planted, axis=1)))
        adjacency.append(a_hat)
        xs.append(torch.from_numpy(x))
    return adjacency, xs, labels


class Gcn(torch.nn.Module):
    """Two graph convolutions; `propagate(A, H)` is the batched product Â_i H_i."""

    def __init__(self, features, hidden, classes, propagate):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.empty(features, hidden, dtype=torch.float64))
        self.w2 = torch.nn.Parameter(torch.empty(hidden, classes, dtype=torch.float64))
        torch.nn.init.xavier_uniform_(self.w1)
        torch.nn.init.xavier_uniform_(self.w2)
        self.propagate = propagate

    def forward(self, adjacency, xs):
        # X_i W1 for every graph at once: one dense product over the concatenated nodes.
        sizes = [x.shape[0] for x in xs]
        xw = torch.cat(xs) @ self.w1
        h = [torch.relu(t) for t in self.propagate(adjacency, list(xw.split(sizes)))]
        hw = torch.cat(h) @ self.w2
        return torch.cat(self.propagate(adjacency, list(hw.split(sizes))))


def propagate_spbmm(threads):
    return lambda adjacency, hs: spbmm.torch.bmm(adjacency, hs, threads=threads)


def propagate_torch(adjacency, hs):
    return [torch.sparse.mm(a, h) for a, h in zip(adjacency, hs)]


def train(model, adjacency, xs, labels, epochs, lr):
    target = torch.cat(labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses, times = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(adjacency, xs), target)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    return losses, times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", type=int, default=64, help="graphs in the batch (64)")
    parser.add_argument("--min-nodes", type=int, default=50)
    parser.add_argument("--max-nodes", type=int, default=1000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--threads", type=int, default=None, help="spbmm threads (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    adjacency, xs, labels = make_graphs(args.graphs, args.min_nodes, args.max_nodes, args.features,
                                        args.classes, args.seed)
    nodes = sum(x.shape[0] for x in xs)
    edges = sum(a.values().numel() for a in adjacency)
    print(f"{args.graphs} graphs, {nodes} nodes, {edges} stored entries of Â, "
          f"{args.features} -> {args.hidden} -> {args.classes}, float64, "
          f"torch {torch.__version__}, spbmm {spbmm.__version__}")

    results = {}
    for name, propagate in (("spbmm", propagate_spbmm(args.threads)),
                            ("torch.sparse.mm", propagate_torch)):
        torch.manual_seed(args.seed)
        model = Gcn(args.features, args.hidden, args.classes, propagate)
        results[name] = train(model, adjacency, xs, labels, args.epochs, args.lr)

    (loss_s, time_s), (loss_t, time_t) = results["spbmm"], results["torch.sparse.mm"]
    print("epoch  loss (spbmm)        loss (torch.sparse.mm)")
    for e, (a, b) in enumerate(zip(loss_s, loss_t)):
        print(f"{e:5d}  {a:.12f}  {b:.12f}")
    diff = max(abs(a - b) for a, b in zip(loss_s, loss_t))
    # The first epoch pays one-time costs (thread start-up, first allocations): report the rest.
    steady = slice(1, None) if args.epochs > 1 else slice(None)
    ms_s = 1e3 * np.median(time_s[steady])
    ms_t = 1e3 * np.median(time_t[steady])
    print(f"time per epoch (median): spbmm {ms_s:.2f} ms, torch.sparse.mm {ms_t:.2f} ms "
          f"({ms_t / ms_s:.2f}x)")
    print(f"largest loss difference: {diff:.3g}")
    if not diff < 1e-5:
        print("FAILED: the two trainings differ by more than 1e-5", file=sys.stderr)
        return 1
    if not loss_s[-1] < loss_s[0]:
        print("FAILED: the loss did not decrease", file=sys.stderr)
        return 1
    print("OK: same losses to 1e-5, and the loss decreases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
