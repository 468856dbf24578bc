// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "support.h"
#include "stages/failure.h"
#include "stages/postprocess.h"

using arpipe::EventTracker;
using arpipe::TrackedEvent;

namespace {

/// A clip model's description as track_segment reads it: 1 s windows every 0.5 s at 16 kHz.
arpipe::ModelInfo clip_info() {
    arpipe::ModelInfo info;
    info.sample_rate_hz = 16000;
    info.segment_seconds = 1.0;
    info.hop_seconds = 0.5;
    info.segment_samples = 16000;
    info.hop_samples = 8000;
    info.output_kind = arpipe::OutputKind::clip;
    info.labels = {"a"};
    return info;
}

/// No event may be written with start == end: times are written to the millisecond.
bool written_zero_length(const TrackedEvent& e) {
    return std::round(e.start * arpipe::kTimeTicksPerSecond) >= std::round(e.end * arpipe::kTimeTicksPerSecond);
}

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

    TEST_CASE("a score outside [0, 1] with activation none is a model_output failure naming the value") {
        for (const float bad : {7.0f, -0.25f, 1.0000001f}) {
            CAPTURE(bad);
            std::vector<float> s{0.5f, 0.5f, 0.25f, bad};
            const std::string msg = testing::failure_message(
                [&] { arpipe::score_steps(s.data(), 2, 2, arpipe::Activation::none, 1); }, arpipe::ErrorCode::model_output);
            CHECK(msg.find("outside [0, 1]") != std::string::npos);
            CHECK(msg.find("at step 1, label 1") != std::string::npos);
            CHECK(msg.find("activation none") != std::string::npos);
            CHECK(msg.find('\n') == std::string::npos);
        }
        std::vector<float> s{7.0f, 0.5f};
        CHECK(testing::failure_message([&] { arpipe::score_steps(s.data(), 1, 2, arpipe::Activation::none, 0); },
                              arpipe::ErrorCode::model_output)
                  .starts_with("model score 7 at step 0, label 0"));
        std::vector<float> edges{0.0f, 1.0f, -0.0f, 0.5f};  // the bounds themselves are scores
        CHECK_NOTHROW(arpipe::score_steps(edges.data(), 2, 2, arpipe::Activation::none, 0));
    }

    TEST_CASE("softmax and sigmoid of extreme logits stay inside [0, 1]") {
        const float big = std::numeric_limits<float>::max();
        for (const auto act : {arpipe::Activation::softmax, arpipe::Activation::sigmoid}) {
            std::vector<float> s{big, -big, 88.7f, -88.7f, 1e-30f, 0.0f, 17.0f, -104.0f};
            CHECK_NOTHROW(arpipe::score_steps(s.data(), 2, 4, act, 0));
            for (const float v : s) CHECK((v >= 0.0f && v <= 1.0f));
        }
    }

    TEST_CASE("a 1-sample input gives no zero-length event") {
        // Regression: the only window of a 1-sample file spans [0, 62.5 us), which was emitted as an event
        // written "start": 0.0, "end": 0.0.
        const arpipe::ModelInfo info = clip_info();
        EventTracker t(1, arpipe::PostConfig{});
        std::vector<TrackedEvent> out;
        const float score = 0.9f;
        arpipe::SegmentInfo seg;
        seg.index = 0;
        seg.start_sample = 0;
        seg.valid_samples = 1;
        seg.last = true;
        arpipe::track_segment(info, 1, seg, &score, t, out);
        t.finish(out);
        CHECK(out.empty());
    }

    TEST_CASE("an event that closes at the end of the audio keeps its end, and a sliver there opens none") {
        arpipe::PostConfig cfg;
        // The label goes on into a last step cut 0.4 ms after 1 s by the end of the audio: it ends there.
        EventTracker t(1, cfg);
        std::vector<TrackedEvent> out;
        const float on = 0.9f, off = 0.0f;
        t.push(0.0, 1.0, &on, out);
        t.push(1.0, 1.0004, &on, out);
        t.finish(out);
        REQUIRE(out.size() == 1);
        CHECK(out[0].start == 0.0);
        CHECK(out[0].end == 1.0004);
        // The label only turns on in that last sliver: an event of 0.4 ms would be written as [1.0, 1.0].
        EventTracker u(1, cfg);
        out.clear();
        u.push(0.0, 1.0, &off, out);
        u.push(1.0, 1.0004, &on, out);
        u.finish(out);
        CHECK(out.empty());
        // A sliver that crosses a millisecond is written with a length and is kept.
        EventTracker v(1, cfg);
        out.clear();
        v.push(0.0, 1.0004, &off, out);
        v.push(1.0004, 1.0006, &on, out);
        v.finish(out);
        REQUIRE(out.size() == 1);
        CHECK_FALSE(written_zero_length(out[0]));
    }

    TEST_CASE("frames cut by the end of the audio never make a zero-length event") {
        arpipe::ModelInfo info = clip_info();
        info.output_kind = arpipe::OutputKind::frames;
        info.frame_hop_seconds = 0.05;
        // One loud window, the file's only one, that the end of the audio cuts at various places.
        for (const std::int64_t valid : {1, 2, 5, 7, 9, 8005, 8804, 8808, 16000}) {
            CAPTURE(valid);
            EventTracker t(1, arpipe::PostConfig{});
            std::vector<TrackedEvent> out;
            const std::vector<float> scores(20, 0.9f);
            arpipe::SegmentInfo seg;
            seg.index = 0;
            seg.valid_samples = valid;
            seg.last = true;
            arpipe::track_segment(info, 20, seg, scores.data(), t, out);
            t.finish(out);
            for (const auto& e : out) CHECK_FALSE(written_zero_length(e));
            CHECK(out.size() == (valid >= 9 ? 1u : 0u));  // 0.56 ms rounds to a written millisecond, 0.44 ms not
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
