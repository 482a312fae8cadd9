#!/usr/bin/env python3
"""Draw a nodus trace as a Gantt chart of cores x time, bars coloured by job.

    scripts/trace-gantt.py TRACE.json OUT.png [--title TEXT] [--width INCHES]

TRACE.json is what `nodusctl trace stop FILE` writes (Chrome/Perfetto trace JSON): "X" events
on process 1 ("cores", one thread per CPU) are task bodies, on process 2 ("devices", one thread
per device slot) device work. Each job (uid and job name) gets a colour and a legend entry;
device tracks, when present, are drawn below the cores. Needs python3 and matplotlib
(Debian: python3-matplotlib).
"""
import argparse
import json
import sys

PID_CORES = 1
PID_DEVICES = 2


def load(path):
    with open(path, encoding="utf-8") as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {}  # (pid, tid) -> track name
    bars = []  # (pid, tid, start_us, dur_us, job)
    for e in events:
        ph, pid, tid = e.get("ph"), e.get("pid"), e.get("tid")
        if ph == "M" and e.get("name") == "thread_name":
            names[(pid, tid)] = e.get("args", {}).get("name", str(tid))
        elif ph == "X" and pid in (PID_CORES, PID_DEVICES):
            args = e.get("args", {})
            job = "%s (uid %s)" % (args.get("job") or "-", args.get("uid", "?"))
            bars.append((pid, tid, float(e["ts"]), float(e.get("dur", 0)), job))
    return names, bars


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--title", default=None)
    ap.add_argument("--width", type=float, default=12.0)
    a = ap.parse_args()

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        sys.exit("trace-gantt: matplotlib is missing (Debian: apt install python3-matplotlib)")

    names, bars = load(a.trace)
    if not bars:
        sys.exit("trace-gantt: %s holds no task events" % a.trace)

    # rows: cores by CPU id, then device slots by tid; the first row at the top
    tracks = sorted({(p, t) for p, t, *_ in bars})
    row = {track: i for i, track in enumerate(tracks)}
    jobs = sorted({b[4] for b in bars})
    cmap = plt.get_cmap("tab20" if len(jobs) > 10 else "tab10")
    colour = {job: cmap(i % cmap.N) for i, job in enumerate(jobs)}

    # milliseconds read better than microseconds for runs of seconds
    t0 = min(b[2] for b in bars)
    t1 = max(b[2] + b[3] for b in bars)
    scale, unit = (1e-3, "ms") if t1 - t0 > 2000 else (1.0, "µs")

    height = max(2.5, 0.35 * len(tracks) + 1.5)
    fig, ax = plt.subplots(figsize=(a.width, height))
    by_row_job = {}
    for pid, tid, ts, dur, job in bars:
        by_row_job.setdefault((row[(pid, tid)], job), []).append(((ts - t0) * scale, dur * scale))
    for (r, job), spans in by_row_job.items():
        ax.broken_barh(spans, (r - 0.4, 0.8), facecolors=colour[job], edgecolor="none")

    labels = [names.get(t, "%s %s" % ("cpu" if t[0] == PID_CORES else "device", t[1])) for t in tracks]
    ax.set_yticks(range(len(tracks)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(len(tracks) - 0.5, -0.5)
    ncores = sum(1 for t in tracks if t[0] == PID_CORES)
    if ncores < len(tracks):
        ax.axhline(ncores - 0.5, color="black", linewidth=0.8)
    ax.set_xlim(0, (t1 - t0) * scale)
    ax.set_xlabel("time (%s)" % unit)
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    busy = sum(b[3] for b in bars if b[0] == PID_CORES)
    span = (t1 - t0) * max(ncores, 1)
    ax.set_title(
        a.title
        or "%s: %d task slices on %d cores, %.0f%% busy"
        % (a.trace.split("/")[-1], len(bars), ncores, 100 * busy / span if span else 0)
    )
    ax.legend(
        handles=[Patch(facecolor=colour[j], label=j) for j in jobs],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title="job",
    )
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("trace-gantt: %s: %d bars, %d tracks, %d jobs" % (a.out, len(bars), len(tracks), len(jobs)))


if __name__ == "__main__":
    main()
