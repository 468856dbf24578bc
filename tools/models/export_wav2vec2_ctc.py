#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Brings a wav2vec2-style CTC model to arpipe, and writes the golden file its test compares against.

  /usr/bin/python3 tools/models/export_wav2vec2_ctc.py

Builds torchaudio.models.wav2vec2_model(...) in a SMALL configuration (the 7-layer conv feature extractor of
wav2vec 2.0 with 32 channels, so one frame every 320 samples = 20 ms at 16 kHz, then a 2-layer transformer of
width 32 and a linear CTC head), with seeded random weights: an instrument for the test, not a recogniser.
It is scripted and saved with its arpipe.json (waveform input, ctc output of logits, a character vocabulary
with the blank "<pad>" and the word separator "|"): exactly what a user does with a fine-tuned checkpoint
(docs/model-contract.md, "Bringing a wav2vec2 model").

The golden file holds a plain Python greedy decode of the same model on the same audio: each window's best
token per frame, the frames each window keeps under the window-middle rule, and the stitched words with
their times and confidences. tests/integration/test_ctc.cpp requires arpipe to give the same.
"""
import json
import math
import os

import torch
import torchaudio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
MODEL = os.path.join(DATA, "models", "wav2vec2_ctc_tiny.pt")
GOLDEN = os.path.join(DATA, "wav2vec2_ctc_golden.json")
AUDIO = os.path.join(DATA, "librivox_excerpt.wav")

RATE = 16000
SEGMENT, HOP = 2.0, 1.0           # seconds; a frame's context is the whole window (attention), see the docs
FRAME_HOP = 0.02                  # 320 samples: the product of the conv strides below
GAP = 0.8                         # arpipe's default --utterance-gap
VOCAB = ["<pad>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "'"]


def build(seed):
    torch.manual_seed(seed)
    convs = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2
    model = torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm", extractor_conv_layer_config=convs, extractor_conv_bias=False,
        encoder_embed_dim=32, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=16, encoder_pos_conv_groups=4,
        encoder_num_layers=2, encoder_num_heads=2, encoder_attention_dropout=0.0, encoder_ff_interm_features=64,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=False, encoder_layer_drop=0.0,
        aux_num_out=len(VOCAB))
    with torch.no_grad():
        # Sharper posteriors than the default init gives, so that no frame's best token is near a tie (the golden
        # records the smallest margin), and a head start for the blank and the separator, so that the output
        # has blanks, repeats and several words, as a trained model's has.
        model.aux.weight.mul_(20.0)
        model.aux.bias[0] += 2.0
        model.aux.bias[1] += 1.0
    return model.eval()


def description():
    return {
        "format": "arpipe-model/1", "name": "wav2vec2_ctc_tiny",
        "description": "test instrument: torchaudio wav2vec2_model, tiny config, seeded random weights; "
                       "see tools/models/export_wav2vec2_ctc.py",
        "sample_rate_hz": RATE, "input": {"kind": "waveform"},
        "segment": {"seconds": SEGMENT, "hop_seconds": HOP},
        "output": {"kind": "ctc", "frame_hop_seconds": FRAME_HOP, "scores": "logits", "blank": 0,
                   "word_separator": "|"},
        "labels": VOCAB,
    }


def windows(n):
    """arpipe's windows of a stream of n samples (Segmenter::count_for): (start sample, last)."""
    S, H = round(SEGMENT * RATE), round(HOP * RATE)
    count = 0 if n == 0 else 1 if n <= S else 1 + (n - S + H - 1) // H
    return [(i * H, i == count - 1) for i in range(count)], S, H


def decode(frames):
    """Greedy CTC over (t0, t1, posteriors) frames, as src/stages/ctc.cpp: words with times and confidences."""
    utterances, words, word, prev, last_end = [], [], None, -1, 0.0
    token = None  # [index, start, end, sum, frames]

    def close_token():
        nonlocal token, word
        if token is None:
            return
        if word is None:
            word = {"word": "", "start": token[1], "sum": 0.0, "frames": 0}
        word["word"] += VOCAB[token[0]]
        word["end"] = token[2]
        word["sum"] += token[3]
        word["frames"] += token[4]
        token = None

    def close_word():
        nonlocal word
        close_token()
        if word is not None:
            words.append({"word": word["word"], "start": word["start"], "end": word["end"],
                          "confidence": word["sum"] / word["frames"]})
            word = None

    def close_utterance():
        nonlocal words
        close_word()
        if words:
            utterances.append(words)
            words = []

    for t0, t1, p in frames:
        best = max(range(len(p)), key=lambda k: (p[k], -k))
        repeat = best == prev
        prev = best
        content = token is not None or word is not None or bool(words)
        if best in (0, 1):
            close_token()
            if best == 1:
                close_word()
            content = token is not None or word is not None or bool(words)
            if content and t1 - last_end > GAP:
                close_utterance()
            continue
        if repeat:
            token[2] = t1
            token[3] += p[best]
            token[4] += 1
            last_end = t1
            continue
        close_token()
        content = token is not None or word is not None or bool(words)
        if content and t0 - last_end > GAP:
            close_utterance()
        token = [best, t0, t1, p[best], 1]
        last_end = t1
    close_utterance()
    return utterances


def tick(t):
    return round(t * 1e6) / 1e6


def golden(model):
    wave, rate = torchaudio.load(AUDIO)
    assert rate == RATE
    x = wave[0]
    n = x.numel()
    spans, S, H = windows(n)
    per_window, frames, min_margin = [], [], math.inf
    for i, (start, last) in enumerate(spans):
        w = torch.zeros(S)
        w[:min(S, n - start)] = x[start:start + S]
        with torch.no_grad():
            logits, _ = model(w.unsqueeze(0))
        post = torch.softmax(logits[0], dim=1)
        top2 = torch.topk(logits[0], 2, dim=1).values
        min_margin = min(min_margin, float((top2[:, 0] - top2[:, 1]).min()))
        best = [max(range(len(VOCAB)), key=lambda k: (float(r[k]), -k)) for r in logits[0]]
        per_window.append({"start_sample": start, "best": best})
        lo = -math.inf if i == 0 else start + (S - H) / 2
        hi = math.inf if last else start + (S + H) / 2
        audio_end = (start + min(S, n - start)) / RATE
        for j in range(post.shape[0]):
            xs = start + j * FRAME_HOP * RATE
            if xs < lo - 1e-6:
                continue
            if xs >= hi - 1e-6:
                break
            t0 = tick(xs / RATE)
            if last and t0 >= audio_end - 1e-9:
                break
            frames.append((t0, tick(t0 + FRAME_HOP), [float(v) for v in post[j]]))
    utterances = decode(frames)
    return {
        "audio": "tests/data/librivox_excerpt.wav", "model": "tests/data/models/wav2vec2_ctc_tiny.pt",
        "segment_samples": S, "hop_samples": H, "utterance_gap_seconds": GAP,
        "min_top2_logit_margin": min_margin,
        "windows": per_window,
        "stitched_best": [max(range(len(p)), key=lambda k: (p[k], -k)) for _, _, p in frames],
        "transcripts": [{"text": " ".join(w["word"] for w in u), "words": u} for u in utterances],
    }


def main():
    torch.set_num_threads(1)  # as arpipe runs it: one intra-op thread
    model = build(seed=0)
    scripted = torch.jit.script(model)
    torch.jit.save(scripted, MODEL, _extra_files={"arpipe.json": json.dumps(description())})
    g = golden(torch.jit.load(MODEL))
    with open(GOLDEN, "w") as f:
        json.dump(g, f, indent=1)
    print(f"{MODEL}: {os.path.getsize(MODEL)} bytes; {len(g['windows'])} windows, "
          f"{len(g['transcripts'])} transcripts, smallest top-2 margin {g['min_top2_logit_margin']:.4f}")


if __name__ == "__main__":
    main()
