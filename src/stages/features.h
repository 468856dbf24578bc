// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Features: log-mel with FFTW, matching torchaudio.transforms.MelSpectrogram (center=True, reflect
// padding, periodic Hann window centred in n_fft) followed by ln(mel + log_offset).
// The FFTW plan is made once (planning is serialised under a process-wide mutex, as FFTW requires) and then
// executed concurrently from many threads, each with its own Scratch.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace arpipe {

struct LogMelParams {
    int sample_rate_hz = 16000;
    int n_fft = 512;
    int win_length = 400;
    int hop_length = 160;
    int n_mels = 64;
    double f_min_hz = 0.0;
    double f_max_hz = 8000.0;
    bool slaney_scale = false;  ///< mel scale: false = HTK
    bool slaney_norm = false;   ///< area-normalise each filter
    double power = 2.0;         ///< 1 = magnitude, 2 = power
    double log_offset = 1e-6;
};

/// Triangular mel filters as torchaudio.functional.melscale_fbanks builds them, stored sparsely.
struct MelFilter {
    int first_bin = 0;
    std::vector<float> weights;  ///< for bins first_bin, first_bin + 1, ...
};
[[nodiscard]] std::vector<MelFilter> mel_filterbank(const LogMelParams& p);

class LogMel {
public:
    /// Per-thread buffers; make one per worker with make_scratch().
    class Scratch;

    /// Validates the parameters (throws Failure) and plans the FFT.
    explicit LogMel(const LogMelParams& params);
    ~LogMel();
    LogMel(const LogMel&) = delete;
    LogMel& operator=(const LogMel&) = delete;

    /// Frames produced for a window of `samples` samples: 1 + samples / hop (center padding).
    [[nodiscard]] std::int64_t frames(std::int64_t samples) const noexcept;
    [[nodiscard]] int n_mels() const noexcept { return params_.n_mels; }

    [[nodiscard]] std::unique_ptr<Scratch> make_scratch() const;

    /// Computes features of `x` (`n` > n_fft / 2 samples) into `out`, laid out [n_mels][frames(n)].
    void compute(const float* x, std::int64_t n, float* out, Scratch& scratch) const;

    /// Computes `count` windows of `n` samples, window b at `x + b * stride` (stride n for separate rows,
    /// stride = hop for windows read in place from one contiguous stream), its features at
    /// `out + b * n_mels() * frames(n)`. Consecutive windows of one stream overlap: when window b starts
    /// `shift` samples after window b - 1 in the stream, a frame whose padded input equals (bit for bit) a
    /// frame of the previous window is copied instead of recomputed. The output is bit-identical to calling
    /// compute() on each window; unrelated windows (another file, shift 0) just get no reuse.
    void compute_windows(const float* x, std::int64_t n, int count, std::int64_t stride, std::int64_t shift,
                         float* out, Scratch& scratch) const;

private:
    void pad(const float* x, std::int64_t n, std::vector<float>& padded) const;
    void frame_row(const float* src, float* row, Scratch& s) const;  // one frame: window, FFT, mel, log

    LogMelParams params_;
    std::vector<float> window_;  // n_fft long, the Hann window centred, zeros around it
    std::vector<MelFilter> filters_;
    struct Plan;
    std::unique_ptr<Plan> plan_;
};

class LogMel::Scratch {
public:
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

private:
    friend class LogMel;
    explicit Scratch(int n_fft);
    float* frame_ = nullptr;  // fftwf_malloc'd, n_fft
    void* spectrum_ = nullptr;  // fftwf_complex[n_fft / 2 + 1]
    std::vector<float> power_;  // n_fft / 2 + 1
    std::vector<float> padded_;
    std::vector<float> frame_major_;  // [frames][n_mels] before the transpose
    std::vector<float> prev_padded_;  // the previous window's, for compute_windows()
    std::vector<float> prev_frame_major_;
};

}  // namespace arpipe
