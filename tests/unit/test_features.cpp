// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <cstring>
#include <thread>

#include "stages/decode.h"
#include "stages/features.h"
#include "stages/failure.h"
#include "support.h"

namespace {

arpipe::LogMelParams params_of(const nlohmann::json& p) {
    arpipe::LogMelParams lp;
    lp.n_fft = p["n_fft"];
    lp.win_length = p["win_length"];
    lp.hop_length = p["hop_length"];
    lp.n_mels = p["n_mels"];
    lp.f_min_hz = p["f_min_hz"];
    lp.f_max_hz = p["f_max_hz"];
    lp.slaney_scale = p["mel_scale"] == "slaney";
    lp.slaney_norm = p["mel_norm"] == "slaney";
    lp.power = p["power"];
    lp.log_offset = p["log_offset"];
    return lp;
}

std::vector<float> excerpt(std::int64_t start, std::int64_t n) {
    arpipe::Decoder d(arpipe::Input::file(testing::repo_path("tests/data/librivox_excerpt.wav")), 16000, std::nullopt);
    std::vector<float> all;
    while (d.read_chunk(all)) {}
    return {all.begin() + start, all.begin() + start + n};
}

}  // namespace

TEST_SUITE("features") {
    // Tolerance: features are natural logs; torchaudio (pocketfft, float32) and FFTW (float32) agree to
    // about 1e-4 where the mel energy is large, and the log amplifies float rounding only where the energy
    // is near log_offset. 2e-3 absolute is far below what changes a model's decision.
    TEST_CASE("log-mel matches torchaudio's MelSpectrogram on real speech (two parameter sets)") {
        const auto golden = nlohmann::json::parse(testing::read_text(testing::repo_path("tests/data/logmel_golden.json")));
        const auto x = excerpt(golden["start_sample"], golden["samples"]);
        for (const auto& c : golden["cases"]) {
            const arpipe::LogMelParams p = params_of(c["params"]);
            CAPTURE(c["params"].dump());
            arpipe::LogMel mel(p);
            const std::int64_t frames = c["frames"];
            REQUIRE(mel.frames(static_cast<std::int64_t>(x.size())) == frames);
            std::vector<float> out(static_cast<std::size_t>(p.n_mels * frames));
            auto scratch = mel.make_scratch();
            mel.compute(x.data(), static_cast<std::int64_t>(x.size()), out.data(), *scratch);
            const auto& want = c["values"];
            REQUIRE(want.size() == out.size());
            double max_diff = 0;
            for (std::size_t i = 0; i < out.size(); ++i) max_diff = std::max(max_diff, std::abs(out[i] - want[i].get<double>()));
            MESSAGE("max abs difference to torchaudio: " << max_diff);
            CHECK(max_diff < 2e-3);
        }
    }

    TEST_CASE("one plan run from many threads gives the same bits as one thread") {
        arpipe::LogMel mel(arpipe::LogMelParams{});
        const auto x = excerpt(0, 16000);
        const std::size_t n = static_cast<std::size_t>(64 * mel.frames(16000));
        std::vector<float> ref(n);
        auto s0 = mel.make_scratch();
        mel.compute(x.data(), 16000, ref.data(), *s0);
        std::vector<std::vector<float>> outs(4, std::vector<float>(n));
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                auto s = mel.make_scratch();
                for (int rep = 0; rep < 20; ++rep) mel.compute(x.data(), 16000, outs[t].data(), *s);
            });
        for (auto& t : threads) t.join();
        for (const auto& o : outs) CHECK(o == ref);
    }

    TEST_CASE("overlapping windows computed together give the same bits as one at a time") {
        // Five windows of 1 s, every 0.5 s, of real speech: frames 2..48 of each later window are copies.
        // The third window comes from elsewhere in the file (a file change inside a token), so it must not
        // reuse anything from the second, and shift 4000 (not a multiple of the hop) must reuse nothing.
        arpipe::LogMel mel(arpipe::LogMelParams{});
        const std::int64_t n = 16000;
        const auto a = excerpt(0, 4 * n);  // the last window ends at 3.5 n
        std::vector<float> windows;
        for (std::int64_t start : {std::int64_t{0}, n / 2, 2 * n, 2 * n + n / 2, 3 * n / 2 + 3})
            windows.insert(windows.end(), a.begin() + start, a.begin() + start + n);
        const std::size_t item = static_cast<std::size_t>(64 * mel.frames(n));
        std::vector<float> ref(5 * item);
        auto s = mel.make_scratch();
        for (std::size_t b = 0; b < 5; ++b) mel.compute(windows.data() + b * n, n, ref.data() + b * item, *s);
        for (std::int64_t shift : {n / 2, std::int64_t{4000}, std::int64_t{0}}) {
            CAPTURE(shift);
            std::vector<float> out(5 * item, -1.0f);
            mel.compute_windows(windows.data(), n, 5, n, shift, out.data(), *s);
            CHECK(std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)) == 0);
        }
        // And a shared frame really is shared: window 1's frame 2 is window 0's frame 52.
        const std::int64_t frames = mel.frames(n);
        CHECK(ref[item + 2] == ref[52]);
        CHECK(ref[item + 10 * frames + 2] == ref[10 * frames + 52]);
    }

    TEST_CASE("the mel filterbank's triangles peak at 1 and cover the band") {
        arpipe::LogMelParams p;
        const auto fb = arpipe::mel_filterbank(p);
        REQUIRE(fb.size() == 64);
        for (const auto& f : fb) {
            REQUIRE(!f.weights.empty());
            CHECK(*std::max_element(f.weights.begin(), f.weights.end()) <= 1.0f);
            CHECK(*std::max_element(f.weights.begin(), f.weights.end()) > 0.3f);
        }
        CHECK(fb.front().first_bin <= 1);
        CHECK(fb.back().first_bin + static_cast<int>(fb.back().weights.size()) >= 250);
    }

    TEST_CASE("out-of-range parameters are rejected by name") {
        arpipe::LogMelParams p;
        p.win_length = 1024;
        try {
            arpipe::LogMel mel(p);
            FAIL("no error");
        } catch (const arpipe::Failure& f) {
            CHECK(std::string(f.what()).find("win_length = 1024") != std::string::npos);
        }
        p = {};
        p.f_max_hz = 9000;
        CHECK_THROWS_AS(arpipe::LogMel{p}, arpipe::Failure);
    }
}
