// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Decoding: open and validate one input (a file through libsndfile, or host PCM), downmix to mono and
// resample to the model's rate with libsoxr. Never holds the whole file.
//
// Two ways to read an input, both giving the same samples up to float rounding in the resampler:
// - `Decoder` reads it start to end (for inputs whose length is unknown or that cannot seek);
// - `decode_range` reads any span of model-rate samples from its own source handle after a seek, so that
//   different threads can decode different chunks of one file at once. libsndfile's seeks are sample-exact
//   for WAV, FLAC, Ogg Vorbis, Opus and MP3 (it decodes the codec's pre-roll itself: mpg123's pre-frames for
//   the MP3 bit reservoir, 80 ms for Opus); what is left to this file is the resampler's own pre-roll.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"

namespace arpipe {

/// Limits on what a decodable input may claim.
inline constexpr int kMinSampleRateHz = 1000;
inline constexpr int kMaxSampleRateHz = 768000;
inline constexpr int kMaxChannels = 64;
/// The largest sample magnitude accepted (+24 dBFS). Full scale is [-1, 1], but real audio legitimately goes
/// past it: MP3, Opus and Vorbis decoders overshoot on loud, clipped masters (inter-sample peaks a few dB
/// over), and float files keep whatever gain was applied before they were written. A value past 16 is not
/// audio but corrupt float data (1e30) or integer PCM handed over unscaled (16-bit values up to 32767);
/// let through, it reaches the features, where its square overflows or swamps everything else, and the model
/// takes the blame. A power of two, so the bound is exact in float.
inline constexpr float kMaxSampleMagnitude = 16.0f;

/// An opened input: interleaved frames at the source rate. Opening validates it (existence, type, format,
/// sample rate, channel count; for in-memory PCM its layout) and throws Failure with a code and a message
/// naming the problem. A path the system refuses as too long (ENAMETOOLONG) is path_too_long, not not_found.
class AudioSource {
public:
    static std::unique_ptr<AudioSource> open(const Input& input, const std::optional<RawFormat>& raw_format);
    /// A pipe or other stream that cannot seek (standard input): raw PCM in `raw_format` when it is set,
    /// otherwise any format libsndfile finds from the first bytes (WAV, FLAC, Ogg, ...). Frames are read as
    /// they arrive; it never seeks and announces no length. A read waiting on the pipe ends as at the end of
    /// the data when `stop` is set and a signal interrupts the wait. Throws Failure as open() does.
    static std::unique_ptr<AudioSource> open_pipe(int fd, const std::optional<RawFormat>& raw_format,
                                                  const std::atomic<bool>* stop = nullptr);
    virtual ~AudioSource() = default;

    /// Reads up to `frames` interleaved frames into `dst`; returns frames read (0 at the end). Throws Failure
    /// on a read error.
    virtual std::int64_t read(float* dst, std::int64_t frames) = 0;
    /// Moves to frame `frame`; false when the source cannot get there.
    virtual bool seek(std::int64_t frame) = 0;
    /// Whether seek() is sample-exact for this source.
    [[nodiscard]] virtual bool can_seek() const = 0;
    /// Frames the header announces, or -1 when it does not say.
    [[nodiscard]] virtual std::int64_t announced_frames() const = 0;

    [[nodiscard]] int rate_hz() const noexcept { return rate_; }
    [[nodiscard]] int channels() const noexcept { return channels_; }
    /// The frame the next read() starts at.
    [[nodiscard]] std::int64_t position() const noexcept { return position_; }

protected:
    int rate_ = 0;
    int channels_ = 0;
    std::int64_t position_ = 0;
};

/// libsoxr from one rate to another, mono float. One thread (libsoxr may otherwise start an OpenMP team).
class Resampler {
public:
    Resampler(int from_hz, int to_hz);
    ~Resampler();
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    /// Resamples `n` samples (n = 0 flushes the tail) and appends the result to `out`.
    void process(const float* in, std::size_t n, std::vector<float>& out);
    /// Ready for a new signal with the same rates.
    void clear();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Samples at `to_hz` that `frames` frames at `from_hz` give (what Decoder and decode_range produce).
[[nodiscard]] std::int64_t resampled_length(std::int64_t frames, int from_hz, int to_hz) noexcept;

/// Downmixes `frames` interleaved frames to mono; throws Failure naming the frame (`first_frame` + offset):
/// bad_samples for a NaN or Inf, samples_out_of_range (with the value) for a magnitude above
/// kMaxSampleMagnitude.
void downmix(const float* interleaved, std::int64_t frames, int channels, std::int64_t first_frame, float* mono);

/// Reads an input from start to end.
class Decoder {
public:
    /// Opens `input` for reading at `target_rate_hz`. Throws Failure with a code and a message naming the
    /// problem (the caller adds the file name).
    Decoder(const Input& input, int target_rate_hz, const std::optional<RawFormat>& raw_format);
    /// Reads an already opened source from its current position.
    Decoder(std::unique_ptr<AudioSource> source, int target_rate_hz);
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    /// Appends the next chunk of mono samples at the target rate to `out`. Returns false once the input is
    /// exhausted (nothing appended). Throws Failure on read errors and non-finite samples.
    bool read_chunk(std::vector<float>& out);

    [[nodiscard]] int source_rate_hz() const noexcept { return source_->rate_hz(); }
    [[nodiscard]] int source_channels() const noexcept { return source_->channels(); }
    /// Source frames decoded so far.
    [[nodiscard]] std::int64_t source_frames() const noexcept { return frames_read_; }
    /// Samples at the target rate that the header announces; -1 when it does not say. Not trusted for
    /// anything but progress and planning: reading stops where the data does.
    [[nodiscard]] std::int64_t announced_samples() const noexcept { return announced_samples_; }

private:
    std::unique_ptr<AudioSource> source_;
    std::unique_ptr<Resampler> resampler_;  // null when no rate change is needed
    std::vector<float> interleaved_;
    std::vector<float> mono_;
    std::int64_t frames_read_ = 0;
    std::int64_t announced_samples_ = -1;
    bool drained_ = false;
};

/// Per-thread buffers for decode_range.
struct RangeScratch {
    std::vector<float> interleaved, mono, resampled;
    std::unique_ptr<Resampler> resampler;
    int from_hz = 0, to_hz = 0;
};

/// What decode_range found.
struct DecodedRange {
    std::int64_t samples = 0;        ///< samples written (fewer than asked when the data ends first)
    bool reached_end = false;        ///< the data ended before `end_frame` (the header over-announced)
    std::int64_t source_frames = 0;  ///< where the data ended, when reached_end
};

/// Decodes model-rate samples [first, last) of `source` into `out` (resized to last - first), as if the
/// whole input had been resampled in one pass and the stream ended at source frame `end_frame` (the
/// announced length: data after it is not read). The source is positioned with a seek when needed; the
/// resampler starts `resampler_preroll_frames()` before the span, at a frame that maps to a whole
/// model-rate sample, and reads as far after it, so its output matches the one-pass output to float
/// rounding. Throws Failure on read errors and non-finite samples.
DecodedRange decode_range(AudioSource& source, int target_rate_hz, std::int64_t first, std::int64_t last,
                          std::int64_t end_frame, std::vector<float>& out, RangeScratch& scratch);

/// Source frames of resampler pre-roll before a span (and post-roll after it): enough for libsoxr's HQ
/// filter at this ratio (measured: differences from one-pass output stay at float rounding, <= 3e-7).
[[nodiscard]] std::int64_t resampler_preroll_frames(int from_hz, int to_hz) noexcept;

}  // namespace arpipe
