// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The bench's workload: real files given on the command line, or synthetic audio made here so that a bench
// needs no data set. Synthetic audio is deterministic (a seed and a file index give the same samples on every
// host) and varied enough to produce events: tones with harmonics, noise bursts, beeps and silence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arpipe/engine.h"

namespace arpipe::bench {

/// N minutes of synthetic mono audio cut into `files` equal files.
struct SyntheticSpec {
    double seconds = 120.0;    ///< total audio, all files together
    int files = 48;            ///< 48 splits evenly over 1, 2, 3, 4, 6, 8, 12, 16, 24 and 48 processes
    int sample_rate_hz = 16000;
    std::uint32_t seed = 20260101;

    [[nodiscard]] double file_seconds() const { return seconds / files; }
};

/// Parses a duration such as "10m", "90s", "1.5h" or "600" (seconds). Returns a negative value when the
/// text is not a positive duration.
[[nodiscard]] double parse_duration(const std::string& text);

/// The samples of synthetic file `index` (mono, in [-1, 1]).
[[nodiscard]] std::vector<float> synthesize(const SyntheticSpec& spec, int index);

/// The name of synthetic file `index`, e.g. "synthetic-007.wav".
[[nodiscard]] std::string synthetic_name(int index);

/// Writes the synthetic files as 16-bit PCM WAV into `dir`; returns their paths in index order.
/// Throws std::runtime_error when a file cannot be written.
[[nodiscard]] std::vector<std::string> write_synthetic(const SyntheticSpec& spec, const std::string& dir);

/// In-memory inputs (arpipe::Input::pcm) for the given file indices.
[[nodiscard]] std::vector<Input> synthetic_inputs(const SyntheticSpec& spec, const std::vector<int>& indices);

}  // namespace arpipe::bench
