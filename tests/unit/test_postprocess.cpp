// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "stages/failure.h"
#include "stages/postprocess.h"

using arpipe::EventTracker;
using arpipe::TrackedEvent;

namespace {

/// Feeds one label's scores as consecutive 1-second steps and returns the events.
std::vector<TrackedEvent> track(const std::vector<float>& scores, arpipe::PostConfig cfg = {}) {
    EventTracker t(1, cfg);
    std::vector<TrackedEvent> out;
    for (std::size_t i = 0; i < scores.size(); ++i) t.push(static_cast<double>(i), static_cast<double>(i + 1), &scores[i], out);
    t.finish(out);
    return out;
}

}  // namespace

TEST_SUITE("postprocess") {
    TEST_CASE("softmax rows sum to one and top-1 keeps only the best label") {
        std::vector<float> s{1.0f, 3.0f, 2.0f, 0.0f, 0.0f, 0.0f};
        arpipe::score_steps(s.data(), 2, 3, arpipe::Activation::softmax, 1);
        CHECK(s[0] == 0.0f);
        CHECK(s[1] == doctest::Approx(std::exp(3.0) / (std::exp(1.0) + std::exp(3.0) + std::exp(2.0))));
        CHECK(s[2] == 0.0f);
        // A tie goes to the lower index.
        CHECK(s[3] == doctest::Approx(1.0 / 3));
        CHECK(s[4] == 0.0f);
    }

    TEST_CASE("sigmoid with top_k 0 keeps every label") {
        std::vector<float> s{0.0f, 2.0f};
        arpipe::score_steps(s.data(), 1, 2, arpipe::Activation::sigmoid, 0);
        CHECK(s[0] == doctest::Approx(0.5f));
        CHECK(s[1] == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))));
    }

    TEST_CASE("NaN or Inf in model output is a model_output failure") {
        std::vector<float> s{0.1f, std::numeric_limits<float>::infinity()};
        try {
            arpipe::score_steps(s.data(), 1, 2, arpipe::Activation::none, 1);
            FAIL("no error");
        } catch (const arpipe::Failure& f) {
            CHECK(f.code() == arpipe::ErrorCode::model_output);
        }
    }

    TEST_CASE("hysteresis: an event opens at the threshold and stays open above the off threshold") {
        // threshold 0.5, off 0.35: 0.4 keeps it open, 0.3 closes it.
        const auto ev = track({0.1f, 0.6f, 0.4f, 0.8f, 0.3f, 0.45f, 0.1f});
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].start == 1.0);
        CHECK(ev[0].end == 4.0);
        CHECK(ev[0].score == doctest::Approx((0.6 + 0.4 + 0.8) / 3));
        CHECK(ev[0].peak == doctest::Approx(0.8f));
    }

    TEST_CASE("an event still open at the end is closed there") {
        const auto ev = track({0.0f, 0.9f, 0.9f});
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].end == 3.0);
    }

    TEST_CASE("short gaps are bridged and short events dropped") {
        arpipe::PostConfig cfg;
        cfg.min_gap_seconds = 1.5;
        auto ev = track({0.9f, 0.0f, 0.9f, 0.0f, 0.0f, 0.9f}, cfg);
        REQUIRE(ev.size() == 2);
        CHECK(ev[0].start == 0.0);
        CHECK(ev[0].end == 3.0);
        CHECK(ev[1].start == 5.0);
        cfg = {};
        cfg.min_event_seconds = 2.0;
        ev = track({0.9f, 0.0f, 0.9f, 0.9f, 0.0f}, cfg);
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].start == 2.0);
    }

    TEST_CASE("events of several labels come out in start order") {
        EventTracker t(2, arpipe::PostConfig{});
        std::vector<TrackedEvent> out;
        // label 1 opens at 0 and lasts long; label 0 opens and closes inside it.
        const float steps[][2] = {{0.0f, 0.9f}, {0.9f, 0.9f}, {0.0f, 0.9f}, {0.0f, 0.9f}, {0.0f, 0.0f}};
        for (int i = 0; i < 5; ++i) t.push(i, i + 1, steps[i], out);
        t.finish(out);
        REQUIRE(out.size() == 2);
        CHECK(out[0].label == 1);
        CHECK(out[0].start == 0.0);
        CHECK(out[1].label == 0);
        CHECK(out[1].start == 1.0);
    }
}
