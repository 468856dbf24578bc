#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Writes tests/data/tagger_torchaudio_golden.json: the bundled tagger's per-window scores when its features
come from torchaudio (as in training) rather than from arpipe's FFTW log-mel.

The tagger was trained on torchaudio.transforms.MelSpectrogram features (tools/models/tagger_data.py).
tests/integration/test_samples.cpp ("the tagger says the same ...") runs the same windows through arpipe's decoder, segmenter, log-mel
and model, and requires the same top label in every window, so a difference between the two feature paths
can never change what the model says on these recordings.

Only 16 kHz mono recordings are used, so that both sides see the same samples (no resampler in between):
data/samples/speech_librivox.flac, data/samples/noise_water_fountain.wav and tests/data/librivox_excerpt.wav.

    /usr/bin/python3 tools/models/tagger_reference.py      # Debian's python3-torch and python3-torchaudio
"""
import json
import sys
from pathlib import Path

import torch
import torchaudio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import tagger_data as D  # noqa: E402  (features and windows exactly as in training)

FILES = ["data/samples/speech_librivox.flac", "data/samples/noise_water_fountain.wav", "tests/data/librivox_excerpt.wav"]
OUT = ROOT / "tests/data/tagger_torchaudio_golden.json"


def main():
    torch.set_num_threads(1)
    model = torch.jit.load(str(ROOT / "data/models/tagger.pt"))
    model.eval()
    extra = {"arpipe.json": ""}
    torch.jit.load(str(ROOT / "data/models/tagger.pt"), _extra_files=extra)
    labels = json.loads(extra["arpipe.json"])["labels"]
    out = {"_format": "per file: per 1 s window (0.5 s hop, last one zero-padded) the softmax scores of the "
                      "tagger on torchaudio log-mel features, in label order; written by "
                      "tools/models/tagger_reference.py",
           "labels": labels, "files": {}}
    for rel in FILES:
        info = torchaudio.info(str(ROOT / rel))
        assert info.sample_rate == 16000 and info.num_channels == 1, rel
        segs, _ = D.segments_of_file(str(ROOT / rel))
        with torch.no_grad():
            p = torch.softmax(model(D.log_mel(segs)), 1)
        out["files"][rel] = [[round(v, 6) for v in row] for row in p.tolist()]
        top = [labels[i] for i in p.argmax(1).tolist()]
        print(f"{rel}: {len(top)} windows, top labels {sorted(set(top))}")
    OUT.write_text(json.dumps(out, indent=0) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
