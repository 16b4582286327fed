#!/usr/bin/env python3
"""Plots spbmm against the other libraries on the workloads W1-W8 of bench/WORKLOADS.md.

Runs `spbmm bench` (spbmm, Eigen and OpenBLAS baselines, forced kernels for W7) and
bench/anchors.py (torch and scipy) on this machine at the same thread count, saves both JSON
outputs, and draws one bar per (workload, other library): how many times longer the other
library takes than spbmm (log scale; right of the line at 1 means spbmm is faster). W6 (reading
a file) has no product to compare and is left out of the plot; it is in bench/RESULTS.md.

  /usr/bin/python3 bench/plot.py --threads 2 --reps 10
        measure, then write bench/results/cpu_w1-w8.jsonl and docs/performance.png
  /usr/bin/python3 bench/plot.py --from bench/results/cpu_w1-w8.jsonl
        redraw from saved results without measuring

Needs matplotlib for the picture (Debian: python3-matplotlib); without it the results are still
measured and saved, and the script says so. The anchors need numpy and torch or scipy (Debian:
python3-torch, python3-scipy); anchors.py skips what is missing.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W7", "W8"]

# The comparisons drawn for each workload: (label, source, name in that source's JSON).
COMPARE = {
    "W1": [("torch.bmm", "anchor", "torch.bmm"), ("OpenBLAS", "spbmm", "openblas"),
           ("Eigen", "spbmm", "eigen")],
    "W2": [("torch.bmm", "anchor", "torch.bmm"), ("OpenBLAS", "spbmm", "openblas"),
           ("Eigen", "spbmm", "eigen")],
    "W3": [("torch CSR", "anchor", "torch-csr"), ("scipy CSR", "anchor", "scipy-csr"),
           ("Eigen", "spbmm", "eigen")],
    "W4": [("torch.bmm(sparse)", "anchor", "torch.bmm(sparse)"),
           ("scipy loop", "anchor", "scipy-loop"), ("Eigen loop", "spbmm", "eigen-loop")],
    "W5": [("torch loop", "anchor", "torch.matmul-loop"),
           ("Eigen (dynamic)", "spbmm", "eigen-dynamic"), ("OpenBLAS", "spbmm", "openblas")],
    "W7": [("forced sparse", "spbmm", "forced-sparse"), ("forced dense", "spbmm", "forced-dense"),
           ("Eigen loop", "spbmm", "eigen-loop")],
    "W8": [("torch per-graph loop", "anchor", "torch-per-graph-loop"),
           ("torch block-diagonal", "anchor", "torch-blockdiag"),
           ("Eigen loop", "spbmm", "eigen-loop")],
}
COLORS = {"torch": "#ee4c2c", "scipy": "#8caae6", "OpenBLAS": "#4d9a4d", "Eigen": "#7f6a93",
          "forced": "#b0b0b0"}


def color_of(label):
    for key, c in COLORS.items():
        if label.startswith(key):
            return c
    return "#888888"


def parse_args():
    p = argparse.ArgumentParser(description="Plot spbmm against the anchors on W1-W8.")
    p.add_argument("--spbmm", default=os.path.join(ROOT, "build", "src", "cli", "spbmm"),
                   help="the spbmm command (default: build/src/cli/spbmm)")
    p.add_argument("--python", default=None,
                   help="Python that runs anchors.py (default: this one if it has torch or "
                        "scipy, else /usr/bin/python3)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--from", dest="source", default=None,
                   help="redraw from a saved .jsonl instead of measuring")
    p.add_argument("--save", default=os.path.join(HERE, "results", "cpu_w1-w8.jsonl"),
                   help="where the measured results go")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.png"))
    return p.parse_args()


def has_module(python, names):
    code = "import importlib.util,sys; sys.exit(0 if any(importlib.util.find_spec(n) " \
           "for n in %r) else 1)" % (names,)
    return subprocess.run([python, "-c", code]).returncode == 0


def run_json_lines(cmd):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def measure(args):
    if not os.access(args.spbmm, os.X_OK):
        sys.exit("plot.py: no spbmm command at %s (build first, or give --spbmm)" % args.spbmm)
    python = args.python
    if python is None:
        python = sys.executable if has_module(sys.executable, ["torch", "scipy"]) \
            else "/usr/bin/python3"
    records = []
    stamp = {"kind": "run", "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
             "machine": platform.processor() or platform.machine(), "threads": args.threads,
             "reps": args.reps, "load_before": os.getloadavg()[0]}
    try:
        stamp["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                         stdout=subprocess.PIPE, text=True).stdout.strip()
    except OSError:
        pass
    records.append(stamp)
    for r in run_json_lines([args.spbmm, "bench", *WORKLOADS, "--threads", str(args.threads),
                             "--reps", str(args.reps), "--json"]):
        r["kind"] = "spbmm"
        records.append(r)
    anchors = [w for w in WORKLOADS if w != "W7"]
    for r in run_json_lines([python, os.path.join(HERE, "anchors.py"), *anchors, "--threads",
                             str(args.threads), "--reps", str(args.reps), "--json"]):
        r["kind"] = "anchor"
        records.append(r)
    stamp["load_after"] = os.getloadavg()[0]
    os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)
    with open(args.save, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    print("saved %s" % args.save, file=sys.stderr)
    return records


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ratios(records):
    """[(workload, spbmm ms, [(label, other ms, other / spbmm)])] from the records."""
    spbmm = {r["workload"]: r for r in records if r.get("kind") == "spbmm"}
    anchor = {r["workload"]: r for r in records if r.get("kind") == "anchor"}
    rows = []
    for w in WORKLOADS:
        if w not in spbmm:
            continue
        ours = spbmm[w]["spbmm_seconds"]
        found = []
        for label, source, name in COMPARE[w]:
            pool = spbmm[w].get("baselines", []) if source == "spbmm" else \
                anchor.get(w, {}).get("anchors", [])
            for b in pool:
                if b.get("name") == name and b.get("seconds"):
                    found.append((label, b["seconds"] * 1e3, b["seconds"] / ours))
        rows.append((w, ours * 1e3, found))
    return rows


def plot(rows, stamp, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("plot.py: matplotlib is not installed; no picture drawn", file=sys.stderr)
        return False
    labels, values, colors, ticks, tick_pos = [], [], [], [], []
    y = 0.0
    for w, ours_ms, found in rows:
        start = y
        for label, other_ms, ratio in found:
            labels.append("%s  (%.3g ms)" % (label, other_ms))
            values.append((y, ratio))
            colors.append(color_of(label))
            y += 1
        if found:
            ticks.append("%s\nspbmm %.3g ms" % (w, ours_ms))
            tick_pos.append((start + y - 1) / 2)
        y += 0.8
    fig, ax = plt.subplots(figsize=(9, 0.25 * y + 1.4))
    for (pos, ratio), c, text in zip(values, colors, labels):
        ax.barh(pos, ratio, color=c, height=0.8)
        ax.text(ratio * 1.04, pos, "%.1fx  %s" % (ratio, text), va="center", fontsize=7.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%gx" % v))
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(tick_pos)
    ax.set_yticklabels(ticks, fontsize=8)
    ax.invert_yaxis()
    hi = max((r for _, r in values), default=10)
    ax.set_xlim(0.5, hi * 6)
    ax.set_xlabel("time of the other library / time of spbmm  (log scale; > 1: spbmm is faster)")
    title = "spbmm against other libraries, WORKLOADS.md W1-W8 (fp32)"
    if stamp:
        title += "\n%s threads, best of %s runs, %s, commit %s" % (
            stamp.get("threads"), stamp.get("reps"), stamp.get("date"), stamp.get("commit", "?"))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    print("wrote %s" % out, file=sys.stderr)
    return True


def main():
    args = parse_args()
    if args.threads < 1 or args.reps < 1:
        sys.exit("plot.py: --threads and --reps must be at least 1")
    records = load(args.source) if args.source else measure(args)
    stamp = next((r for r in records if r.get("kind") == "run"), None)
    rows = ratios(records)
    for w, ours_ms, found in rows:
        print("%s spbmm %.3f ms; %s" % (w, ours_ms, "; ".join(
            "%s %.3f ms (%.2fx)" % (label, ms, ratio) for label, ms, ratio in found)))
    plot(rows, stamp, args.out)


if __name__ == "__main__":
    main()
