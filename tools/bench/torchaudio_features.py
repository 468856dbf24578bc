#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""torchaudio's log-mel speed on the input arpipe_microbench uses, one thread, for docs/performance.md.

    /usr/bin/python3 tools/bench/torchaudio_features.py [--out docs/bench/features_torchaudio.json]

Same parameters as arpipe's LogMel in src/bench/microbench.cpp: 16 kHz, n_fft 512, 400-sample Hann window,
hop 160, HTK mel scale 0-8000 Hz, power 2, ln(mel + 1e-6); the same LCG noise. Reports audio seconds per
CPU second of one thread (x real time per core, as Google Benchmark's rate counters in the microbench count
CPU time) for each case, the median of 5 timed repeats of >= 0.5 s of CPU each.
"""
import argparse
import json
import statistics
import time

import torch
import torchaudio


def lcg_noise(n, seed=12345):
    """The numbers of lcg_noise() in src/bench/microbench.cpp: [-0.5, 0.5) from a 32-bit LCG."""
    out = [0.0] * n
    s = seed
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = (s >> 8) / 16777216.0 - 0.5
    return torch.tensor(out, dtype=torch.float32)


def x_realtime(fn, audio_seconds, min_time=0.5, repeats=5):
    fn()  # warm-up
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.process_time()
        while True:
            fn()
            n += 1
            dt = time.process_time() - t0
            if dt >= min_time:
                break
        rates.append(n * audio_seconds / dt)
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="write the results as JSON here too")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    def mel(n_mels):
        return torchaudio.transforms.MelSpectrogram(
            sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=0.0, f_max=8000.0,
            n_mels=n_mels, power=2.0, center=True, pad_mode="reflect", mel_scale="htk", norm=None)

    results = []
    with torch.inference_mode():
        for ms, n_mels, batch in ((1000, 64, 1), (1000, 80, 1), (10000, 80, 1), (1000, 64, 32)):
            x = lcg_noise(ms * 16)
            if batch > 1:
                x = x.repeat(batch, 1)
            m = mel(n_mels)
            rate = x_realtime(lambda: torch.log(m(x) + 1e-6), batch * ms / 1000.0)
            name = f"MelSpectrogram+log {ms / 1000:g} s, {n_mels} mels" + (f", batch {batch}" if batch > 1 else "")
            results.append({"case": name, "window_ms": ms, "n_mels": n_mels, "batch": batch,
                            "x_realtime": round(rate, 1)})
        x = lcg_noise(10000 * 16).unsqueeze(0)
        rate = x_realtime(lambda: torchaudio.compliance.kaldi.fbank(x, num_mel_bins=80, sample_frequency=16000.0),
                          10.0)
        results.append({"case": "kaldi.fbank 10 s, 80 mels", "window_ms": 10000, "n_mels": 80, "batch": 1,
                        "x_realtime": round(rate, 1)})
    doc = {"torch": torch.__version__, "torchaudio": torchaudio.__version__, "threads": 1, "results": results}
    for r in results:
        print(f"{r['case']:<42} {r['x_realtime']:>9.1f}x real time (1 thread)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
