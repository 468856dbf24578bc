#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Render the plots of an `arpipe-bench` run from its bench.json.

    /usr/bin/python3 tools/bench/plot.py docs/bench            # reads docs/bench/bench.json, writes PNGs there
    /usr/bin/python3 tools/bench/plot.py results/bench.json -o /tmp/plots

Needs matplotlib (Debian: apt install python3-matplotlib). Writes:
  cpu_utilisation.png   CPU utilisation vs engine threads, one line per intra-op count (case study, figure 3)
  processing_time.png   processing time vs engine threads, one line per intra-op count (case study, figure 4)
  speedup.png           throughput over arpipe's 1-thread throughput vs threads/processes, three engines
  batch_tokens.png      arpipe throughput vs batch size and vs live tokens
  paired.png            the paired rounds: throughput of each engine in each round
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "bench.json")
    with open(path) as f:
        return json.load(f), os.path.dirname(os.path.abspath(path))


def points(doc, experiment, engine=None, **fixed):
    out = []
    for p in doc["points"]:
        if p["experiment"] != experiment or (engine and p["engine"] != engine):
            continue
        if any(p[k] != v for k, v in fixed.items()):
            continue
        out.append(p)
    return sorted(out, key=lambda p: (p["threads"], p["batch"], p["tokens"]))


def audio_format(workload):
    """' 44.1 kHz stereo mp3' for a synthetic workload (bench.json records it since the format flags), else ''."""
    if "format" not in workload:
        return ""
    channels = workload.get("channels", 1)
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}-channel")
    return f" {workload['sample_rate_hz'] / 1000:g} kHz {layout} {workload['format']}"


def subtitle(doc, runs=None):
    h, w, m = doc["host"], doc["workload"], doc["model"]
    runs = runs or f"median of {doc['settings']['repeats']} runs per point"
    return (f"{h['planned_cores']} cores ({h['cpu_model']}), model {m['name']}, "
            f"{w['audio_seconds']:.0f} s of{audio_format(w)} audio in {w['inputs']} files, {runs}")


def cores_marker(ax, doc):
    """A dotted line at the core count, and whole-number ticks on the threads axis."""
    ax.axvline(doc["host"]["planned_cores"], color="0.7", lw=0.8, ls=":", zorder=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def intra_colour(doc, intra):
    """The naive engine's line colour for an intra-op count, the same in every plot."""
    return f"C{doc['settings']['intra_op'].index(intra) % 3}" if intra in doc["settings"]["intra_op"] else "C4"


def engine_lines(doc, metric, scale=1.0):
    """(label, xs, ys, style) for arpipe, the naive engine per intra-op count, and multiproc."""
    lines = []
    for intra in doc["settings"]["intra_op"]:
        pts = points(doc, "scaling", "naive", intra_op=intra)
        if pts:
            lines.append((f"naive, intra-op {intra} (main thread only)", [p["threads"] for p in pts],
                          [p["median"][metric] * scale for p in pts],
                          dict(ls="--", marker="o", color=intra_colour(doc, intra))))
    pts = points(doc, "scaling", "multiproc")
    if pts:
        lines.append(("multi-process, 1 thread each (x = processes)", [p["threads"] for p in pts],
                      [p["median"][metric] * scale for p in pts], dict(ls="-.", marker="s", color="0.35")))
    pts = points(doc, "scaling", "arpipe")
    if pts:
        lines.append(("arpipe (TBB arena, torch pools at 1)", [p["threads"] for p in pts],
                      [p["median"][metric] * scale for p in pts], dict(lw=2.5, marker="D", color="C3")))
    return lines


def plot_case_study(doc, out_dir):
    figs = [("cpu_utilisation.png", "cpu_util", 100.0, "CPU utilisation, % of all cores",
             "CPU utilisation vs engine threads (case study figure 3)"),
            ("processing_time.png", "wall_s", 1.0, "processing time, s",
             "Processing time vs engine threads (case study figure 4)")]
    written = []
    for name, metric, scale, ylabel, title in figs:
        lines = engine_lines(doc, metric, scale)
        if not lines:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        for label, xs, ys, style in lines:
            ax.plot(xs, ys, label=label, **style)
        cores_marker(ax, doc)
        ax.set_xlabel("engine threads (processes for multi-process)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.set_title(title + "\n" + subtitle(doc), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, name), dpi=110)
        plt.close(fig)
        written.append(name)
    return written


def plot_speedup(doc, out_dir):
    cores = doc["host"]["planned_cores"]
    base = points(doc, "scaling", "arpipe", threads=1)
    if not base:
        return []
    base_thr = base[0]["median"]["throughput_x"]
    fig, ax = plt.subplots(figsize=(8, 5))
    shown = [("arpipe", points(doc, "scaling", "arpipe"), dict(lw=2.5, marker="D", color="C3")),
             ("naive, intra-op 1 (main thread only)",
              points(doc, "scaling", "naive", intra_op=1), dict(ls="--", marker="o", color=intra_colour(doc, 1))),
             (f"naive, intra-op {cores} (main thread only)",
              points(doc, "scaling", "naive", intra_op=cores),
              dict(ls="--", marker="o", color=intra_colour(doc, cores))),
             ("multi-process (x = processes)", points(doc, "scaling", "multiproc"),
              dict(ls="-.", marker="s", color="0.35"))]
    xmax = 1
    for label, pts, style in shown:
        if pts:
            xs = [p["threads"] for p in pts]
            xmax = max(xmax, max(xs))
            ax.plot(xs, [p["median"]["throughput_x"] / base_thr for p in pts], label=label, **style)
    xs = list(range(1, xmax + 1))
    ax.plot(xs, [min(x, cores) for x in xs], color="0.6", lw=1, label="ideal: min(threads, cores)")
    cores_marker(ax, doc)
    ax.set_xlabel("threads (processes for multi-process)")
    ax.set_ylabel(f"throughput / arpipe at 1 thread ({base_thr:.0f}x real time)")
    ax.set_ylim(bottom=0)
    ax.set_title("Speedup vs threads, three engines\n" + subtitle(doc), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "speedup.png"), dpi=110)
    plt.close(fig)
    return ["speedup.png"]


def plot_batch_tokens(doc, out_dir):
    b = points(doc, "batch", "arpipe")
    t = points(doc, "tokens", "arpipe")
    if not b and not t:
        return []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, pts, key, xlabel in ((axes[0], b, "batch", "batch (segments per model call)"),
                                 (axes[1], t, "tokens", "live tokens (--tokens)")):
        if pts:
            pts = sorted(pts, key=lambda p: p[key])
            ax.plot([p[key] for p in pts], [p["median"]["throughput_x"] for p in pts], marker="D", color="C3")
            ax.set_xscale("log", base=2)
            ax.set_xticks([p[key] for p in pts])
            ax.set_xticklabels([str(p[key]) for p in pts])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("throughput, x real time")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    threads = (b or t)[0]["threads"]
    fig.suptitle(f"arpipe at -j {threads}: batch size and live tokens\n" + subtitle(doc), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "batch_tokens.png"), dpi=110)
    plt.close(fig)
    return ["batch_tokens.png"]


def plot_paired(doc, out_dir):
    pts = points(doc, "paired")
    if not pts:
        return []
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, p in enumerate(pts):
        ys = [s["throughput_x"] for s in p["samples"]]
        ax.scatter([i] * len(ys), ys, s=14, color="C3" if p["engine"] == "arpipe" else "C0", alpha=0.7)
        ax.hlines(p["median"]["throughput_x"], i - 0.3, i + 0.3, color="k")
    ax.set_xticks(range(len(pts)))
    ax.set_xticklabels([p["label"].replace(" B=", "\nB=") for p in pts], fontsize=8)
    ax.set_ylabel("throughput, x real time (dots: rounds, bar: median)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"Paired rounds: every engine once per round, back to back\n"
                 + subtitle(doc, f"{doc['settings']['pairs']} rounds"), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "paired.png"), dpi=110)
    plt.close(fig)
    return ["paired.png"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="bench.json, or the folder that holds it")
    ap.add_argument("-o", "--out", help="folder for the PNG files (default: beside bench.json)")
    args = ap.parse_args()
    doc, where = load(args.results)
    out_dir = args.out or where
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for f in (plot_case_study, plot_speedup, plot_batch_tokens, plot_paired):
        written += f(doc, out_dir)
    if not written:
        sys.exit("nothing to plot: the results have no scaling, batch, tokens or paired points")
    for name in written:
        print(os.path.join(out_dir, name))


if __name__ == "__main__":
    main()
