// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "arpipe/config.h"

TEST_SUITE("config") {
    TEST_CASE("the default config is valid") { CHECK(arpipe::Config{}.validate().empty()); }

    TEST_CASE("validate names the field, the value and the range") {
        arpipe::Config c;
        c.parallel.batch = 0;
        CHECK(c.validate() == "parallel.batch = 0 is not in [1, 1024]");
        c = {};
        c.parallel.threads = -3;
        CHECK(c.validate() == "parallel.threads = -3 is not in [0, 1024]");
        c = {};
        c.post.threshold = 0.0f;
        CHECK(c.validate() == "post.threshold = 0 is not in (0, 1]");
        c = {};
        c.post.threshold = 0.5f;
        c.post.off_threshold = 0.7f;
        CHECK(c.validate().find("post.off_threshold = 0.7") == 0);
        c = {};
        c.post.off_threshold = std::nanf("");  // used to pass, and then meant "automatic"
        CHECK(c.validate().find("post.off_threshold = nan") == 0);
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
        auto f = arpipe::parse_raw_format("f32le:8000:2");
        REQUIRE(f);
        CHECK(f.value->encoding == arpipe::RawFormat::Encoding::f32le);
        CHECK(f.value->sample_rate_hz == 8000);
        CHECK(f.value->channels == 2);
        CHECK(f.error.empty());
        auto bad = arpipe::parse_raw_format("s16le:16000");
        CHECK_FALSE(bad);
        CHECK(bad.error.find("ENCODING:RATE:CHANNELS") != std::string::npos);
        bad = arpipe::parse_raw_format("s24be:16000:1");
        CHECK_FALSE(bad);
        CHECK(bad.error.find("s24be") != std::string::npos);
        bad = arpipe::parse_raw_format("s16le:10:1");
        CHECK_FALSE(bad);
        CHECK(bad.error == "raw_format.sample_rate_hz = 10 is not in [1000, 768000]");
        bad = arpipe::parse_raw_format("s16le:16000:x");
        CHECK_FALSE(bad);
        CHECK(bad.error.find("integers") != std::string::npos);
    }

    TEST_CASE("every fixed range validate() checks is published, and only those") {
        using arpipe::setting_range;
        const char* fields[] = {"parallel.threads",       "parallel.tokens",        "parallel.batch",
                                "decode.chunk_seconds",   "post.top_k",             "post.threshold",
                                "post.min_event_seconds", "post.min_gap_seconds",   "raw_format.sample_rate_hz",
                                "raw_format.channels"};
        for (const char* field : fields) {
            CAPTURE(field);
            REQUIRE(setting_range(field) != nullptr);
            CHECK(std::string(setting_range(field)->field) == field);
        }
        CHECK(setting_range("post.off_threshold") == nullptr);
        CHECK(setting_range("nope") == nullptr);
        const arpipe::SettingRange* t = setting_range("post.threshold");
        CHECK(t->text() == "(0, 1]");
        CHECK_FALSE(t->contains(0.0));
        CHECK(t->contains(1.0));
        CHECK(setting_range("parallel.batch")->text() == "[1, 1024]");

        // The published bound is the one validate() enforces: just outside fails, the bound itself passes.
        arpipe::Config c;
        c.parallel.tokens = static_cast<int>(setting_range("parallel.tokens")->max) + 1;
        CHECK(c.validate().find("parallel.tokens") == 0);
        c.parallel.tokens = static_cast<int>(setting_range("parallel.tokens")->max);
        CHECK(c.validate().empty());
        c.decode.chunk_seconds = std::nan("");
        CHECK(c.validate().find("decode.chunk_seconds = nan") == 0);
    }
}
