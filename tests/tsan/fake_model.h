// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The model description the TSan tests load: fake_infer.cpp reads the arpipe.json description as the "model
// file" and scores "loud" from the mean of the log-mel input.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "arpipe/engine.h"
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

/// An engine on the fake model (its description written into `dir`) with `parallel` threads, tokens and
/// batch and `chunk_seconds` decode chunks; the test stops if it does not load.
inline std::shared_ptr<const arpipe::Engine> fake_engine(const TempDir& dir, arpipe::ParallelConfig parallel,
                                                         double chunk_seconds = arpipe::DecodeConfig{}.chunk_seconds) {
    arpipe::Config c;
    c.model_path = fake_model_file(dir);
    c.parallel = parallel;
    c.decode.chunk_seconds = chunk_seconds;
    auto loaded = arpipe::Engine::load(c);
    REQUIRE_MESSAGE(loaded.engine, loaded.error);
    return loaded.engine;
}

}  // namespace testing
