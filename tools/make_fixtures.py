#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Regenerates the test fixtures under tests/data/ with Debian's python3-torch and python3-torchaudio.

  /usr/bin/python3 tools/make_fixtures.py

- logmel_golden.json: torchaudio.transforms.MelSpectrogram + log on one second of real speech, for two
  parameter sets; arpipe's FFTW features are checked against it.
- models/*.pt: small TorchScript models whose outputs are known in advance (they compute loudness), so the
  end-to-end tests can assert exact events, plus deliberately broken models for the error paths.
  These are test instruments, not trained models.
"""
import json
import os

import torch
import torchaudio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
MODELS = os.path.join(DATA, "models")

LOGMEL_A = dict(kind="log_mel", n_fft=512, win_length=400, hop_length=160, n_mels=64, f_min_hz=0.0,
                f_max_hz=8000.0, mel_scale="htk", mel_norm="none", power=2.0, log_offset=1e-6)
LOGMEL_B = dict(kind="log_mel", n_fft=400, win_length=300, hop_length=128, n_mels=40, f_min_hz=50.0,
                f_max_hz=7600.0, mel_scale="slaney", mel_norm="slaney", power=1.0, log_offset=1e-3)


def mel(p, rate=16000):
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=rate, n_fft=p["n_fft"], win_length=p["win_length"], hop_length=p["hop_length"],
        f_min=p["f_min_hz"], f_max=p["f_max_hz"], n_mels=p["n_mels"], power=p["power"],
        norm=None if p["mel_norm"] == "none" else "slaney", mel_scale=p["mel_scale"])


def logmel_golden():
    wave, rate = torchaudio.load(os.path.join(DATA, "librivox_excerpt.wav"))
    assert rate == 16000
    start, n = 16000, 16000  # second 1..2 of the excerpt: speech
    x = wave[0, start:start + n]
    cases = []
    for p in (LOGMEL_A, LOGMEL_B):
        feats = torch.log(mel(p)(x) + p["log_offset"])
        cases.append({"params": p, "frames": feats.shape[1],
                      "values": [round(float(v), 6) for v in feats.flatten()]})
    with open(os.path.join(DATA, "logmel_golden.json"), "w") as f:
        json.dump({"audio": "tests/data/librivox_excerpt.wav", "start_sample": start, "samples": n,
                   "layout": "[n_mels][frames]", "cases": cases}, f)


class LoudnessClip(torch.nn.Module):
    """Clip model over log-mel: logits (quiet, loud) from the mean log-mel energy against a threshold."""

    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def forward(self, x):  # [B, n_mels, F]
        m = x.mean(dim=(1, 2)) - self.threshold
        return torch.stack([-m, m], dim=1) * 4.0


class LoudnessFrames(torch.nn.Module):
    """Frame model over the waveform: per 800-sample frame, logit of (RMS dBFS > -30)."""

    def forward(self, x):  # [B, S]
        b = x.shape[0]
        frames = x.reshape(b, -1, 800)
        db = 10.0 * torch.log10(frames.pow(2).mean(dim=2) + 1e-10)
        return ((db + 30.0) * 0.5).unsqueeze(2)


class NanWhenLoud(torch.nn.Module):
    """Returns NaN for any loud segment: the warm-up on silence passes, real audio fails at run time."""

    def forward(self, x):  # [B, n_mels, F]
        m = x.mean(dim=(1, 2))
        bad = torch.where(m > -5.0, torch.full_like(m, float("nan")), torch.zeros_like(m))
        return torch.stack([bad, -bad], dim=1)


def describe(name, inp, out, labels, seconds=1.0, hop=0.5):
    return {"format": "arpipe-model/1", "name": name,
            "description": "test fixture (untrained, computes loudness); see tools/make_fixtures.py",
            "sample_rate_hz": 16000, "input": inp, "segment": {"seconds": seconds, "hop_seconds": hop},
            "output": out, "labels": labels}


def save(module, name, desc):
    path = os.path.join(MODELS, name)
    extra = {} if desc is None else {"arpipe.json": desc if isinstance(desc, str) else json.dumps(desc)}
    torch.jit.save(torch.jit.script(module), path, _extra_files=extra)


def models():
    os.makedirs(MODELS, exist_ok=True)
    clip = describe("loudness_clip", LOGMEL_A, {"kind": "clip", "activation": "softmax"}, ["quiet", "loud"])
    save(LoudnessClip(-6.0), "loudness_clip.pt", clip)
    frames = describe("loudness_frames", {"kind": "waveform"},
                      {"kind": "frames", "frame_hop_seconds": 0.05, "activation": "sigmoid"}, ["loud"],
                      seconds=1.0, hop=0.75)
    save(LoudnessFrames(), "loudness_frames.pt", frames)
    save(LoudnessClip(-6.0), "no_description.pt", None)
    save(LoudnessClip(-6.0), "malformed_description.pt", "{\"format\": \"arpipe-model/1\", ")
    bad_hop = json.loads(json.dumps(clip))
    bad_hop["segment"]["hop_seconds"] = 0
    save(LoudnessClip(-6.0), "zero_hop.pt", bad_hop)
    three = json.loads(json.dumps(clip))
    three["labels"] = ["quiet", "loud", "other"]
    save(LoudnessClip(-6.0), "label_mismatch.pt", three)
    save(NanWhenLoud(), "nan_output.pt", describe("nan_output", LOGMEL_A, {"kind": "clip", "activation": "none"},
                                                   ["a", "b"]))
    with open(os.path.join(MODELS, "not_torchscript.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


if __name__ == "__main__":
    torch.manual_seed(0)
    logmel_golden()
    models()
    print("fixtures written under", DATA)
