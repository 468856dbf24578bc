// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "bench/workload.h"

#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <numbers>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "bench/measure.h"

namespace arpipe::bench {
namespace {

/// A 32-bit LCG: the same numbers on every platform (never std::rand or a torch generator).
class Lcg {
public:
    explicit Lcg(std::uint32_t seed) : s_(seed) {}
    std::uint32_t next() { return s_ = s_ * 1664525u + 1013904223u; }
    double uniform() { return static_cast<double>(next() >> 8) / 16777216.0; }  // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

private:
    std::uint32_t s_;
};

int sndfile_format(SyntheticFormat format) {
    switch (format) {
        case SyntheticFormat::wav: return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        case SyntheticFormat::flac: return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
        case SyntheticFormat::mp3: return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
        case SyntheticFormat::opus: return SF_FORMAT_OGG | SF_FORMAT_OPUS;
    }
    return 0;
}

bool one_of(int v, std::initializer_list<int> allowed) {
    return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

void write_file(const SyntheticSpec& spec, int index, const std::string& path) {
    const std::vector<float> x = synthesize_interleaved(spec, index);
    SF_INFO info{};
    info.samplerate = spec.sample_rate_hz;
    info.channels = spec.channels;
    info.format = sndfile_format(spec.format);
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (f == nullptr)
        throw std::runtime_error("cannot write the synthetic workload file " + path + ": " + sf_strerror(nullptr));
    const auto frames = static_cast<sf_count_t>(x.size() / static_cast<std::size_t>(spec.channels));
    const sf_count_t written = sf_writef_float(f, x.data(), frames);
    const std::string problem = written == frames ? "" : sf_strerror(f);
    if (sf_close(f) != 0 || written != frames)
        throw std::runtime_error("cannot write the synthetic workload file " + path + ": " +
                                 (problem.empty() ? "closing it failed" : problem));
}

}  // namespace

const char* to_string(SyntheticFormat format) noexcept {
    switch (format) {
        case SyntheticFormat::wav: return "wav";
        case SyntheticFormat::flac: return "flac";
        case SyntheticFormat::mp3: return "mp3";
        case SyntheticFormat::opus: return "opus";
    }
    return "?";
}

bool parse_synthetic_format(const std::string& text, SyntheticFormat* out) {
    for (SyntheticFormat f : {SyntheticFormat::wav, SyntheticFormat::flac, SyntheticFormat::mp3, SyntheticFormat::opus}) {
        if (text == to_string(f)) {
            *out = f;
            return true;
        }
    }
    return false;
}

std::string check_synthetic(const SyntheticSpec& spec, bool in_memory) {
    const std::string format = std::string("--synthetic-format ") + to_string(spec.format);
    const std::string rate = std::to_string(spec.sample_rate_hz), channels = std::to_string(spec.channels);
    if (spec.channels < 1 || spec.channels > 64) return "--synthetic-channels must be 1 to 64, not " + channels;
    if (spec.sample_rate_hz < 1000 || spec.sample_rate_hz > 768000)
        return "--synthetic-rate must be 1000 to 768000 Hz, not " + rate;
    if (in_memory) {
        if (spec.format != SyntheticFormat::wav)
            return format + " cannot be used with --in-memory: in-memory inputs are PCM samples (what a WAV file "
                            "holds); drop --in-memory to have " + to_string(spec.format) + " files written, or use "
                            "--synthetic-format wav";
        return "";
    }
    switch (spec.format) {
        case SyntheticFormat::opus:
            if (!one_of(spec.sample_rate_hz, {8000, 12000, 16000, 24000, 48000}))
                return format + " needs --synthetic-rate 8000, 12000, 16000, 24000 or 48000 (Opus has no other "
                                "rates), not " + rate;
            break;
        case SyntheticFormat::mp3:
            if (!one_of(spec.sample_rate_hz, {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}))
                return format + " needs --synthetic-rate 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or "
                                "48000 (the MPEG rates), not " + rate;
            if (spec.channels > 2) return format + " needs --synthetic-channels 1 or 2, not " + channels;
            break;
        case SyntheticFormat::flac:
            if (spec.channels > 8) return format + " needs --synthetic-channels 1 to 8, not " + channels;
            break;
        case SyntheticFormat::wav: break;
    }
    SF_INFO info{};
    info.samplerate = spec.sample_rate_hz;
    info.channels = spec.channels;
    info.format = sndfile_format(spec.format);
    if (sf_format_check(&info) == 0)
        return "libsndfile cannot write " + format + " with --synthetic-rate " + rate + " and --synthetic-channels " +
               channels;
    return "";
}

double parse_duration(const std::string& text) {
    if (text.empty()) return -1.0;
    double scale = 1.0;
    std::string number = text;
    switch (text.back()) {
        case 's': number.pop_back(); break;
        case 'm': scale = 60.0; number.pop_back(); break;
        case 'h': scale = 3600.0; number.pop_back(); break;
        default: break;
    }
    try {
        std::size_t used = 0;
        const double v = std::stod(number, &used);
        if (used != number.size() || !(v > 0.0) || !std::isfinite(v)) return -1.0;
        return v * scale;
    } catch (const std::exception&) {
        return -1.0;
    }
}

std::vector<float> synthesize(const SyntheticSpec& spec, int index) {
    const int rate = spec.sample_rate_hz;
    const auto n = static_cast<std::size_t>(std::llround(spec.file_seconds() * rate));
    std::vector<float> x(n, 0.0f);
    Lcg rng(spec.seed ^ (0x9e3779b9u * static_cast<std::uint32_t>(index + 1)));
    constexpr double two_pi = 2.0 * std::numbers::pi;
    std::size_t pos = 0;
    while (pos < n) {
        // One scene of 0.5-3 s: silence, a harmonic tone with vibrato, noise, or a beeping alarm.
        const auto len = std::min(n - pos, static_cast<std::size_t>(rng.uniform(0.5, 3.0) * rate));
        const int kind = static_cast<int>(rng.next() >> 30);  // 0..3
        const double amp = rng.uniform(0.05, 0.6);
        const double f0 = rng.uniform(90.0, 900.0);
        double phase = 0.0, lp = 0.0;
        for (std::size_t i = 0; i < len; ++i) {
            const double t = static_cast<double>(i) / rate;
            const double fade = std::min({1.0, t / 0.01, (static_cast<double>(len - i) / rate) / 0.01});
            double v = 0.0;
            switch (kind) {
                case 0: v = 1e-4 * (rng.uniform() - 0.5); break;  // near silence
                case 1: {                                         // voiced-like: harmonics with vibrato
                    phase += two_pi * f0 * (1.0 + 0.01 * std::sin(two_pi * 5.0 * t)) / rate;
                    for (int h = 1; h <= 5; ++h) v += std::sin(h * phase) / h;
                    v *= 0.45;
                    break;
                }
                case 2: lp += 0.2 * ((rng.uniform() * 2.0 - 1.0) - lp); v = 2.0 * lp; break;  // low-passed noise
                default: v = (std::fmod(t, 0.25) < 0.125) ? std::sin(two_pi * 2.0 * f0 * t) : 0.0;  // beeps
            }
            x[pos + i] = static_cast<float>(std::clamp(amp * fade * v, -1.0, 1.0));
        }
        pos += len;
    }
    return x;
}

std::vector<float> synthesize_interleaved(const SyntheticSpec& spec, int index) {
    std::vector<float> mono = synthesize(spec, index);
    const int channels = spec.channels;
    if (channels <= 1) return mono;
    const std::size_t n = mono.size();
    const auto delay_step = static_cast<std::size_t>(std::lround(0.0005 * spec.sample_rate_hz));
    std::vector<float> x(n * static_cast<std::size_t>(channels), 0.0f);
    for (int c = 0; c < channels; ++c) {
        const float gain = static_cast<float>(1.0 / (1.0 + c / 8.0));
        const std::size_t delay = std::min(n, static_cast<std::size_t>(c) * delay_step);
        for (std::size_t i = delay; i < n; ++i)
            x[i * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)] = gain * mono[i - delay];
    }
    return x;
}

std::string synthetic_name(int index, SyntheticFormat format) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "synthetic-%03d.%s", index, to_string(format));
    return buf;
}

std::vector<std::string> write_synthetic(const SyntheticSpec& spec, const std::string& dir) {
    std::vector<std::string> paths;
    for (int i = 0; i < spec.files; ++i) paths.push_back(dir + "/" + synthetic_name(i, spec.format));
    // Encoding MP3 or Opus takes a while (tens of seconds for 30 minutes of stereo audio): the files are
    // independent, so every usable core writes some. The samples do not depend on who writes them.
    const int n_threads = std::max(1, std::min(usable_cores(), spec.files));
    std::atomic<int> next{0};
    std::mutex m;
    std::exception_ptr error;
    auto work = [&] {
        for (int i = next++; i < spec.files; i = next++) {
            try {
                write_file(spec, i, paths[static_cast<std::size_t>(i)]);
            } catch (...) {
                std::lock_guard<std::mutex> lock(m);
                if (!error) error = std::current_exception();
                next = spec.files;
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
    return paths;
}

std::vector<Input> synthetic_inputs(const SyntheticSpec& spec, const std::vector<int>& indices) {
    std::vector<Input> inputs;
    inputs.reserve(indices.size());
    for (int i : indices)
        inputs.push_back(Input::pcm(synthetic_name(i, spec.format), synthesize_interleaved(spec, i),
                                    spec.sample_rate_hz, spec.channels));
    return inputs;
}

}  // namespace arpipe::bench
