// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
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
