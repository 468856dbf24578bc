// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The Silero VAD port against ONNX Runtime's outputs (tests/data/silero_golden.json, made by
// tools/models/silero_reference.mjs), and the VAD through the whole pipeline.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "stages/decode.h"
#include "stages/infer.h"
#include "stages/postprocess.h"
#include "support.h"

namespace {

nlohmann::json golden() { return nlohmann::json::parse(testing::read_text(testing::repo_path("tests/data/silero_golden.json"))); }

std::vector<float> golden_audio(const nlohmann::json& g) {
    arpipe::Decoder d(arpipe::Input::file(testing::repo_path(g["audio"])), 16000, std::nullopt);
    std::vector<float> x;
    while (d.read_chunk(x)) {}
    return x;
}

}  // namespace

TEST_SUITE("silero vad") {
    // Tolerance 1e-5: the port and ONNX Runtime agree to ~1e-6 (data/models/silero_vad.md).
    TEST_CASE("the TorchScript port matches ONNX Runtime on real speech") {
        const auto g = golden();
        const auto x = golden_audio(g);
        const std::int64_t S = g["segment_samples"];
        auto model = arpipe::Model::load(testing::repo_path("data/models/silero_vad.pt"));
        const auto& segs = g["segments"];
        const int batch = static_cast<int>(segs.size());
        const std::int64_t steps = model->prepare({S}, batch);
        CHECK(steps == S / 512);
        std::vector<float> input(static_cast<std::size_t>(S * batch), 0.0f);
        for (int b = 0; b < batch; ++b) {
            const std::int64_t start = segs[b]["start_sample"];
            const std::int64_t n = std::min<std::int64_t>(S, static_cast<std::int64_t>(x.size()) - start);
            std::copy_n(x.begin() + start, n, input.begin() + b * S);
        }
        std::vector<float> out;
        model->forward(input.data(), batch, out);
        double max_diff = 0;
        for (int b = 0; b < batch; ++b) {
            const auto& probs = segs[b]["probs"];
            REQUIRE(static_cast<std::int64_t>(probs.size()) == steps);
            for (std::int64_t j = 0; j < steps; ++j)
                max_diff = std::max(max_diff, std::abs(out[b * steps + j] - probs[j].get<double>()));
        }
        MESSAGE("max abs difference to onnxruntime: " << max_diff);
        CHECK(max_diff < 1e-5);
    }

    TEST_CASE("the pipeline's VAD events equal the golden frames tracked with the same rules") {
        const auto g = golden();
        const double fh = 0.032;
        const std::int64_t S = g["segment_samples"], H = g["hop_samples"];
        const double duration = static_cast<double>(golden_audio(g).size()) / 16000.0;
        // Expected: segment 0 scores every frame; later segments drop their first (S - H) samples of context.
        arpipe::EventTracker tracker(1, arpipe::PostConfig{});
        std::vector<arpipe::TrackedEvent> want;
        for (std::size_t s = 0; s < g["segments"].size(); ++s) {
            const double start = g["segments"][s]["start_sample"].get<double>() / 16000.0;
            const double context_end = s == 0 ? start : start + static_cast<double>(S - H) / 16000.0;
            const auto& probs = g["segments"][s]["probs"];
            for (std::size_t j = 0; j < probs.size(); ++j) {
                const double f0 = start + static_cast<double>(j) * fh;
                if (f0 + 1e-9 < context_end || f0 >= duration - 1e-9) continue;
                const float p = probs[j].get<float>();
                tracker.push(f0, std::min(f0 + fh, duration), &p, want);
            }
        }
        tracker.finish(want);
        REQUIRE(!want.empty());

        auto engine = testing::load_engine("data/models/silero_vad.pt", 2, 2);
        const auto r = engine->process_file(testing::repo_path(g["audio"]));
        REQUIRE(r.summary);
        REQUIRE(r.events.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
            CHECK(r.events[i].label == "speech");
            CHECK(r.events[i].start_seconds == doctest::Approx(want[i].start).epsilon(1e-9));
            CHECK(r.events[i].end_seconds == doctest::Approx(want[i].end).epsilon(1e-9));
            CHECK(r.events[i].score == doctest::Approx(want[i].score).epsilon(1e-4));
        }
    }
}
