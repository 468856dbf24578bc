// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Segmenting: cut a model-rate stream into model windows. Segment i covers samples
// [i * hop, i * hop + length); the last one is zero-padded past the end of the audio and marked.
// Holds at most one window plus one decoder chunk of audio, whatever the file length.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "decode.h"

namespace arpipe {

struct SegmentInfo {
    std::int64_t index = 0;
    std::int64_t start_sample = 0;  ///< at the model rate
    std::int64_t valid_samples = 0; ///< samples before the zero padding
    bool last = false;
};

/// Describes segments [first, first + count) of a stream of `samples` model-rate samples cut into windows of
/// `length` every `hop` (the rule Segmenter follows). Returns how many of them exist (fewer when the stream
/// ends first) and fills `out` for those.
std::int64_t describe_segments(std::int64_t first, std::int64_t count, std::int64_t samples, std::int64_t length,
                               std::int64_t hop, SegmentInfo* out) noexcept;

/// How one input is cut into chunks that are decoded independently: chunk k holds segments
/// [k * per_chunk, (k + 1) * per_chunk) and needs the model-rate samples [first_sample(k), end_sample(k)).
/// The plan depends only on the input and the model (never on threads, tokens or batch), so the samples
/// every segment sees are the same in every run.
struct ChunkPlan {
    std::int64_t samples = 0;    ///< model-rate samples the header announces
    std::int64_t length = 0;     ///< segment length, samples
    std::int64_t hop = 0;        ///< segment hop, samples
    std::int64_t per_chunk = 1;  ///< segments per chunk

    [[nodiscard]] std::int64_t segments() const noexcept;
    [[nodiscard]] std::int64_t chunks() const noexcept;
    [[nodiscard]] std::int64_t first_segment(std::int64_t chunk) const noexcept { return chunk * per_chunk; }
    [[nodiscard]] std::int64_t first_sample(std::int64_t chunk) const noexcept { return chunk * per_chunk * hop; }
    /// One past the last sample chunk `k`'s windows read (not beyond the announced end).
    [[nodiscard]] std::int64_t end_sample(std::int64_t chunk) const noexcept;
    /// Samples a chunk's contiguous audio needs at most: `per_chunk` windows `hop` apart.
    [[nodiscard]] std::int64_t max_chunk_samples() const noexcept { return (per_chunk - 1) * hop + length; }
};

/// Segments per chunk for about `chunk_seconds` of audio (at least one).
[[nodiscard]] std::int64_t segments_per_chunk(double chunk_seconds, std::int64_t hop, int sample_rate_hz) noexcept;

/// Cuts an input read start to end into windows. It owns the decoder it reads from, so the two live and die
/// together.
class Segmenter {
public:
    Segmenter(std::unique_ptr<Decoder> decoder, std::int64_t length, std::int64_t hop);

    /// The decoder the windows come from (its rates and frame counts).
    [[nodiscard]] const Decoder& decoder() const noexcept { return *decoder_; }

    /// How many segments `samples` samples give (a partial last one included); -1 for -1 (unknown).
    [[nodiscard]] static std::int64_t count_for(std::int64_t samples, std::int64_t length, std::int64_t hop) noexcept;

    /// Writes the next window (`length` samples) to `dst` and describes it in `info`.
    /// Returns false when the stream has no more windows.
    bool next(float* dst, SegmentInfo* info);

    /// Samples decoded at the model rate so far (the total once next() returned false or a last window).
    [[nodiscard]] std::int64_t samples_seen() const noexcept { return start_ + static_cast<std::int64_t>(buf_.size()); }
    [[nodiscard]] bool finished() const noexcept { return done_; }

private:
    /// Reads until the buffer holds `want` samples or the decoder is exhausted.
    void fill(std::size_t want);

    std::unique_ptr<Decoder> decoder_;
    std::int64_t length_;
    std::int64_t hop_;
    std::vector<float> buf_;   // samples from absolute position start_
    std::int64_t start_ = 0;   // absolute index of buf_[0]
    std::int64_t index_ = 0;   // next segment index
    bool eof_ = false;
    bool done_ = false;
};

}  // namespace arpipe
