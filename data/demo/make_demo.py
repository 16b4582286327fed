#!/usr/bin/env python3
"""Writes the demo batch: a ragged set of graphs and interaction matrices (fixed seed)."""
import random

rng = random.Random(20261126)


def write(name, rows, cols, entries, comment):
    entries = sorted(set(entries))
    with open(name, "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n")
        f.write(f"% {comment}\n")
        f.write(f"{rows} {cols} {len(entries)}\n")
        for r, c in entries:
            f.write(f"{r + 1} {c + 1} {rng.randint(1, 999) / 1000}\n")


# A cycle with chords: a sparse, regular graph.
n = 300
e = [(i, (i + 1) % n) for i in range(n)] + [((i + 1) % n, i) for i in range(n)]
e += [(i, (i * 7 + 3) % n) for i in range(0, n, 3)]
write("a_ring_300.mtx", n, n, e, "cycle of 300 nodes with chords (sparse graph)")

# A power-law-ish graph: preferential attachment, 2000 nodes.
n = 2000
e, targets = [], [0, 1]
for v in range(2, n):
    for _ in range(4):
        u = rng.choice(targets)
        e += [(v, u), (u, v)]
        targets += [u, v]
write("b_powerlaw_2000.mtx", n, n, e, "preferential-attachment graph, 2000 nodes, avg degree ~8")

# User x item interactions: rectangular, 1% dense.
rows, cols = 1500, 800
e = [(rng.randrange(rows), rng.randrange(cols)) for _ in range(rows * cols // 100)]
write("c_interactions_1500x800.mtx", rows, cols, e, "user x item interactions, 1% dense")

# A small, nearly dense block: the dispatcher should run it densely.
n = 96
e = [(i, j) for i in range(n) for j in range(n) if rng.random() < 0.7]
write("d_dense_block_96.mtx", n, n, e, "96x96 block, 70% dense")

# A tiny graph: 12 nodes, a few edges.
n = 12
e = [(rng.randrange(n), rng.randrange(n)) for _ in range(30)]
write("e_tiny_12.mtx", n, n, e, "12-node graph")
