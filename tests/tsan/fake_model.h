// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The model description the TSan tests load: fake_infer.cpp reads the arpipe.json description as the "model
// file" and scores "loud" from the mean of the log-mel input.
#pragma once

#include <string>

#include "support.h"

namespace testing {

/// Writes the fake model's description (16 kHz log-mel, 1 s windows every 0.5 s, labels quiet and loud) into
/// `dir` and returns its path, for Config::model_path.
inline std::string fake_model_file(const TempDir& dir) {
    const std::string path = dir.file("model.json");
    write_text(path, R"({"format": "arpipe-model/1", "name": "fake", "sample_rate_hz": 16000,
      "input": {"kind": "log_mel", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64,
                "f_min_hz": 0, "f_max_hz": 8000, "mel_scale": "htk", "mel_norm": "none", "power": 2, "log_offset": 1e-6},
      "segment": {"seconds": 1.0, "hop_seconds": 0.5},
      "output": {"kind": "clip", "activation": "softmax"}, "labels": ["quiet", "loud"]})");
    return path;
}

}  // namespace testing
