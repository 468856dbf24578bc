#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Write an untrained copy of the tagger's network (data/models/tagger.pt) as a TorchScript model for the bench.

Speed depends on the architecture and the input shape, not on the weights, so this stands in for the tagger
until (or wherever) the trained model is not available: log-mel 64 x 101 (1 s windows, hop 0.5 s), four
strided 3x3 convolutions of 12, 24, 48 and 96 channels (BatchNorm folded into them, as the export does),
mean over frequency, mean + max over time, a linear layer to 5 labels (on standardised pooled features, so
that the untrained network's output follows its input and the bench's post-processing emits events).
Deterministic (seeded).

    /usr/bin/python3 tools/bench/make_bench_model.py build/bench_cnn.pt
"""
import json
import sys

import torch
import torch.nn as nn

DESCRIPTION = {
    "format": "arpipe-model/1",
    "name": "bench_cnn",
    "description": "untrained copy of the tagger's CNN, for benchmarks only (tools/bench/make_bench_model.py)",
    "sample_rate_hz": 16000,
    "input": {"kind": "log_mel", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64,
              "f_min_hz": 0.0, "f_max_hz": 8000.0, "mel_scale": "htk", "mel_norm": "none",
              "power": 2.0, "log_offset": 1e-6},
    "segment": {"seconds": 1.0, "hop_seconds": 0.5},
    "output": {"kind": "clip", "activation": "softmax"},
    "labels": ["speech", "music", "noise", "alert", "silence"],
}


class BenchCnn(nn.Module):
    def __init__(self, widths=(12, 24, 48, 96), n_classes: int = 5):
        super().__init__()
        layers = []
        cin = 1
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, 2, 1, bias=True), nn.ReLU()]
            cin = w
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(2 * cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x + 8.0) * 0.25).unsqueeze(1)  # the tagger normalises with its training mean and std
        x = self.features(x)
        x = x.mean(2)
        x = torch.cat([x.mean(2), x.amax(2)], 1)
        # Untrained weights give nearly constant logits; standardising the pooled features makes the
        # output follow the input, so that the bench's post-processing emits events (negligible cost).
        x = (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-5)
        return 6.0 * self.fc(x)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.manual_seed(7)
    model = BenchCnn().eval()
    scripted = torch.jit.script(model)
    scripted.save(sys.argv[1], _extra_files={"arpipe.json": json.dumps(DESCRIPTION)})
    print(f"wrote {sys.argv[1]}")


if __name__ == "__main__":
    main()
