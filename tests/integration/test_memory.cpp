// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Memory stays bounded whatever the file length (issue: hours-long files in bounded RAM).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <regex>

#include "support.h"

using testing::TempDir;

namespace {

/// Runs the CLI with --memory-report on one file and returns the peak RSS it printed, in MB.
double peak_rss_mb(const std::string& file, const TempDir& dir) {
    const std::string err = dir.file("err.txt");
    const std::string cmd = std::string(ARPIPE_CLI_PATH) + " run -q --memory-report -j 2 --batch 4 --tokens 6 -m " +
                            testing::repo_path("tests/data/models/loudness_clip.pt") + " " + file + " >/dev/null 2>" + err;
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    std::smatch m;
    const std::string text = testing::read_text(err);
    REQUIRE_MESSAGE(std::regex_search(text, m, std::regex("peak rss ([0-9.]+) MB")), text);
    return std::stod(m[1]);
}

}  // namespace

TEST_SUITE("memory") {
    // Regression guard: a stage that loads or buffers a whole file would add ~77 MB (20 min of 16 kHz float)
    // here. The bound is the 1-minute run's peak plus what the settings let be in flight (tokens x batch x
    // one window's audio, features and scores) plus a fixed allowance for the allocator (ASan's quarantine
    // keeps freed blocks, so it gets more).
    TEST_CASE("peak RSS for a 20-minute file stays within a bound derived from the settings") {
        constexpr int kTokens = 6, kBatch = 4;                      // as passed by peak_rss_mb()
        constexpr double kWindowFloats = 16000 + 64 * 101 + 2;     // loudness_clip.pt: 1 s, 64 x 101 log-mel, 2 labels
        constexpr double kInFlightMb = kTokens * kBatch * kWindowFloats * sizeof(float) / 1e6;  // 2.2 MB
#if defined(__SANITIZE_ADDRESS__)
        constexpr double kAllocatorMb = 12.0;
#else
        constexpr double kAllocatorMb = 8.0;
#endif
        TempDir dir;
        const auto minute = testing::noise(60.0, 16000, 0.2f);
        testing::write_audio(dir.file("one.wav"), minute, 16000);
        {
            SF_INFO info{};
            info.samplerate = 16000;
            info.channels = 1;
            info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
            SNDFILE* f = sf_open(dir.file("twenty.wav").c_str(), SFM_WRITE, &info);
            REQUIRE(f != nullptr);
            for (int i = 0; i < 20; ++i) sf_writef_float(f, minute.data(), static_cast<sf_count_t>(minute.size()));
            sf_close(f);
        }
        const double one = peak_rss_mb(dir.file("one.wav"), dir);
        const double twenty = peak_rss_mb(dir.file("twenty.wav"), dir);
        MESSAGE("peak RSS: 1 min " << one << " MB, 20 min " << twenty << " MB, bound " << one + kInFlightMb + kAllocatorMb);
        CHECK(twenty <= one + kInFlightMb + kAllocatorMb);
    }

    TEST_CASE("memory_stats reports the process and, on jemalloc, the allocator") {
        const arpipe::MemoryStats m = arpipe::memory_stats();
        CHECK(m.rss_mb > 1.0);
        CHECK(m.peak_rss_mb >= m.rss_mb);
        CHECK(m.anon_rss_mb > 0.0);
#ifdef ARPIPE_WITH_JEMALLOC
        CHECK(m.jemalloc);
        CHECK(m.allocated_mb > 0.0);
        CHECK(m.resident_mb >= m.allocated_mb);
#endif
    }
}
