// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "stages/segment.h"
#include "support.h"

namespace {

struct Cut {
    std::vector<arpipe::SegmentInfo> infos;
    std::vector<std::vector<float>> windows;
};

Cut cut(std::size_t samples, std::int64_t length, std::int64_t hop) {
    std::vector<float> x(samples);
    for (std::size_t i = 0; i < samples; ++i) x[i] = static_cast<float>(i + 1);  // never zero: padding shows
    const arpipe::Input in = arpipe::Input::pcm("ramp", x, 16000, 1);
    arpipe::Decoder d(in, 16000, std::nullopt);
    arpipe::Segmenter s(d, length, hop);
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
            CHECK(c.windows[i][0] == static_cast<float>(i * 8000 + 1));  // sample values follow the source
        }
        CHECK(c.infos.back().valid_samples == 100000 - 88000);
        CHECK(c.windows.back()[11999] == 100000.0f);
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
                REQUIRE(c.windows[i][static_cast<std::size_t>(k)] == static_cast<float>(c.infos[i].start_sample + k + 1));
    }
}
