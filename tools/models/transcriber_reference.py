#!/usr/bin/python3
"""Reference transcription with a CTC arpipe model, in plain Python: what arpipe's C++ side must reproduce.

    /usr/bin/python3 tools/models/transcriber_reference.py [--model data/models/ivr_en_ctc.pt] AUDIO...

For each file: decode to mono at the model's rate (soundfile + torchaudio's resampler; arpipe uses libsoxr,
so resampled inputs can differ in the last bits: compare on files already at the model's rate), cut windows of
`segment.seconds` every `segment.hop_seconds` (window i starts at i * hop; count = 1 + ceil((S - seg) / hop),
one window for a file no longer than a window; the last window zero-padded), compute torchaudio's log-mel of
each window on its own, run the model (float32 [B, n_mels, F] -> [B, T, V] log-probs), and stitch: from window i
keep only the frames j whose time j * frame_hop lies in [(seg - hop) / 2, (seg + hop) / 2) of the window (the
first window keeps from its start, the last to its end); global frame g = i * hop / frame_hop + j; frames that
start at or after the end of the audio are dropped.  Greedy CTC decode: argmax per frame, merge repeats, drop
blanks; words are split at the word separator.  A word's start is the start of the frame of its first
character, its end the end of the frame of its last character.
Prints one line per file: the transcript, then one line per word: start end word.
"""
import argparse
import json
import math
import sys

import numpy as np
import soundfile as sf
import torch
import torchaudio
import torchaudio.functional as AF


def load_model(path):
    files = {"arpipe.json": ""}
    model = torch.jit.load(path, _extra_files=files)
    model.eval()
    return model, json.loads(files["arpipe.json"])


def mel_for(desc):
    i = desc["input"]
    assert i["kind"] == "log_mel"
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=desc["sample_rate_hz"], n_fft=i["n_fft"], win_length=i["win_length"],
        hop_length=i["hop_length"], f_min=i["f_min_hz"], f_max=i["f_max_hz"], n_mels=i["n_mels"],
        power=i["power"], norm=None if i["mel_norm"] == "none" else i["mel_norm"], mel_scale=i["mel_scale"])


def load_audio(path, rate):
    x, r = sf.read(path, dtype="float32", always_2d=True)
    x = torch.from_numpy(x.mean(axis=1).copy())
    return AF.resample(x, r, rate) if r != rate else x


def window_count(samples, length, hop):
    if samples <= 0:
        return 0
    if samples <= length:
        return 1
    return 1 + (samples - length + hop - 1) // hop


def log_probs(model, desc, wave, batch=8, mel=None):
    """wave: float32 [S] at the model's rate -> stitched log-probs [G, V] (numpy), frame hop desc's."""
    rate = desc["sample_rate_hz"]
    seg = round(desc["segment"]["seconds"] * rate)
    hop = round(desc["segment"]["hop_seconds"] * rate)
    fh = desc["output"]["frame_hop_seconds"]
    mel = mel or mel_for(desc)
    off = desc["input"]["log_offset"]
    n = window_count(wave.shape[0], seg, hop)
    wins = torch.zeros(n, seg)
    for i in range(n):
        part = wave[i * hop:i * hop + seg]
        wins[i, :part.shape[0]] = part
    outs = []
    with torch.no_grad():
        for b in range(0, n, batch):
            outs.append(model(torch.log(mel(wins[b:b + batch]) + off)))
    lp = torch.cat(outs).numpy() if outs else np.zeros((0, 0, len(desc["labels"])), np.float32)
    seg_s, hop_s = desc["segment"]["seconds"], desc["segment"]["hop_seconds"]
    lo = int(round((seg_s - hop_s) / 2 / fh))
    hi = int(round((seg_s + hop_s) / 2 / fh))
    step = int(round(hop_s / fh))
    T = lp.shape[1] if n else 0
    kept = []
    for i in range(n):
        a = 0 if i == 0 else lo
        z = T if i == n - 1 else hi
        kept.append(lp[i, a:z])
    out = np.concatenate(kept) if kept else np.zeros((0, len(desc["labels"])), np.float32)
    # global index of the first kept frame of window i is i * step + a, contiguous by construction
    total = math.ceil(wave.shape[0] / rate / fh - 1e-9)
    return out[:total]


def greedy(lp, desc):
    """[G, V] log-probs -> (text, [(start_s, end_s, word)])."""
    labels = desc["labels"]
    blank = desc["output"]["blank"]
    sep = desc["output"]["word_separator"]
    fh = desc["output"]["frame_hop_seconds"]
    best = lp.argmax(axis=1) if len(lp) else []
    words, cur, start, end, prev = [], "", 0.0, 0.0, -1
    for g, k in enumerate(best):
        k = int(k)
        if k != prev and k != blank:
            if labels[k] == sep:
                if cur:
                    words.append((start, end, cur))
                cur = ""
            else:
                if not cur:
                    start = g * fh
                cur += labels[k]
                end = (g + 1) * fh
        if k != blank and labels[k] != sep and cur:
            end = (g + 1) * fh
        prev = k
    if cur:
        words.append((start, end, cur))
    return " ".join(w for _, _, w in words), words


def transcribe(model, desc, wave, mel=None):
    return greedy(log_probs(model, desc, wave, mel=mel), desc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="data/models/ivr_en_ctc.pt")
    ap.add_argument("audio", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, desc = load_model(args.model)
    for path in args.audio:
        text, words = transcribe(model, desc, load_audio(path, desc["sample_rate_hz"]))
        print(f"{path}: {text}")
        for s, e, w in words:
            print(f"  {s:8.2f} {e:8.2f}  {w}")


if __name__ == "__main__":
    sys.exit(main())
