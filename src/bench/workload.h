// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The bench's workload: real files given on the command line, or synthetic audio made here so that a bench
// needs no data set. Synthetic audio is deterministic (a seed and a file index give the same samples on every
// host) and varied enough to produce events: tones with harmonics, noise bursts, beeps and silence. It is
// written in the format real inputs come in (16-bit WAV or FLAC, MP3, Opus), at any rate and channel count,
// so that the decode stage does the work it does on real files: codec decoding, downmix and resampling.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arpipe/engine.h"

namespace arpipe::bench {

/// Container and codec of the synthetic files (all written with libsndfile).
enum class SyntheticFormat {
    wav,   ///< WAV, 16-bit PCM
    flac,  ///< FLAC, 16-bit
    mp3,   ///< MPEG-1/2 Layer III (LAME through libsndfile)
    opus,  ///< Opus in Ogg
};

/// "wav", "flac", "mp3" or "opus": the flag's value and the files' extension.
[[nodiscard]] const char* to_string(SyntheticFormat format) noexcept;

/// Parses "wav", "flac", "mp3" or "opus"; false for anything else.
[[nodiscard]] bool parse_synthetic_format(const std::string& text, SyntheticFormat* out);

/// N minutes of synthetic audio cut into `files` equal files.
struct SyntheticSpec {
    double seconds = 120.0;    ///< total audio, all files together
    int files = 48;            ///< 48 splits evenly over 1, 2, 3, 4, 6, 8, 12, 16, 24 and 48 processes
    int sample_rate_hz = 16000;
    int channels = 1;          ///< channel c is the mono signal with its own small gain and delay
    SyntheticFormat format = SyntheticFormat::wav;
    std::uint32_t seed = 20260101;

    [[nodiscard]] double file_seconds() const { return seconds / files; }
};

/// Whether `spec` can be made: empty when it can, else a usage message that names the offending flag
/// (--synthetic-format, --synthetic-rate, --synthetic-channels or --in-memory). Opus takes 8, 12, 16, 24 or
/// 48 kHz; MP3 the MPEG rates (8 to 48 kHz) and 1 or 2 channels; FLAC up to 8 channels; in-memory inputs are
/// PCM, so only `wav` goes with `in_memory`.
[[nodiscard]] std::string check_synthetic(const SyntheticSpec& spec, bool in_memory);

/// Parses a duration such as "10m", "90s", "1.5h" or "600" (seconds). Returns a negative value when the
/// text is not a positive duration.
[[nodiscard]] double parse_duration(const std::string& text);

/// The mono signal of synthetic file `index` (in [-1, 1]), before it is spread over channels.
[[nodiscard]] std::vector<float> synthesize(const SyntheticSpec& spec, int index);

/// The samples of synthetic file `index` as `spec.channels` interleaved channels: channel c is the mono
/// signal times 1 / (1 + c / 8), delayed by c x 0.5 ms (channel 0 is the mono signal itself), so that a
/// downmix has different channels to average.
[[nodiscard]] std::vector<float> synthesize_interleaved(const SyntheticSpec& spec, int index);

/// The name of synthetic file `index`, e.g. "synthetic-007.wav" or "synthetic-007.mp3".
[[nodiscard]] std::string synthetic_name(int index, SyntheticFormat format = SyntheticFormat::wav);

/// Writes the synthetic files into `dir` in `spec.format` (libsndfile); returns their paths in index order.
/// Throws std::runtime_error when a file cannot be written.
[[nodiscard]] std::vector<std::string> write_synthetic(const SyntheticSpec& spec, const std::string& dir);

/// In-memory inputs (arpipe::Input::pcm: float PCM, `spec.channels` interleaved) for the given file indices.
[[nodiscard]] std::vector<Input> synthetic_inputs(const SyntheticSpec& spec, const std::vector<int>& indices);

}  // namespace arpipe::bench
