#!/usr/bin/env python3
"""Runs spbmm and today's anchors on W1-W9 of bench/WORKLOADS.md in one run, and reports it.

One command measures everything on this machine, one program after the other, at the same thread
count and repetitions:
  spbmm bench W1-W9 (fp32) and W1 W3 (fp64)   spbmm, with its Eigen/OpenBLAS baselines and
                                               W7's forced and hindsight plans
  build/bench/mkl/bench_mkl (same workloads)   Intel MKL: gemm_batch(_strided), inspector-
                                               executor SpMM, sgemm 2048^3 (when MKL was found)
  bench_io FILE --keep                         writes the W3 Matrix Market file spbmm reads
  bench/anchors.py (same workloads, FILE)      torch, scipy, fast_matrix_market
then saves every JSON line with a stamp (date, CPU model, versions, command, commit) in
bench/results/, prints the headline table (anchor time / spbmm time against the bars of issue
12, as Markdown) and draws docs/performance.png. Run it with the environment that
bench/setup-anchors.sh makes (it has matplotlib and the anchors), after building with
-Dmkl_pkgconfig_dir=bench/.venv/lib/pkgconfig:

  bench/.venv/bin/python bench/plot.py --compile --threads 2 --reps 10
        compile what it runs, measure, save bench/results/anchors-<date>-<commit>.jsonl
        (and the table as .md beside it), draw the picture
  bench/.venv/bin/python bench/plot.py --from bench/results/anchors-....jsonl
        print and redraw from saved results without measuring

Without MKL (bench_mkl not built) or without a library of the anchors, the run goes on and the
table says what is missing. Older result files (torch 1.13, cpu_w1-w8.jsonl) are history: --from
reads them too, with the anchors they have.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from machine import cpu_model  # noqa: E402
ROOT = os.path.dirname(HERE)
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"]
PRODUCT_WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W8"]

# The bars of bench/WORKLOADS.md (ratio = anchor time / spbmm time; above 1 means spbmm is faster).
BAR_MKL = {"W1": 1.0, "W2": 1.2, "W3": 1.2, "W4": 1.2, "W5": 1.2, "W8": 1.2}
BAR_TORCH = {"W2": 1.5, "W3": 1.5, "W4": 1.5, "W5": 1.5, "W8": 1.5}
BAR_FMM = {"W6": 1.5, "W9": 1.5}
BAR_W1_OF_GEMM = 0.90  # spbmm's W1 rate / MKL's sgemm 2048^3 rate
BAR_W7 = 1.05  # auto time / hindsight per-entry-best plan time, at most

DESCRIPTION = {
    "W1": "64 x 256^3 dense", "W2": "20000 x 16^3 dense", "W3": "R-MAT 2^17, CSR x 64",
    "W4": "32 x CSR 4096^2 x 64", "W5": "2000 ragged dense", "W6": "MM read of W3",
    "W7": "dispatcher, 64 CSR", "W8": "512 graphs x 128", "W9": "MM write of W3",
}


def parse_args():
    p = argparse.ArgumentParser(description="Run spbmm and the anchors on W1-W9 in one run, "
                                            "save, tabulate and plot the results.")
    p.add_argument("--build", default=os.path.join(ROOT, "build"),
                   help="the Meson build folder (default: build)")
    p.add_argument("--python", default=None,
                   help="Python that runs anchors.py (default: bench/.venv/bin/python when "
                        "present, else this one)")
    p.add_argument("--compile", action="store_true",
                   help="bring spbmm, bench_io and bench_mkl (when configured) up to date first "
                        "(meson compile -C BUILD ...)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--from", dest="source", default=None,
                   help="tabulate and redraw from a saved .jsonl instead of measuring")
    p.add_argument("--save", default=None,
                   help="where the measured results go (default: "
                        "bench/results/anchors-<date>-<commit>.jsonl)")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.png"),
                   help="the picture (default: docs/performance.png); 'none' draws nothing")
    return p.parse_args()


def output_of(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=False).stdout.strip()
    except OSError:
        return ""


def run_json_lines(cmd, kind, records):
    """Runs cmd, keeps its JSON lines tagged with `kind`; a failure is recorded, not fatal."""
    print("+ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            r.setdefault("kind", kind)
            records.append(r)
    if proc.returncode != 0:
        note = "%s exited with status %d" % (os.path.basename(cmd[0]) if kind != "anchor"
                                             else "anchors.py", proc.returncode)
        print("plot.py: " + note, file=sys.stderr)
        records.append({"kind": "note", "text": note})


def measure(args):
    spbmm = os.path.join(args.build, "src", "cli", "spbmm")
    bench_mkl = os.path.join(args.build, "bench", "mkl", "bench_mkl")
    bench_io = os.path.join(args.build, "bench", "io", "bench_io")
    if args.compile:
        targets = ["src/cli/spbmm", "bench/io/bench_io"]
        with open(os.path.join(args.build, "build.ninja")) as f:
            if "bench/mkl/bench_mkl:" in f.read():
                targets.append("bench/mkl/bench_mkl")
        cmd = ["meson", "compile", "-C", args.build, *targets]
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    if not os.access(spbmm, os.X_OK):
        sys.exit("plot.py: no spbmm command at %s (build first, or give --build)" % spbmm)
    python = args.python
    if python is None:
        venv = os.path.join(HERE, ".venv", "bin", "python")
        python = venv if os.access(venv, os.X_OK) else sys.executable
    now = datetime.datetime.now(datetime.timezone.utc)
    commit = output_of(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = output_of(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    stamp = {"kind": "run", "date": now.strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu_model(),
             "machine": platform.machine(), "threads": args.threads, "reps": args.reps,
             "commit": commit + ("+changes" if dirty else ""),
             "command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, ROOT)
                                                          if sys.executable.startswith(ROOT)
                                                          else sys.executable,
                                                          os.path.relpath(__file__, ROOT)]
                                 + sys.argv[1:]),
             "compiler": (output_of(["c++", "--version"]).splitlines() or ["?"])[0],
             "load_before": os.getloadavg()[0]}
    records = [stamp]
    common = ["--threads", str(args.threads), "--reps", str(args.reps), "--json"]
    run_json_lines([spbmm, "bench", *WORKLOADS, *common], "spbmm", records)
    run_json_lines([spbmm, "bench", "W1", "W3", "--double", *common], "spbmm", records)
    if os.access(bench_mkl, os.X_OK):
        run_json_lines([bench_mkl, "all", *common], "mkl", records)
        run_json_lines([bench_mkl, "W1", "W3", "--double", *common], "mkl", records)
    else:
        records.append({"kind": "note", "text": "MKL anchors absent: %s was not built (run "
                        "bench/setup-anchors.sh, then meson configure -Dmkl_pkgconfig_dir="
                        "bench/.venv/lib/pkgconfig)" % bench_mkl})
        print("plot.py: " + records[-1]["text"], file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="spbmm_plot_")
    try:
        mtx = os.path.join(tmp, "w3.mtx")
        io_cmd = [bench_io, mtx, "--runs", "1", "--threads", str(args.threads), "--keep"]
        print("+ " + " ".join(io_cmd), file=sys.stderr, flush=True)
        made = os.access(bench_io, os.X_OK) and subprocess.run(
            io_cmd, stdout=subprocess.DEVNULL, check=False).returncode == 0
        anchors = [w for w in WORKLOADS if w != "W7" and (made or w not in ("W6", "W9"))]
        run_json_lines([python, os.path.join(HERE, "anchors.py"), *anchors, *common]
                       + (["--mtx", mtx] if made else []), "anchor", records)
        run_json_lines([python, os.path.join(HERE, "anchors.py"), "W1", "W3", "--double",
                        *common], "anchor", records)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stamp["load_after"] = os.getloadavg()[0]
    save = args.save or os.path.join(HERE, "results", "anchors-%s-%s.jsonl" % (
        now.strftime("%Y%m%d-%H%M"), commit))
    os.makedirs(os.path.dirname(os.path.abspath(save)), exist_ok=True)
    with open(save, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    print("saved %s" % save, file=sys.stderr)
    return records, save


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- the headline ----------------------------------------------------------------------------

def index(records, kind, precision="fp32"):
    out = {}
    for r in records:
        if r.get("kind") == kind and r.get("precision", precision) == precision and "workload" in r:
            out[r["workload"]] = r
    # anchors.py reports W6/W9 as fp64 (fast_matrix_market reads doubles); spbmm's are fp32.
    if kind == "anchor" and precision == "fp32":
        for r in records:
            if r.get("kind") == "anchor" and r.get("workload") in ("W6", "W9"):
                out[r["workload"]] = r
    return out


def usable(entries, prefix=None, exclude=None):
    """(name, seconds) of the correct, counted entries, optionally those whose name starts with
    one of `prefix`."""
    found = []
    for e in entries:
        name = e.get("name", "")
        if not e.get("seconds") or e.get("correct") is False or e.get("counted") is False:
            continue
        if prefix and not name.startswith(prefix):
            continue
        if exclude and name.startswith(exclude):
            continue
        found.append((name, e["seconds"]))
    return found


def best(entries, prefix=None, exclude=None):
    found = usable(entries, prefix, exclude)
    return min(found, key=lambda x: x[1]) if found else None


def verdict(ratio, bar):
    if ratio is None:
        return "not measured"
    return "met" if ratio >= bar else "**not met**"


def headline(records):
    """Rows for the table and the picture: per workload, spbmm's time and each comparison."""
    sp = index(records, "spbmm")
    mk = index(records, "mkl")
    an = index(records, "anchor")
    rows = []
    for w in WORKLOADS:
        if w not in sp:
            continue
        s = sp[w]
        ours = s["spbmm_seconds"]
        comps = []  # (family, anchor name, anchor seconds, ratio, bar or None, bar text)
        if w in PRODUCT_WORKLOADS:
            m = mk.get(w)
            if m:
                variant = best(m["anchors"], prefix="gemm_batch") if w == "W1" else best(
                    m["anchors"])
                if variant:
                    comps.append(("MKL", variant[0], variant[1], variant[1] / ours, BAR_MKL.get(w),
                                  ">= %.1fx" % BAR_MKL[w]))
            t = best(an.get(w, {}).get("anchors", []), prefix="torch")
            if t:
                comps.append(("torch", t[0], t[1], t[1] / ours, BAR_TORCH.get(w),
                              ">= %.1fx" % BAR_TORCH[w] if w in BAR_TORCH else ""))
            sc = best(an.get(w, {}).get("anchors", []), prefix="scipy")
            if sc:
                comps.append(("scipy", sc[0], sc[1], sc[1] / ours, None, ""))
            if w == "W1" and mk.get("GEMM2048"):
                g = mk["GEMM2048"]
                gb = best(g["anchors"])
                if gb:
                    gemm_rate = g["flops"] / gb[1] * 1e-9
                    ours_rate = s.get("gflops", 0)
                    comps.append(("MKL", "sgemm 2048^3 rate %.0f GFLOP/s" % gemm_rate, None,
                                  ours_rate / gemm_rate, BAR_W1_OF_GEMM,
                                  ">= %.0f%% of the rate" % (BAR_W1_OF_GEMM * 100)))
        elif w in ("W6", "W9"):
            entries = an.get(w, {}).get("anchors", [])
            f = best(entries, prefix="fmm")
            if f:
                comps.append(("fast_matrix_market", f[0], f[1], f[1] / ours, BAR_FMM[w],
                              ">= %.1fx" % BAR_FMM[w]))
            sc = best(entries, prefix="scipy")
            if sc:
                comps.append(("scipy", sc[0], sc[1], sc[1] / ours, None, ""))
        elif w == "W7":
            for b in s.get("baselines", []):
                if b.get("name") == "per-entry-best" and b.get("seconds"):
                    # Bar: auto <= 1.05 x hindsight, i.e. hindsight / auto >= 1 / 1.05.
                    comps.append(("hindsight", "per-entry-best plan", b["seconds"],
                                  b["seconds"] / ours, 1.0 / BAR_W7, "auto within %.2fx" % BAR_W7))
            forced = [(b["name"], b["seconds"]) for b in s.get("baselines", [])
                      if b.get("name", "").startswith("forced-") and b.get("seconds")]
            if forced:
                n, sec = min(forced, key=lambda x: x[1])
                comps.append(("forced", n, sec, sec / ours, None, ""))
        rows.append((w, s, comps))
    return rows


def label(fam, name):
    """"torch.bmm" rather than "torch torch.bmm"; "MKL ie-loop" as it is."""
    return name if name.lower().startswith(fam.lower()[:3]) else "%s %s" % (fam, name)


def fmt_ms(seconds):
    return "%.3g ms" % (seconds * 1e3) if seconds is not None else ""


def versions_of(records):
    v = {}
    for r in records:
        if r.get("kind") == "versions":
            v.update(r.get("versions", {}))
        if r.get("kind") == "mkl" and r.get("mkl_version"):
            v["Intel MKL"] = r["mkl_version"]
    return v


def table(records):
    stamp = next((r for r in records if r.get("kind") == "run"), {})
    lines = []
    v = versions_of(records)
    lines.append("Run: %s; CPU %s; %s threads, best of %s after a warm-up; commit %s" % (
        stamp.get("date", "?"), stamp.get("cpu", stamp.get("machine", "?")),
        stamp.get("threads", "?"), stamp.get("reps", "?"), stamp.get("commit", "?")))
    if stamp.get("command"):
        lines.append("Command: `%s`" % stamp["command"])
    if v:
        lines.append("Versions: " + ", ".join("%s %s" % kv for kv in v.items()))
    for r in records:
        if r.get("kind") == "note":
            lines.append("Note: " + r["text"])
    lines.append("")
    lines.append("| id | spbmm | anchor | anchor / spbmm | bar | verdict |")
    lines.append("|---|---|---|---|---|---|")
    for w, s, comps in headline(records):
        ours = s["spbmm_seconds"]
        rate = ("%.1f GFLOP/s" % s["gflops"]) if s.get("gflops") else \
            ("%.0f MB/s" % s["mb_per_s"]) if s.get("mb_per_s") else ""
        first = True
        if not comps:
            comps = [("-", "no anchor in this run", None, None, None, "")]
        for fam, name, sec, ratio, bar, bar_text in comps:
            cell_id = "%s %s" % (w, DESCRIPTION[w]) if first else ""
            cell_sp = "%s (%s)" % (fmt_ms(ours), rate) if first else ""
            what = "%s %s" % (label(fam, name), fmt_ms(sec))
            rtxt = "" if ratio is None else (
                "%.0f%%" % (ratio * 100) if "rate" in bar_text else "%.2fx" % ratio)
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                cell_id, cell_sp, what.strip(), rtxt, bar_text,
                verdict(ratio, bar) if bar is not None else ""))
            first = False
    # fp64 (reported, no bar)
    sp64, mk64, an64 = (index(records, k, "fp64") for k in ("spbmm", "mkl", "anchor"))
    fp64 = []
    for w in ("W1", "W3"):
        if w not in sp64:
            continue
        ours = sp64[w]["spbmm_seconds"]
        parts = ["spbmm %s" % fmt_ms(ours)]
        m = best(mk64.get(w, {}).get("anchors", []))
        if m:
            parts.append("MKL %s %s (%.2fx)" % (m[0], fmt_ms(m[1]), m[1] / ours))
        t = best(an64.get(w, {}).get("anchors", []), prefix="torch")
        if t:
            parts.append("torch %s %s (%.2fx)" % (t[0], fmt_ms(t[1]), t[1] / ours))
        fp64.append("- %s fp64: %s" % (w, "; ".join(parts)))
    if fp64:
        lines.append("")
        lines.append("fp64 (reported, no bar):")
        lines.extend(fp64)
    return "\n".join(lines)


def plot(records, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("plot.py: matplotlib is not installed; no picture drawn", file=sys.stderr)
        return False
    colors = {"MKL": "#0071c5", "torch": "#ee4c2c", "scipy": "#8caae6",
              "fast_matrix_market": "#4d9a4d", "hindsight": "#7f6a93", "forced": "#b0b0b0"}
    bars, ticks, tick_pos = [], [], []
    y = 0.0
    for w, s, comps in headline(records):
        start = y
        for fam, name, sec, ratio, bar, bar_text in comps:
            if ratio is None:
                continue
            text = label(fam, name) + ("  (%s)" % fmt_ms(sec) if sec is not None else "")
            bars.append((y, ratio, bar, colors.get(fam, "#888888"), text))
            y += 1
        if y > start:
            ours = s["spbmm_seconds"]
            ticks.append("%s\nspbmm %s" % (w, fmt_ms(ours)))
            tick_pos.append((start + y - 1) / 2)
        y += 0.8
    if not bars:
        print("plot.py: nothing to draw", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(10, 0.27 * y + 1.6))
    for pos, ratio, bar, c, text in bars:
        ax.barh(pos, ratio, color=c, height=0.8)
        if bar is not None:
            ax.plot([bar, bar], [pos - 0.45, pos + 0.45], color="black", linewidth=2)
        ax.text(max(ratio, bar or 0) * 1.05, pos, "%.2fx  %s" % (ratio, text), va="center",
                fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%gx" % v))
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(tick_pos)
    ax.set_yticklabels(ticks, fontsize=8)
    ax.invert_yaxis()
    hi = max(r for _, r, _, _, _ in bars)
    lo = min(r for _, r, _, _, _ in bars)
    ax.set_xlim(min(0.5, lo * 0.8), hi * 6)
    ax.set_xlabel("time of the anchor / time of spbmm (log scale; > 1: spbmm is faster); "
                  "black ticks: the bars of bench/WORKLOADS.md")
    stamp = next((r for r in records if r.get("kind") == "run"), {})
    v = versions_of(records)
    title = "spbmm against today's anchors, bench/WORKLOADS.md W1-W9 (fp32)\n%s, %s threads, " \
            "best of %s, %s, commit %s\n%s" % (
                stamp.get("cpu", "?"), stamp.get("threads"), stamp.get("reps"),
                stamp.get("date"), stamp.get("commit", "?"),
                ", ".join("%s %s" % kv for kv in v.items() if kv[0] != "numpy"))
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    print("wrote %s" % out, file=sys.stderr)
    return True


def main():
    args = parse_args()
    if args.threads < 1 or args.reps < 1:
        sys.exit("plot.py: --threads and --reps must be at least 1")
    if args.source:
        records, save = load(args.source), None
    else:
        records, save = measure(args)
    text = table(records)
    print(text)
    if save:
        with open(os.path.splitext(save)[0] + ".md", "w") as f:
            f.write(text + "\n")
    if args.out != "none":
        plot(records, args.out)


if __name__ == "__main__":
    main()
