#!/usr/bin/env python3
"""Tables and PNG plots for the benchmark CSVs that apps/bench/run_*.sh write.

    plot_bench.py metg METG.csv OUT.png          -> markdown on stdout
    plot_bench.py interference INTERF.csv OUT.png -> markdown on stdout

metg: efficiency = GFLOP/s of a run over the peak, the best GFLOP/s any runtime reached at the
largest task size (Task Bench's "peak measured the same way with large tasks"); granularity =
wall time x cores / tasks. METG(50%) is reported two ways: the smallest measured granularity
whose efficiency is >= 50% (over all points of the runtime), and the 50% crossing interpolated
linearly in log(granularity) between that point and the next smaller task size when that one
is below 50% (n/a when no smaller size was measured). Needs python3-matplotlib.
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def metg(path, png):
    rows = read(path)
    by_rt = defaultdict(list)
    for r in rows:
        by_rt[r["runtime"]].append(
            (int(r["iters"]), float(r["granularity_us"]), float(r["gflops"])))
    max_iters = max(it for pts in by_rt.values() for it, _, _ in pts)
    peak = max(g for pts in by_rt.values() for it, _, g in pts if it == max_iters)
    print("| runtime | peak GFLOP/s (largest tasks) | METG(50%) measured, µs | "
          "METG(50%) interpolated, µs |")
    print("|---|---|---|---|")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for rt, pts in by_rt.items():
        pts.sort(key=lambda p: -p[0])  # largest tasks first, as swept
        effs = [(gran, g / peak) for _, gran, g in pts]
        # measured: the smallest granularity of any point at >= 50% (noise can make the curve
        # dip and recover); interpolated: the crossing between that point and the next smaller
        # task size, in log(granularity)
        measured = interp = None
        ok = [i for i, (_, eff) in enumerate(effs) if eff >= 0.5]
        if ok:
            i = min(ok, key=lambda j: effs[j][0])
            measured = effs[i][0]
            if i + 1 < len(effs) and effs[i + 1][1] < 0.5:
                (g0, e0), (g1, e1) = effs[i], effs[i + 1]
                t = (e0 - 0.5) / (e0 - e1)
                interp = math.exp(math.log(g0) + t * (math.log(g1) - math.log(g0)))
        own_peak = max(g for it, _, g in pts if it == max_iters)
        fmt = lambda v: "n/a" if v is None else "%.1f" % v  # noqa: E731
        print("| %s | %.2f | %s | %s |" % (rt, own_peak, fmt(measured), fmt(interp)))
        ax.plot([g for g, _ in effs], [100 * e for _, e in effs], marker="o", label=rt)
    ax.axhline(50, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("task granularity (µs: wall time x cores / tasks)")
    ax.set_ylabel("efficiency (% of peak FLOP/s)")
    ax.set_ylim(0, 110)
    ax.set_title("stencil_1d, width = cores: efficiency vs task granularity")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print()
    print("Peak for efficiency: %.2f GFLOP/s (best of all runtimes at %d iterations per task)."
          % (peak, max_iters))


def interference(path, png):
    rows = read(path)
    sizes = sorted({int(r["size"]) for r in rows})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
    print("| SGEMM size | tasks | held (1 thread/task): ms | OpenBLAS default: ms | "
          "default / held |")
    print("|---|---|---|---|---|")
    for ax, size in zip(axes[0], sizes):
        series = defaultdict(dict)
        threads = {}
        for r in rows:
            if int(r["size"]) == size:
                series[r["hold"]][int(r["tasks"])] = 1e3 * float(r["wall_s"])
                threads[r["hold"]] = r["blas_threads"]
        for t in sorted(series.get("yes", {})):
            held, free = series["yes"][t], series.get("no", {}).get(t)
            print("| %d | %d | %.2f | %s | %s |" % (
                size, t, held, "%.2f" % free if free else "n/a",
                "%.2f" % (free / held) if free else "n/a"))
        for hold, label in (("yes", "held by libnodus"), ("no", "OpenBLAS default")):
            pts = sorted(series.get(hold, {}).items())
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                        label="%s (%s BLAS threads/task)" % (label, threads.get(hold, "?")))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("tasks")
        ax.set_ylabel("time (ms)")
        ax.set_title("OpenBLAS SGEMM %dx%d per task" % (size, size))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("metg", "interference"):
        sys.exit(__doc__)
    {"metg": metg, "interference": interference}[sys.argv[1]](sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
