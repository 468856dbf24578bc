#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Regenerates the test fixtures under tests/data/ with Debian's python3-torch and python3-torchaudio.

  /usr/bin/python3 tools/make_fixtures.py              # all of them
  /usr/bin/python3 tools/make_fixtures.py NAME.pt ...  # only these models (python3-torch alone is enough)

- logmel_golden.json: torchaudio.transforms.MelSpectrogram + log on one second of real speech, for two
  parameter sets; arpipe's FFTW features are checked against it.
- models/*.pt: small TorchScript models whose outputs are known in advance (they compute loudness), so the
  end-to-end tests can assert exact events, plus deliberately broken models for the error paths: at load
  (no or a bad description, a wrong label count, a description too big to run) and on loud input only, past
  a warm-up on silence that passes (NaN, a score of 7 with activation "none", a transposed output, a raise,
  an operator error).
  These are test instruments, not trained models.
"""
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
MODELS = os.path.join(DATA, "models")

LOGMEL_A = dict(kind="log_mel", n_fft=512, win_length=400, hop_length=160, n_mels=64, f_min_hz=0.0,
                f_max_hz=8000.0, mel_scale="htk", mel_norm="none", power=2.0, log_offset=1e-6)
LOGMEL_B = dict(kind="log_mel", n_fft=400, win_length=300, hop_length=128, n_mels=40, f_min_hz=50.0,
                f_max_hz=7600.0, mel_scale="slaney", mel_norm="slaney", power=1.0, log_offset=1e-3)


def mel(p, rate=16000):
    import torchaudio  # only the golden features need it
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=rate, n_fft=p["n_fft"], win_length=p["win_length"], hop_length=p["hop_length"],
        f_min=p["f_min_hz"], f_max=p["f_max_hz"], n_mels=p["n_mels"], power=p["power"],
        norm=None if p["mel_norm"] == "none" else "slaney", mel_scale=p["mel_scale"])


def logmel_golden():
    import torchaudio
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


class RaiseAbove(torch.nn.Module):
    """Clip model over log-mel that raises a Python exception when a segment's mean log-mel energy is above
    `limit`: with -5.0 the warm-up on silence passes and loud audio fails at run time; with -1e9 it fails on
    the warm-up, at load."""

    def __init__(self, limit: float):
        super().__init__()
        self.limit = limit

    def forward(self, x):  # [B, n_mels, F]
        m = x.mean(dim=(1, 2))
        if bool((m > self.limit).any()):
            raise ValueError("fixture refuses loud input")
        return torch.stack([-m, m], dim=1)


class OpErrorWhenLoud(torch.nn.Module):
    """Fails inside an operator (a matrix product of mismatched shapes) on loud input, not with a raise."""

    def forward(self, x):  # [B, n_mels, F]
        m = x.mean(dim=(1, 2))
        if bool((m > -5.0).any()):
            return torch.matmul(x, torch.ones(3, 3))
        return torch.stack([-m, m], dim=1)


class TransposeWhenLoud(torch.nn.Module):
    """Three labels; returns [C, B] instead of [B, C] on loud input: as many values, scrambled."""

    def forward(self, x):  # [B, n_mels, F]
        m = x.mean(dim=(1, 2))
        y = torch.stack([-m, m, m * 0.0], dim=1)
        if bool((m > -5.0).any()):
            return y.t().contiguous()
        return y


class ScoreAbove(torch.nn.Module):
    """For activation "none": scores (0.25, 0.75) on segments whose mean log-mel energy is at most `limit`,
    (7.0, 0.5) above it, which is no probability. With -5.0 the warm-up on silence passes; with -1e9 it
    does not."""

    def __init__(self, limit: float):
        super().__init__()
        self.limit = limit

    def forward(self, x):  # [B, n_mels, F]
        loud = x.mean(dim=(1, 2)) > self.limit
        a = torch.where(loud, torch.full(loud.shape, 7.0), torch.full(loud.shape, 0.25))
        b = torch.where(loud, torch.full(loud.shape, 0.5), torch.full(loud.shape, 0.75))
        return torch.stack([a, b], dim=1)


class AllocateWhenLoud(torch.nn.Module):
    """Like LoudnessClip, but a batch holding a loud segment first allocates (and touches) a 1 GiB tensor: the
    inference memory cap must refuse it for that input only."""

    def forward(self, x):  # [B, n_mels, F]
        m = x.mean(dim=(1, 2)) + 6.0
        if bool((m > 1.0).any()):
            big = torch.ones(1 << 28)  # 2^28 floats = 1 GiB
            m = m + big[0] - 1.0
        return torch.stack([-m, m], dim=1) * 4.0


# CTC fixtures: tokens are a deterministic function of the loudness around each 20 ms frame, so a frame's
# output depends on about +-40 ms of audio only (the mel window and a 3-frame smoothing): the window-boundary
# tests can require overlapping windows to give exactly what one window over the whole file gives.
CTC_RATE = 8000
CTC_LOGMEL = dict(kind="log_mel", n_fft=256, win_length=200, hop_length=160, n_mels=40, f_min_hz=0.0,
                  f_max_hz=4000.0, mel_scale="htk", mel_norm="none", power=2.0, log_offset=1e-6)
CTC_TOKENS = ["<blank>", "|", "a", "b", "c"]
# Amplitudes of a 440 Hz tone that give each token but the blank (silence); the C++ tests use the same.
CTC_AMPLITUDES = {"|": 0.004, "a": 0.02, "b": 0.08, "c": 0.3}


def smooth3(e):
    """Mean of each frame and its two neighbours (edge frames repeat themselves): elementwise, shape-free."""
    left = torch.cat([e[:, :1], e[:, :-1]], dim=1)
    right = torch.cat([e[:, 1:], e[:, -1:]], dim=1)
    return (left + e + right) / 3.0


class CtcEnergyLogMel(torch.nn.Module):
    """log_mel [B, n_mels, F] -> log-probs [B, F - 1, V]: the token whose loudness centre is nearest."""

    def __init__(self, centres):
        super().__init__()
        self.register_buffer("centres", torch.tensor(centres, dtype=torch.float32))

    def forward(self, x):
        e = smooth3(x.mean(dim=1))[:, :-1]  # [B, T]: one frame per 20 ms, the last (past the window) dropped
        d = e.unsqueeze(2) - self.centres.view(1, 1, -1)
        return torch.log_softmax(-0.5 * d * d, dim=2)


class CtcEnergyWave(torch.nn.Module):
    """waveform [B, S] -> log-probs [B, S / 160, V] from each 160-sample frame's log power."""

    def __init__(self, centres):
        super().__init__()
        self.register_buffer("centres", torch.tensor(centres, dtype=torch.float32))

    def forward(self, x):
        b = x.shape[0]
        e = smooth3(torch.log(x.reshape(b, -1, 160).pow(2).mean(dim=2) + 1e-6))
        d = e.unsqueeze(2) - self.centres.view(1, 1, -1)
        return torch.log_softmax(-0.5 * d * d, dim=2)


def ctc_centres(wave):
    """Each token's loudness centre as the model measures it on a steady tone (silence for the blank)."""
    import math
    t = torch.arange(CTC_RATE * 2, dtype=torch.float32) / CTC_RATE
    levels = [0.0] + [CTC_AMPLITUDES[k] for k in CTC_TOKENS[1:]]
    centres = []
    for a in levels:
        x = (a * torch.sin(2 * math.pi * 440.0 * t)).unsqueeze(0)
        if wave:
            e = torch.log(x.reshape(1, -1, 160).pow(2).mean(dim=2) + 1e-6)
        else:
            e = torch.log(mel(CTC_LOGMEL, CTC_RATE)(x) + CTC_LOGMEL["log_offset"]).mean(dim=1)
        centres.append(float(e[0, 10:-10].mean()))
    return centres


def ctc_describe(name, wave, seconds, hop):
    d = describe(name, {"kind": "waveform"} if wave else CTC_LOGMEL,
                 {"kind": "ctc", "frame_hop_seconds": 0.02, "scores": "log_probs", "blank": 0, "word_separator": "|"},
                 CTC_TOKENS, seconds=seconds, hop=hop)
    d["sample_rate_hz"] = CTC_RATE
    d["description"] = ("test fixture (untrained): tokens from the loudness of 440 Hz tones, " +
                        ", ".join(f"{k}={v}" for k, v in CTC_AMPLITUDES.items()) + "; see tools/make_fixtures.py")
    return d


def ctc_fixtures():
    """The CTC fixtures (they need torchaudio for the log-mel centres)."""
    mel_centres, wave_centres = ctc_centres(False), ctc_centres(True)
    out = {}
    for seconds, hop, tag in ((4.0, 2.0, ""), (3.0, 1.0, "_s3_h1"), (2.4, 1.6, "_s2.4_h1.6"), (120.0, 120.0, "_whole")):
        out[f"ctc_energy{tag}.pt"] = (CtcEnergyLogMel(mel_centres), ctc_describe("ctc_energy" + tag, False, seconds, hop))
    # Tokens that writers must quote or escape: a comma and a quote, "-->" (a cue timing arrow) and non-ASCII,
    # markup characters; words separated by a space token.
    special = ctc_describe("ctc_special", False, 4.0, 2.0)
    special["labels"] = ["<blank>", " ", "x,\"y", "\u00e9-->\u00fc", "<&>"]
    special["output"]["word_separator"] = " "
    out["ctc_special.pt"] = (CtcEnergyLogMel(mel_centres), special)
    for seconds, hop, tag in ((4.0, 2.0, ""), (120.0, 120.0, "_whole")):
        out[f"ctc_wave_energy{tag}.pt"] = (CtcEnergyWave(wave_centres),
                                           ctc_describe("ctc_wave_energy" + tag, True, seconds, hop))
    return out


def describe(name, inp, out, labels, seconds=1.0, hop=0.5):
    return {"format": "arpipe-model/1", "name": name,
            "description": "test fixture (untrained, computes loudness); see tools/make_fixtures.py",
            "sample_rate_hz": 16000, "input": inp, "segment": {"seconds": seconds, "hop_seconds": hop},
            "output": out, "labels": labels}


def save(module, name, desc):
    path = os.path.join(MODELS, name)
    extra = {} if desc is None else {"arpipe.json": desc if isinstance(desc, str) else json.dumps(desc)}
    torch.jit.save(torch.jit.script(module), path, _extra_files=extra)


def fixtures():
    """Every model fixture: file name -> (module, description; None for none, a str for raw text)."""
    clip = describe("loudness_clip", LOGMEL_A, {"kind": "clip", "activation": "softmax"}, ["quiet", "loud"])
    frames = describe("loudness_frames", {"kind": "waveform"},
                      {"kind": "frames", "frame_hop_seconds": 0.05, "activation": "sigmoid"}, ["loud"],
                      seconds=1.0, hop=0.75)
    bad_hop = json.loads(json.dumps(clip))
    bad_hop["segment"]["hop_seconds"] = 0
    three = json.loads(json.dumps(clip))
    three["labels"] = ["quiet", "loud", "other"]
    none_ab = describe("scores", LOGMEL_A, {"kind": "clip", "activation": "none"}, ["a", "b"])
    # Within every allowed range, but one window is 512 mels x 11520001 frames (23.6 GB of features).
    huge = describe("too_big", dict(LOGMEL_A, n_fft=1024, win_length=1024, hop_length=1, n_mels=512,
                                    f_max_hz=96000.0),
                    {"kind": "clip", "activation": "softmax"}, ["quiet", "loud"], seconds=60.0, hop=30.0)
    huge["sample_rate_hz"] = 192000
    return {
        "loudness_clip.pt": (LoudnessClip(-6.0), clip),
        "loudness_frames.pt": (LoudnessFrames(), frames),
        "no_description.pt": (LoudnessClip(-6.0), None),
        "malformed_description.pt": (LoudnessClip(-6.0), "{\"format\": \"arpipe-model/1\", "),
        "zero_hop.pt": (LoudnessClip(-6.0), bad_hop),
        "label_mismatch.pt": (LoudnessClip(-6.0), three),
        "nan_output.pt": (NanWhenLoud(), describe("nan_output", LOGMEL_A, {"kind": "clip", "activation": "none"},
                                                  ["a", "b"])),
        "raise_when_loud.pt": (RaiseAbove(-5.0), clip),
        "raise_always.pt": (RaiseAbove(-1e9), clip),
        "op_error_when_loud.pt": (OpErrorWhenLoud(), clip),
        "transpose_when_loud.pt": (TransposeWhenLoud(), three),
        "score_7_when_loud.pt": (ScoreAbove(-5.0), none_ab),
        "score_7_always.pt": (ScoreAbove(-1e9), none_ab),
        "too_big.pt": (LoudnessClip(-6.0), huge),
        "alloc_1gib_when_loud.pt": (AllocateWhenLoud(), clip),
    }


def models(only=None):
    os.makedirs(MODELS, exist_ok=True)
    every = fixtures()
    if only is None or any(n.startswith("ctc_") for n in only):
        every.update(ctc_fixtures())
    for name, (module, desc) in every.items():
        if only is None or name in only:
            save(module, name, desc)
    if only is None or "not_torchscript.pt" in only:
        with open(os.path.join(MODELS, "not_torchscript.pt"), "w") as f:
            f.write("this is not a TorchScript archive\n")


if __name__ == "__main__":
    torch.manual_seed(0)
    wanted = sys.argv[1:]
    if wanted:
        unknown = set(wanted) - set(fixtures()) - set(ctc_fixtures()) - {"not_torchscript.pt"}
        if unknown:
            sys.exit("unknown fixture(s): " + ", ".join(sorted(unknown)))
        models(set(wanted))
    else:
        logmel_golden()
        models()
    print("fixtures written under", DATA)
