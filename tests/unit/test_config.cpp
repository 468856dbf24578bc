// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "arpipe/config.h"

TEST_SUITE("config") {
    TEST_CASE("the default config is valid") { CHECK(arpipe::Config{}.validate().empty()); }

    TEST_CASE("validate names the field, the value and the range") {
        arpipe::Config c;
        c.threads.batch = 0;
        CHECK(c.validate() == "threads.batch = 0 is not in [1, 1024]");
        c = {};
        c.threads.threads = -3;
        CHECK(c.validate() == "threads.threads = -3 is not in [0, 1024]");
        c = {};
        c.post.threshold = 0.0f;
        CHECK(c.validate() == "post.threshold = 0 is not in (0, 1]");
        c = {};
        c.post.threshold = 0.5f;
        c.post.off_threshold = 0.7f;
        CHECK(c.validate().find("post.off_threshold = 0.7") == 0);
        c = {};
        c.post.min_gap_seconds = -1;
        CHECK(c.validate() == "post.min_gap_seconds = -1 is not in [0, 3600]");
    }

    TEST_CASE("the automatic off threshold sits 0.15 below the threshold") {
        arpipe::PostConfig p;
        p.threshold = 0.6f;
        CHECK(p.effective_off_threshold() == doctest::Approx(0.45f));
        p.off_threshold = 0.2f;
        CHECK(p.effective_off_threshold() == doctest::Approx(0.2f));
        p.off_threshold = -1.0f;
        p.threshold = 0.1f;  // 0.1 - 0.15 < 0: falls back to half the threshold
        CHECK(p.effective_off_threshold() == doctest::Approx(0.05f));
    }

    TEST_CASE("raw formats parse and bad ones are explained") {
        std::string why;
        auto f = arpipe::parse_raw_format("f32le:8000:2", &why);
        REQUIRE(f);
        CHECK(f->encoding == arpipe::RawFormat::Encoding::f32le);
        CHECK(f->sample_rate_hz == 8000);
        CHECK(f->channels == 2);
        CHECK_FALSE(arpipe::parse_raw_format("s16le:16000", &why));
        CHECK(why.find("ENCODING:RATE:CHANNELS") != std::string::npos);
        CHECK_FALSE(arpipe::parse_raw_format("s24be:16000:1", &why));
        CHECK(why.find("s24be") != std::string::npos);
        CHECK_FALSE(arpipe::parse_raw_format("s16le:10:1", &why));
        CHECK(why == "raw_format.sample_rate_hz = 10 is not in [1000, 768000]");
        CHECK_FALSE(arpipe::parse_raw_format("s16le:16000:x", &why));
    }
}
