#!/usr/bin/env python3
"""Plot a soak run: nodusd RSS and completed tasks per second over time.

    scripts/soak-plot.py SOAK.csv OUT.png [--title TEXT]

SOAK.csv is what apps/bench/bench_soak.sh writes (t_s, rss_kb, tasks_submitted, tasks_done,
live_tasks, held_bytes, client_sessions). Throughput is the difference of tasks_done between
samples over the time between them. Needs python3 and matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("out")
    ap.add_argument("--title", default="nodusd soak")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    with open(a.csv, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append({k: float(v) for k, v in r.items()})
    t = [r["t_s"] for r in rows]
    rss = [r["rss_kb"] / 1024.0 for r in rows]
    live = [r["live_tasks"] / 1000.0 for r in rows]
    rate_t, rate = [], []
    for p, q in zip(rows, rows[1:]):
        dt = q["t_s"] - p["t_s"]
        if dt > 0:
            rate_t.append(q["t_s"])
            rate.append((q["tasks_done"] - p["tasks_done"]) / dt / 1000.0)

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    ax1.plot(t, rss, color="tab:blue", label="nodusd RSS (MiB)")
    ax1.plot(t, live, color="tab:orange", linestyle="--", label="live tasks (thousands)")
    ax1.set_ylabel("MiB / thousands")
    ax1.legend(loc="upper right", fontsize="small")
    ax1.grid(linestyle=":", linewidth=0.5)
    ax1.set_title(a.title)
    ax2.step(rate_t, rate, where="pre", color="tab:green")
    ax2.set_ylabel("tasks done / s (thousands)")
    ax2.set_xlabel("time (s)")
    ax2.grid(linestyle=":", linewidth=0.5)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)


if __name__ == "__main__":
    main()
