// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "features.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numbers>
#include <string>

#include "failure.h"

namespace arpipe {
namespace {

// FFTW's planner is not thread-safe, across all plans of the process: every plan is made under this lock.
std::mutex& fftw_planner_mutex() {
    static std::mutex m;
    return m;
}

double hz_to_mel(double hz, bool slaney) {
    if (!slaney) return 2595.0 * std::log10(1.0 + hz / 700.0);
    constexpr double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = std::log(6.4) / 27.0;
    return hz >= min_log_hz ? min_log_mel + std::log(hz / min_log_hz) / logstep : hz / f_sp;
}

double mel_to_hz(double mel, bool slaney) {
    if (!slaney) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
    constexpr double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = std::log(6.4) / 27.0;
    return mel >= min_log_mel ? min_log_hz * std::exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

void require(bool ok, const std::string& what) {
    if (!ok) throw Failure(ErrorCode::bad_model, "log-mel parameters: " + what);
}

}  // namespace

std::vector<MelFilter> mel_filterbank(const LogMelParams& p) {
    const int n_freqs = p.n_fft / 2 + 1;
    std::vector<double> all_freqs(static_cast<std::size_t>(n_freqs));
    for (int k = 0; k < n_freqs; ++k)
        all_freqs[static_cast<std::size_t>(k)] = (p.sample_rate_hz / 2.0) * k / (n_freqs - 1);
    const double m_min = hz_to_mel(p.f_min_hz, p.slaney_scale);
    const double m_max = hz_to_mel(p.f_max_hz, p.slaney_scale);
    std::vector<double> f_pts(static_cast<std::size_t>(p.n_mels + 2));
    for (int i = 0; i < p.n_mels + 2; ++i)
        f_pts[static_cast<std::size_t>(i)] =
            mel_to_hz(m_min + (m_max - m_min) * i / (p.n_mels + 1), p.slaney_scale);

    std::vector<MelFilter> filters(static_cast<std::size_t>(p.n_mels));
    for (int m = 0; m < p.n_mels; ++m) {
        const double lo = f_pts[m], mid = f_pts[m + 1], hi = f_pts[m + 2];
        const double enorm = p.slaney_norm ? 2.0 / (hi - lo) : 1.0;
        MelFilter& f = filters[static_cast<std::size_t>(m)];
        f.first_bin = -1;
        for (int k = 0; k < n_freqs; ++k) {
            const double hz = all_freqs[static_cast<std::size_t>(k)];
            const double down = (hz - lo) / (mid - lo);
            const double up = (hi - hz) / (hi - mid);
            const double w = std::max(0.0, std::min(down, up)) * enorm;
            if (w > 0.0) {
                if (f.first_bin < 0) f.first_bin = k;
                f.weights.resize(static_cast<std::size_t>(k - f.first_bin + 1), 0.0f);
                f.weights.back() = static_cast<float>(w);
            }
        }
        if (f.first_bin < 0) f.first_bin = 0;  // an empty filter (torchaudio warns); its band stays zero
    }
    return filters;
}

struct LogMel::Plan {
    fftwf_plan plan = nullptr;
    ~Plan() {
        std::lock_guard<std::mutex> lock(fftw_planner_mutex());
        if (plan != nullptr) fftwf_destroy_plan(plan);
    }
};

LogMel::Scratch::Scratch(int n_fft)
    : frame_(fftwf_alloc_real(static_cast<std::size_t>(n_fft))),
      spectrum_(fftwf_alloc_complex(static_cast<std::size_t>(n_fft / 2 + 1))),
      power_(static_cast<std::size_t>(n_fft / 2 + 1)) {}

LogMel::Scratch::~Scratch() {
    fftwf_free(frame_);
    fftwf_free(spectrum_);
}

LogMel::LogMel(const LogMelParams& params) : params_(params) {
    const LogMelParams& p = params_;
    require(p.n_fft >= 16 && p.n_fft <= 65536, "n_fft = " + std::to_string(p.n_fft) + " is not in [16, 65536]");
    require(p.win_length >= 1 && p.win_length <= p.n_fft,
            "win_length = " + std::to_string(p.win_length) + " is not in [1, n_fft]");
    require(p.hop_length >= 1, "hop_length = " + std::to_string(p.hop_length) + " is not >= 1");
    require(p.n_mels >= 1 && p.n_mels <= 512, "n_mels = " + std::to_string(p.n_mels) + " is not in [1, 512]");
    require(p.f_min_hz >= 0 && p.f_min_hz < p.f_max_hz && p.f_max_hz <= p.sample_rate_hz / 2.0,
            "f_min_hz/f_max_hz = " + std::to_string(p.f_min_hz) + "/" + std::to_string(p.f_max_hz) +
                " do not satisfy 0 <= f_min < f_max <= rate / 2");
    require(p.power == 1.0 || p.power == 2.0, "power = " + std::to_string(p.power) + " is not 1 or 2");
    require(p.log_offset > 0, "log_offset = " + std::to_string(p.log_offset) + " is not > 0");

    // Periodic Hann of win_length, centred in n_fft as torch.stft pads a shorter window.
    window_.assign(static_cast<std::size_t>(p.n_fft), 0.0f);
    const int left = (p.n_fft - p.win_length) / 2;
    for (int i = 0; i < p.win_length; ++i)
        window_[static_cast<std::size_t>(left + i)] =
            static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / p.win_length));
    filters_ = mel_filterbank(p);

    plan_ = std::make_unique<Plan>();
    Scratch probe(p.n_fft);
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    // FFTW_ESTIMATE: the same plan on every run and host, so results never depend on planner timing.
    plan_->plan = fftwf_plan_dft_r2c_1d(p.n_fft, probe.frame_, static_cast<fftwf_complex*>(probe.spectrum_),
                                        FFTW_ESTIMATE);
    if (plan_->plan == nullptr) throw Failure(ErrorCode::internal, "fftw could not plan a real FFT");
}

LogMel::~LogMel() = default;

std::int64_t LogMel::frames(std::int64_t samples) const noexcept {
    const std::int64_t pad = params_.n_fft / 2;
    return 1 + (samples + 2 * pad - params_.n_fft) / params_.hop_length;
}

std::unique_ptr<LogMel::Scratch> LogMel::make_scratch() const {
    return std::unique_ptr<Scratch>(new Scratch(params_.n_fft));
}

void LogMel::pad(const float* x, std::int64_t n, std::vector<float>& padded) const {
    const std::int64_t pad = params_.n_fft / 2;
    if (n <= pad) throw Failure(ErrorCode::internal, "window of " + std::to_string(n) + " samples is too short for n_fft");
    // Reflect padding (no edge repeat), as torch.nn.functional.pad(mode="reflect").
    padded.resize(static_cast<std::size_t>(n + 2 * pad));
    for (std::int64_t i = 0; i < pad; ++i) {
        padded[static_cast<std::size_t>(pad - 1 - i)] = x[i + 1];
        padded[static_cast<std::size_t>(pad + n + i)] = x[n - 2 - i];
    }
    std::copy_n(x, n, padded.begin() + pad);
}

void LogMel::frame_row(const float* src, float* row, Scratch& s) const {
    const LogMelParams& p = params_;
    const int n_bins = p.n_fft / 2 + 1;
    auto* spec = static_cast<fftwf_complex*>(s.spectrum_);
    for (int i = 0; i < p.n_fft; ++i) s.frame_[i] = src[i] * window_[static_cast<std::size_t>(i)];
    fftwf_execute_dft_r2c(plan_->plan, s.frame_, spec);
    for (int k = 0; k < n_bins; ++k) {
        const float pw = spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1];
        s.power_[static_cast<std::size_t>(k)] = p.power == 2.0 ? pw : std::sqrt(pw);
    }
    for (int m = 0; m < p.n_mels; ++m) {
        const MelFilter& filt = filters_[static_cast<std::size_t>(m)];
        float acc = 0.0f;
        const float* pw = s.power_.data() + filt.first_bin;
        for (std::size_t j = 0; j < filt.weights.size(); ++j) acc += filt.weights[j] * pw[j];
        row[m] = std::log(acc + static_cast<float>(p.log_offset));
    }
}

void LogMel::compute(const float* x, std::int64_t n, float* out, Scratch& s) const {
    compute_windows(x, n, 1, n, 0, out, s);
}

void LogMel::compute_windows(const float* x, std::int64_t n, int count, std::int64_t stride, std::int64_t shift,
                             float* out, Scratch& s) const {
    const LogMelParams& p = params_;
    const std::int64_t n_frames = frames(n);
    const std::int64_t n_mels = p.n_mels;
    // Frame f of window b reads the same stream samples as frame f + step of window b - 1. Whether those
    // samples really are the same (the windows may come from different files, and the frames at a window's
    // edges read reflect padding) is checked per frame with memcmp, so a copy is always exact.
    const std::int64_t step = shift > 0 && shift % p.hop_length == 0 ? shift / p.hop_length : 0;
    const std::size_t frame_bytes = static_cast<std::size_t>(p.n_fft) * sizeof(float);
    s.frame_major_.resize(static_cast<std::size_t>(n_frames * n_mels));
    for (int b = 0; b < count; ++b) {
        pad(x + b * stride, n, s.padded_);
        const bool reuse = b > 0 && step > 0;
        for (std::int64_t f = 0; f < n_frames; ++f) {
            const float* src = s.padded_.data() + f * p.hop_length;
            float* row = s.frame_major_.data() + f * n_mels;
            const std::int64_t g = f + step;
            if (reuse && g < n_frames &&
                std::memcmp(src, s.prev_padded_.data() + g * p.hop_length, frame_bytes) == 0) {
                std::copy_n(s.prev_frame_major_.data() + g * n_mels, n_mels, row);
            } else {
                frame_row(src, row, s);
            }
        }
        // Transpose to [n_mels][frames], the layout torchaudio returns and models take.
        float* dst = out + b * n_mels * n_frames;
        for (std::int64_t f = 0; f < n_frames; ++f)
            for (std::int64_t m = 0; m < n_mels; ++m)
                dst[m * n_frames + f] = s.frame_major_[static_cast<std::size_t>(f * n_mels + m)];
        if (b + 1 < count) {
            std::swap(s.padded_, s.prev_padded_);
            std::swap(s.frame_major_, s.prev_frame_major_);
            s.frame_major_.resize(static_cast<std::size_t>(n_frames * n_mels));
        }
    }
}

}  // namespace arpipe
