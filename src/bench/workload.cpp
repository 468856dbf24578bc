// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "bench/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <stdexcept>

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

void put_le(std::ofstream& out, std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.put(static_cast<char>((v >> (8 * i)) & 0xffu));
}

}  // namespace

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

std::string synthetic_name(int index) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "synthetic-%03d.wav", index);
    return buf;
}

std::vector<std::string> write_synthetic(const SyntheticSpec& spec, const std::string& dir) {
    std::vector<std::string> paths;
    for (int i = 0; i < spec.files; ++i) {
        const std::vector<float> x = synthesize(spec, i);
        const std::string path = dir + "/" + synthetic_name(i);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        const auto data_bytes = static_cast<std::uint32_t>(x.size() * 2);
        out.write("RIFF", 4);
        put_le(out, 36 + data_bytes, 4);
        out.write("WAVEfmt ", 8);
        put_le(out, 16, 4);                                                 // fmt chunk size
        put_le(out, 1, 2);                                                  // PCM
        put_le(out, 1, 2);                                                  // mono
        put_le(out, static_cast<std::uint32_t>(spec.sample_rate_hz), 4);
        put_le(out, static_cast<std::uint32_t>(spec.sample_rate_hz) * 2, 4);  // byte rate
        put_le(out, 2, 2);                                                  // block align
        put_le(out, 16, 2);                                                 // bits per sample
        out.write("data", 4);
        put_le(out, data_bytes, 4);
        for (float v : x) put_le(out, static_cast<std::uint32_t>(static_cast<std::int16_t>(std::lrint(v * 32767.0f))), 2);
        if (!out) throw std::runtime_error("cannot write the synthetic workload file " + path);
        paths.push_back(path);
    }
    return paths;
}

std::vector<Input> synthetic_inputs(const SyntheticSpec& spec, const std::vector<int>& indices) {
    std::vector<Input> inputs;
    inputs.reserve(indices.size());
    for (int i : indices) inputs.push_back(Input::pcm(synthetic_name(i), synthesize(spec, i), spec.sample_rate_hz, 1));
    return inputs;
}

}  // namespace arpipe::bench
