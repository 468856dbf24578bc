#!/usr/bin/python3
# Copyright arpipe contributors. Licensed under the Apache License, Version 2.0.
"""Check data/models/silero_vad.pt (TorchScript port of Silero VAD) against ONNX Runtime outputs.

  golden    compare the model with tests/data/silero_golden.json (written by silero_reference.mjs
            golden): every segment run alone (B = 1) and all segments in one batch.
  boundary  compare arpipe's segmenting rule (segments of S samples every H samples, state reset per
            segment, the first S - H samples of every segment but the first dropped) with one streaming
            run of the ONNX model over a whole long recording (silero_reference.mjs stream output).

Run with Debian's python (/usr/bin/python3, python3-torch 1.13). Exit status 1 when the port is off by
more than --tol.
"""
import argparse
import json
import sys
import wave

import numpy as np
import torch

CHUNK = 512


def load_model(path):
    extra = {"arpipe.json": ""}
    model = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    model.eval()
    desc = json.loads(extra["arpipe.json"])
    assert desc["format"] == "arpipe-model/1" and desc["input"]["kind"] == "waveform", desc
    assert desc["output"] == {"kind": "frames", "frame_hop_seconds": 0.032, "activation": "none"}, desc
    assert desc["sample_rate_hz"] == 16000 and desc["labels"] == ["speech"], desc
    return model, desc


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == 16000, path
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def window(x, start, length):
    w = np.zeros(length, dtype=np.float32)
    part = x[start:start + length]
    w[:len(part)] = part
    return w


def run(model, batch):
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).numpy()


def segment_starts(n, seg, hop):
    starts = [0]
    while starts[-1] + seg < n:
        starts.append(starts[-1] + hop)
    return starts


def segmented_probs(model, x, seg, hop, batch=8):
    """Frame probabilities as arpipe computes them: context frames of later segments dropped."""
    starts = segment_starts(len(x), seg, hop)
    ctx = (seg - hop) // CHUNK
    out = []
    for b in range(0, len(starts), batch):
        rows = starts[b:b + batch]
        # Pad the last batch with zero segments as arpipe does (fixed shapes); drop those rows.
        data = np.stack([window(x, s, seg) for s in rows] + [np.zeros(seg, np.float32)] * (batch - len(rows)))
        probs = run(model, data)[:len(rows), :, 0]
        for i, p in zip(range(b, b + len(rows)), probs):
            out.append(p if i == 0 else p[ctx:])
    frames = -(-len(x) // CHUNK)
    return np.concatenate(out)[:frames]


def hysteresis(p, on=0.5, off=0.35):
    """arpipe's default event state per frame: opens at p >= on, closes at p < off."""
    state, out = False, np.zeros(len(p), dtype=bool)
    for i, v in enumerate(p):
        state = v >= off if state else v >= on
        out[i] = state
    return out


def cmd_golden(args):
    model, desc = load_model(args.model)
    with open(args.golden) as f:
        golden = json.load(f)
    x = read_wav(golden["audio"] if args.audio is None else args.audio)
    seg = golden["segment_samples"]
    assert golden["sample_rate_hz"] == 16000 and seg % CHUNK == 0
    if round(desc["segment"]["seconds"] * 16000) != seg:
        print(f"note: golden segment_samples {seg} != model segment {desc['segment']['seconds']} s")
    worst = 0.0
    windows = []
    for s in golden["segments"]:
        ref = np.asarray(s["probs"], dtype=np.float64)
        got = run(model, window(x, s["start_sample"], seg)[None])[0, :, 0]
        assert got.shape == ref.shape, (got.shape, ref.shape)
        d = float(np.abs(got - ref).max())
        worst = max(worst, d)
        windows.append(window(x, s["start_sample"], seg))
        print(f"segment at sample {s['start_sample']:7d}: {len(ref)} frames, max abs diff {d:.3g}")
    batched = run(model, np.stack(windows))[:, :, 0]
    ref_all = np.asarray([s["probs"] for s in golden["segments"]])
    d = float(np.abs(batched - ref_all).max())
    worst = max(worst, d)
    print(f"all {len(windows)} segments as one batch: max abs diff {d:.3g}")
    print(f"port max abs diff vs ONNX Runtime: {worst:.3g} (tolerance {args.tol:g})")
    return 0 if worst <= args.tol else 1


def cmd_boundary(args):
    model, desc = load_model(args.model)
    with open(args.stream) as f:
        ref = json.load(f)
    x = read_wav(ref["wav"] if args.wav is None else args.wav)
    assert len(x) == ref["samples"]
    stream = np.asarray(ref["stream"], dtype=np.float64)
    frames = len(stream)
    print(f"{ref['wav']}: {len(x) / 16000:.2f} s, {frames} frames; reference = one streaming ONNX run")
    print(f"  speech frames (p >= 0.5) in the streaming run: {int((stream >= 0.5).sum())}")

    # The port on the whole file as one segment is the same computation as the streaming run.
    whole = run(model, window(x, 0, frames * CHUNK)[None])[0, :, 0]
    port_diff = float(np.abs(whole - stream).max())
    print(f"port, whole file as one segment vs ONNX stream: max abs diff {port_diff:.3g}")

    configs = [(round(desc["segment"]["seconds"] * 16000), round(desc["segment"]["hop_seconds"] * 16000))]
    for c in ref["segmented"]:
        if tuple(map(int, c.split(":"))) not in configs:
            configs.append(tuple(map(int, c.split(":"))))
    hs = hysteresis(stream)
    print("\n(a) arpipe's segment grid on this file vs the streaming run, per 32 ms frame "
          "(flips: frames on the other side of 0.5; hyst: frames whose 0.5/0.35 hysteresis state differs)")
    print(f"{'segment s':>9} {'hop s':>6} {'ctx s':>6} {'overlap':>7} | {'max abs':>7} {'mean abs':>8} "
          f"{'p99 abs':>7} {'flips':>5} {'hyst':>5} | ONNX-segmented: {'max abs':>7} {'flips':>5}")
    for seg, hop in configs:
        ts = segmented_probs(model, x, seg, hop)
        d = np.abs(ts - stream)
        flips = int(((ts >= 0.5) != (stream >= 0.5)).sum())
        hyst = int((hysteresis(ts) != hs).sum())
        key = f"{seg}:{hop}"
        onnx_part = "      -     -"
        if key in ref["segmented"]:
            oseg = np.asarray(ref["segmented"][key])
            onnx_part = f"{float(np.abs(oseg - stream).max()):7.4f} {int(((oseg >= 0.5) != (stream >= 0.5)).sum()):5d}"
        mark = "  <- arpipe.json" if (seg, hop) == configs[0] else ""
        print(f"{seg / 16000:9.3f} {hop / 16000:6.3f} {(seg - hop) / 16000:6.3f} {seg / hop:6.2f}x | "
              f"{d.max():7.4f} {d.mean():8.2e} {np.percentile(d, 99):7.4f} {flips:5d} {hyst:5d} | "
              f"                {onnx_part}{mark}")

    # (b) Boundaries fall wherever the grid puts them: average over many reset points instead of one grid.
    longest = max(seg for seg, _ in configs) // CHUNK
    resets = list(range(8, frames - longest, args.reset_stride))
    if not resets:
        return 0 if port_diff <= args.tol else 1
    diffs = np.zeros((len(resets), longest))
    flips = np.zeros((len(resets), longest), dtype=bool)
    for b in range(0, len(resets), 16):
        rows = resets[b:b + 16]
        p = run(model, np.stack([window(x, r * CHUNK, longest * CHUNK) for r in rows]))[:, :, 0]
        for i, (r, q) in enumerate(zip(rows, p)):
            diffs[b + i] = np.abs(q - stream[r:r + longest])
            flips[b + i] = (q >= 0.5) != (stream[r:r + longest] >= 0.5)
    print(f"\n(b) state reset at {len(resets)} points (every {args.reset_stride} frames) vs the streaming run: "
          f"frames kept by each config (from ctx to segment end after the reset)")
    print(f"{'segment s':>9} {'hop s':>6} {'ctx s':>6} {'overlap':>7} | {'mean abs':>8} {'p99 abs':>7} {'max abs':>7} {'flips':>6}")
    for seg, hop in configs:
        c0, c1 = (seg - hop) // CHUNK, seg // CHUNK
        d, f = diffs[:, c0:c1], flips[:, c0:c1]
        print(f"{seg / 16000:9.3f} {hop / 16000:6.3f} {(seg - hop) / 16000:6.3f} {seg / hop:6.2f}x | "
              f"{d.mean():8.2e} {np.percentile(d, 99):7.4f} {d.max():7.4f} {100 * f.mean():5.2f}%")
    print("    time after reset:  " + "  ".join(f"{t:.3f}s {diffs[:, round(t / 0.032)].mean():.4f}"
                                              for t in (0, 0.256, 0.512, 1.024, 2.048, 4.096, 6.144)
                                              if round(t / 0.032) < longest) + "  (mean abs diff)")
    return 0 if port_diff <= args.tol else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="data/models/silero_vad.pt")
    ap.add_argument("--tol", type=float, default=2e-5, help="largest allowed |port - ONNX| (default 2e-5)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden")
    g.add_argument("--golden", default="tests/data/silero_golden.json")
    g.add_argument("--audio", default=None, help="WAV (default: the golden file's audio, from the repo root)")
    b = sub.add_parser("boundary")
    b.add_argument("--stream", required=True, help="output of silero_reference.mjs stream")
    b.add_argument("--wav", default=None)
    b.add_argument("--reset-stride", type=int, default=4, help="frames between reset points in table (b)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    return {"golden": cmd_golden, "boundary": cmd_boundary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
