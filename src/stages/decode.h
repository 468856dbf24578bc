// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Stage 1a: open and validate one input (a file through libsndfile, or host PCM), downmix to mono and
// resample to the model's rate with libsoxr, chunk by chunk. Never holds the whole file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"

namespace arpipe {

/// Limits on what a decodable input may claim.
inline constexpr int kMinSampleRateHz = 1000;
inline constexpr int kMaxSampleRateHz = 768000;
inline constexpr int kMaxChannels = 64;

class Decoder {
public:
    /// Opens `input` for reading at `target_rate_hz`. Throws Failure with a code and a message naming the
    /// problem (the caller adds the file name).
    Decoder(const Input& input, int target_rate_hz, const std::optional<RawFormat>& raw_format);
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    /// Appends the next chunk of mono samples at the target rate to `out`. Returns false once the input is
    /// exhausted (nothing appended). Throws Failure on read errors and non-finite samples.
    bool read_chunk(std::vector<float>& out);

    [[nodiscard]] int source_rate_hz() const noexcept { return source_rate_; }
    [[nodiscard]] int source_channels() const noexcept { return channels_; }
    /// Source frames decoded so far.
    [[nodiscard]] std::int64_t source_frames() const noexcept { return frames_read_; }
    /// Samples at the target rate that the header announces; -1 when it does not say. Not trusted for
    /// anything but progress: reading stops where the data does.
    [[nodiscard]] std::int64_t announced_samples() const noexcept { return announced_samples_; }

    class Source;  // libsndfile or host memory
    class Resampler;

private:
    std::unique_ptr<Source> source_;
    std::unique_ptr<Resampler> resampler_;  // null when no rate change is needed
    std::vector<float> interleaved_;
    std::vector<float> mono_;
    int source_rate_ = 0;
    int channels_ = 0;
    std::int64_t frames_read_ = 0;
    std::int64_t announced_samples_ = -1;
    bool drained_ = false;
};

}  // namespace arpipe
