// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Stage 1b: cut the decoder's stream into model windows. Segment i covers samples
// [i * hop, i * hop + length); the last one is zero-padded past the end of the audio and marked.
// Holds at most one window plus one decoder chunk of audio, whatever the file length.
#pragma once

#include <cstdint>
#include <vector>

#include "decode.h"

namespace arpipe {

struct SegmentInfo {
    std::int64_t index = 0;
    std::int64_t start_sample = 0;  ///< at the model rate
    std::int64_t valid_samples = 0; ///< samples before the zero padding
    bool last = false;
};

class Segmenter {
public:
    Segmenter(Decoder& decoder, std::int64_t length, std::int64_t hop);

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

    Decoder& decoder_;
    std::int64_t length_;
    std::int64_t hop_;
    std::vector<float> buf_;   // samples from absolute position start_
    std::int64_t start_ = 0;   // absolute index of buf_[0]
    std::int64_t index_ = 0;   // next segment index
    bool eof_ = false;
    bool done_ = false;
};

}  // namespace arpipe
