#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Plots docs/memory/memory-{glibc,jemalloc}.csv (from tools/memory/compare.sh) and writes summary.md:
peak and time-averaged RSS and anonymous RSS for each allocator, and the RSS slope per hour of audio after
warm-up (the first 10% of the run), with the 1-minute runs' peaks for the length comparison."""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def slope_per_hour(rows, key):
    """Least-squares slope of `key` (MB) against audio hours, after the first 10% of the run."""
    start = rows[-1]["audio_seconds"] * 0.1
    pts = [(r["audio_seconds"] / 3600.0, r[key]) for r in rows if r["audio_seconds"] >= start]
    n = len(pts)
    if n < 3:
        return float("nan")
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else float("nan")


def main(out):
    runs = {name: load(os.path.join(out, f"memory-{name}.csv")) for name in ("glibc", "jemalloc")}
    short = {name: load(os.path.join(out, f"short-{name}.csv")) for name in ("glibc", "jemalloc")}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, rows in runs.items():
        t = [r["wall_seconds"] for r in rows]
        axes[0].plot(t, [r["rss_mb"] for r in rows], label=name)
        axes[1].plot(t, [r["anon_rss_mb"] for r in rows], label=name)
    axes[0].set_title("RSS over a long run")
    axes[1].set_title("anonymous RSS (heap, no library code)")
    for ax in axes:
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("MB")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "memory.png"), dpi=110)

    lines = ["| allocator | peak RSS MB | mean RSS MB | peak anon MB | mean anon MB | RSS slope MB/h of audio | "
             "1-min peak RSS MB | long/1-min peak |", "|---|---|---|---|---|---|---|---|"]
    stats = {}
    for name, rows in runs.items():
        peak = max(r["rss_mb"] for r in rows)
        mean = sum(r["rss_mb"] for r in rows) / len(rows)
        apeak = max(r["anon_rss_mb"] for r in rows)
        amean = sum(r["anon_rss_mb"] for r in rows) / len(rows)
        speak = max(r["rss_mb"] for r in short[name])
        stats[name] = (peak, mean, apeak, amean)
        lines.append(f"| {name} | {peak:.1f} | {mean:.1f} | {apeak:.1f} | {amean:.1f} | "
                     f"{slope_per_hour(rows, 'rss_mb'):+.2f} | {speak:.1f} | {peak / speak:.3f} |")
    g, j = stats["glibc"], stats["jemalloc"]
    lines.append("")
    lines.append(f"jemalloc / glibc: peak RSS {j[0] / g[0]:.3f}, mean RSS {j[1] / g[1]:.3f}, "
                 f"peak anon {j[2] / g[2]:.3f}, mean anon {j[3] / g[3]:.3f}")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/memory")
