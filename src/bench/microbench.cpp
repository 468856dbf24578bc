// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Google Benchmark microbenchmarks of feature extraction, one thread (build with -DARPIPE_BUILD_BENCHMARKS=ON):
//   build/arpipe_microbench --benchmark_counters_tabular=true
// The counter x_realtime is audio seconds per second of CPU (x real time per core). The input is the same
// deterministic noise that tools/bench/torchaudio_features.py feeds torchaudio, so the two compare directly.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "stages/features.h"

namespace {

/// Noise in [-0.5, 0.5) from a 32-bit LCG (the same numbers as torchaudio_features.py).
std::vector<float> lcg_noise(std::size_t n) {
    std::vector<float> x(n);
    std::uint32_t s = 12345u;
    for (float& v : x) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / 16777216.0f - 0.5f;
    }
    return x;
}

arpipe::LogMelParams params(int n_mels) {
    arpipe::LogMelParams p;  // 16 kHz, n_fft 512, 25 ms Hann window, 10 ms hop, HTK mels, power 2, ln(x + 1e-6)
    p.n_mels = n_mels;
    return p;
}

/// One window of `seconds` at a time, as the pipeline computes them (arg 0: milliseconds, arg 1: mels).
void BM_LogMel(benchmark::State& state) {
    const auto samples = static_cast<std::int64_t>(state.range(0)) * 16;
    const arpipe::LogMel logmel(params(static_cast<int>(state.range(1))));
    auto scratch = logmel.make_scratch();
    const std::vector<float> x = lcg_noise(static_cast<std::size_t>(samples));
    std::vector<float> out(static_cast<std::size_t>(logmel.frames(samples) * logmel.n_mels()));
    for (auto _ : state) {
        logmel.compute(x.data(), samples, out.data(), *scratch);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    const double audio_seconds = static_cast<double>(samples) / 16000.0;
    state.counters["x_realtime"] = benchmark::Counter(audio_seconds, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["frames_per_s"] = benchmark::Counter(static_cast<double>(logmel.frames(samples)),
                                                        benchmark::Counter::kIsIterationInvariantRate);
}
// 1 s windows with 64 mels: the tagger's input. 10 s with 80 mels: a long stream, the BACKGROUND setup.
BENCHMARK(BM_LogMel)->Args({1000, 64})->Args({1000, 80})->Args({10000, 80})->Unit(benchmark::kMicrosecond);

/// A token as the pipeline gives it to the feature stage: `batch` (arg 0) windows of 1 s every 0.5 s of one
/// stream, 64 mels, through compute_windows (frames the windows share are computed once). x_realtime counts
/// new audio: 0.5 s per window, as a long file advances.
void BM_LogMelToken(benchmark::State& state) {
    const int batch = static_cast<int>(state.range(0));
    constexpr std::int64_t kWindow = 16000, kHop = 8000;
    const arpipe::LogMel logmel(params(64));
    auto scratch = logmel.make_scratch();
    const std::vector<float> stream = lcg_noise(static_cast<std::size_t>(kWindow + (batch - 1) * kHop));
    std::vector<float> windows;
    for (int b = 0; b < batch; ++b)
        windows.insert(windows.end(), stream.begin() + b * kHop, stream.begin() + b * kHop + kWindow);
    std::vector<float> out(static_cast<std::size_t>(batch * logmel.frames(kWindow) * logmel.n_mels()));
    for (auto _ : state) {
        logmel.compute_windows(windows.data(), kWindow, batch, kWindow, kHop, out.data(), *scratch);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.counters["x_realtime"] =
        benchmark::Counter(0.5 * batch, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LogMelToken)->Arg(1)->Arg(4)->Arg(16)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
