#!/usr/bin/env python3
"""Draws docs/scaling.svg from the CSV files spbmm_scaling writes (no plotting library needed).

  python3 src/mpi/scaling_plot.py OUT.svg STRONG1.csv [STRONG2.csv ...] --weak WEAK1.csv [...]

Left panel: predicted strong-scaling speedup of each matrix against the ideal line; right panel:
predicted weak-scaling efficiency of each generated family. Both on log2 rank axes.
"""

import csv
import math
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[0]["matrix"], [(int(r["ranks"]), float(r["speedup"]), float(r["efficiency"]))
                               for r in rows]


def panel(x0, title, ylabel, series, key, ymax, ylog, ideal):
    w, h, left, top = 420, 300, 60, 40
    out = [f'<g transform="translate({x0},0)">',
           f'<text x="{left + w / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    max_ranks = max(r for _, pts in series for r, _, _ in pts)
    xmax = math.log2(max_ranks)

    def px(r):
        return left + w * math.log2(r) / xmax

    def py(v):
        if ylog:
            v = max(v, 1.0)
            return top + h - h * math.log2(v) / math.log2(ymax)
        return top + h - h * min(v, ymax) / ymax

    out.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#444"/>')
    r = 1
    while r <= max_ranks:
        out.append(f'<line x1="{px(r)}" y1="{top + h}" x2="{px(r)}" y2="{top + h + 4}" '
                   'stroke="#444"/>')
        out.append(f'<text x="{px(r)}" y="{top + h + 18}" text-anchor="middle" '
                   f'font-size="11">{r}</text>')
        r *= 4
    ticks = [2 ** k for k in range(0, int(math.log2(ymax)) + 1, 2)] if ylog else \
        [ymax * k / 4 for k in range(5)]
    for t in ticks:
        label = f"{t:g}"
        out.append(f'<line x1="{left - 4}" y1="{py(t)}" x2="{left + w}" y2="{py(t)}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{py(t) + 4}" text-anchor="end" '
                   f'font-size="11">{label}</text>')
    out.append(f'<text x="{left + w / 2}" y="{top + h + 36}" text-anchor="middle" '
               'font-size="12">ranks</text>')
    out.append(f'<text x="16" y="{top + h / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 16 {top + h / 2})">{ylabel}</text>')
    if ideal:
        out.append(f'<line x1="{px(1)}" y1="{py(1)}" x2="{px(max_ranks)}" '
                   f'y2="{py(min(max_ranks, ymax))}" stroke="#999" stroke-dasharray="4 4"/>')
    for k, (name, pts) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        coords = " ".join(f"{px(r)},{py(s if key == 'speedup' else e)}" for r, s, e in pts)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{left + 8}" y="{top + 16 + 15 * k}" font-size="12" '
                   f'fill="{colour}">{name}</text>')
    out.append("</g>")
    return out


def main(argv):
    if len(argv) < 3 or "--weak" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--weak")
    out_path, strong, weak = argv[1], argv[2:cut], argv[cut + 1:]
    strong_series = [read(p) for p in strong]
    weak_series = [read(p) for p in weak]
    max_ranks = max(r for _, pts in strong_series for r, _, _ in pts)
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="390" '
           'font-family="sans-serif">', '<rect width="1000" height="390" fill="white"/>']
    svg += panel(0, "strong scaling (predicted speedup)", "speedup", strong_series, "speedup",
                 max_ranks, True, True)
    svg += panel(500, "weak scaling (predicted efficiency)", "efficiency", weak_series,
                 "efficiency", 1.0, False, False)
    svg.append("</svg>")
    with open(out_path, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main(sys.argv)
