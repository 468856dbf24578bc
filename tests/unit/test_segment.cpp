// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>

#include "stages/segment.h"
#include "support.h"

namespace {

/// The value of ramp sample k: distinct, never zero, exact in float, and within the decoder's range (|x| <= 16)
/// for k up to 2^20.
float ramp(std::int64_t k) { return static_cast<float>(k) / 65536.0f; }

struct Cut {
    std::vector<arpipe::SegmentInfo> infos;
    std::vector<std::vector<float>> windows;
};

Cut cut(std::size_t samples, std::int64_t length, std::int64_t hop) {
    std::vector<float> x(samples);
    for (std::size_t i = 0; i < samples; ++i) x[i] = ramp(static_cast<std::int64_t>(i) + 1);  // never zero: padding shows
    const arpipe::Input in = arpipe::Input::pcm("ramp", x, 16000, 1);
    arpipe::Segmenter s(std::make_unique<arpipe::Decoder>(in, 16000, std::nullopt), length, hop);
    Cut c;
    std::vector<float> w(static_cast<std::size_t>(length));
    arpipe::SegmentInfo info;
    while (s.next(w.data(), &info)) {
        c.infos.push_back(info);
        c.windows.push_back(w);
    }
    CHECK(s.finished());
    return c;
}

}  // namespace

TEST_SUITE("segment") {
    TEST_CASE("windows start every hop and the last one is padded and marked") {
        const Cut c = cut(100000, 16000, 8000);
        // Windows at 0, 8000, ..., until one reaches the end: 88000 + 16000 >= 100000.
        REQUIRE(c.infos.size() == 12);
        for (std::size_t i = 0; i < c.infos.size(); ++i) {
            CHECK(c.infos[i].index == static_cast<std::int64_t>(i));
            CHECK(c.infos[i].start_sample == static_cast<std::int64_t>(i) * 8000);
            CHECK(c.infos[i].last == (i + 1 == c.infos.size()));
            CHECK(c.windows[i][0] == ramp(static_cast<std::int64_t>(i) * 8000 + 1));  // sample values follow the source
        }
        CHECK(c.infos.back().valid_samples == 100000 - 88000);
        CHECK(c.windows.back()[11999] == ramp(100000));
        CHECK(c.windows.back()[12000] == 0.0f);
    }

    TEST_CASE("a file shorter than one window gives one padded window") {
        const Cut c = cut(5000, 16000, 8000);
        REQUIRE(c.infos.size() == 1);
        CHECK(c.infos[0].last);
        CHECK(c.infos[0].valid_samples == 5000);
        CHECK(c.windows[0][15999] == 0.0f);
    }

    TEST_CASE("audio ending exactly on a window edge adds no empty window") {
        const Cut c = cut(32000, 16000, 16000);
        REQUIRE(c.infos.size() == 2);
        CHECK(c.infos[1].last);
        CHECK(c.infos[1].valid_samples == 16000);
    }

    TEST_CASE("no audio gives no window") { CHECK(cut(0, 16000, 8000).infos.empty()); }

    TEST_CASE("windows are cut the same whatever the decoder's chunk boundaries") {
        // 8192-frame decoder chunks never line up with 3000-sample hops: values must still be contiguous.
        const Cut c = cut(50000, 7000, 3000);
        for (std::size_t i = 0; i < c.infos.size(); ++i)
            for (std::int64_t k = 0; k < c.infos[i].valid_samples; ++k)
                REQUIRE(c.windows[i][static_cast<std::size_t>(k)] == ramp(c.infos[i].start_sample + k + 1));
    }
}

TEST_SUITE("segment") {
    // The chunked decoder's contract: whatever the stream length, window and hop, and however many segments
    // a chunk holds, the chunks' segments are exactly the segments the sequential cutter gives (each once, in
    // order, with the same span and padding), and a chunk's sample span covers exactly its windows.
    TEST_CASE("chunk plans cover every segment and every sample exactly once") {
        std::uint32_t rng = 12345;
        auto next = [&](std::int64_t lo, std::int64_t hi) {
            rng = rng * 1664525u + 1013904223u;
            return lo + static_cast<std::int64_t>(rng >> 8) % (hi - lo + 1);
        };
        for (int trial = 0; trial < 300; ++trial) {
            const std::int64_t length = next(1, 400);
            const std::int64_t hop = next(1, length);
            const std::int64_t samples = trial < 5 ? trial : next(0, 5000);
            const std::int64_t per_chunk = next(1, 12);
            CAPTURE(length);
            CAPTURE(hop);
            CAPTURE(samples);
            CAPTURE(per_chunk);
            const arpipe::ChunkPlan plan{samples, length, hop, per_chunk};
            const Cut ref = samples > 0 ? cut(static_cast<std::size_t>(samples), length, hop) : Cut{};
            REQUIRE(plan.segments() == static_cast<std::int64_t>(ref.infos.size()));
            std::vector<arpipe::SegmentInfo> all;
            std::vector<int> covered(static_cast<std::size_t>(samples), 0);
            std::int64_t previous_end = 0;
            for (std::int64_t k = 0; k < plan.chunks(); ++k) {
                std::vector<arpipe::SegmentInfo> infos(static_cast<std::size_t>(per_chunk));
                const std::int64_t n = arpipe::describe_segments(plan.first_segment(k), per_chunk, samples, length,
                                                                 hop, infos.data());
                CHECK(n <= per_chunk);
                CHECK(plan.end_sample(k) - plan.first_sample(k) <= plan.max_chunk_samples());
                // Chunks start where their first window starts and are contiguous or overlapping.
                CHECK(plan.first_sample(k) <= previous_end);
                previous_end = plan.end_sample(k);
                for (std::int64_t j = 0; j < n; ++j) {
                    const auto& s = infos[static_cast<std::size_t>(j)];
                    // Every sample of the window lies in the chunk's span.
                    CHECK(s.start_sample >= plan.first_sample(k));
                    CHECK(s.start_sample + s.valid_samples <= plan.end_sample(k));
                    all.push_back(s);
                }
                // The samples the chunk owns (up to the next chunk's start; the last one to the end) are
                // counted once.
                const std::int64_t own_end = k + 1 == plan.chunks() ? samples : std::min(samples, plan.first_sample(k + 1));
                for (std::int64_t t = plan.first_sample(k); t < own_end; ++t) ++covered[static_cast<std::size_t>(t)];
            }
            CHECK(previous_end == samples);
            REQUIRE(all.size() == ref.infos.size());
            for (std::size_t i = 0; i < all.size(); ++i) {
                CHECK(all[i].index == ref.infos[i].index);
                CHECK(all[i].start_sample == ref.infos[i].start_sample);
                CHECK(all[i].valid_samples == ref.infos[i].valid_samples);
                CHECK(all[i].last == ref.infos[i].last);
            }
            CHECK(std::all_of(covered.begin(), covered.end(), [](int c) { return c == 1; }));
            // And every sample is read by at least one window.
            std::vector<int> read(static_cast<std::size_t>(samples), 0);
            for (const auto& s : all)
                for (std::int64_t t = s.start_sample; t < s.start_sample + s.valid_samples; ++t) read[static_cast<std::size_t>(t)] = 1;
            CHECK(std::all_of(read.begin(), read.end(), [](int c) { return c == 1; }));
        }
    }

    TEST_CASE("segments per chunk follow the chunk length and are never zero") {
        CHECK(arpipe::segments_per_chunk(30.0, 8000, 16000) == 60);
        CHECK(arpipe::segments_per_chunk(30.0, 114688, 16000) == 4);  // Silero: hop 7.168 s
        CHECK(arpipe::segments_per_chunk(1.0, 114688, 16000) == 1);
    }
}
