// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Properties of the pipeline itself: determinism across thread counts, the live-token bound, serial filters
// that never overlap, and a thread census that proves no library starts a pool of its own.
#include <doctest/doctest.h>

#include <sstream>

#include "support.h"

using testing::TempDir;

namespace {

constexpr int kRate = 16000;

/// A few files with different content, rates and lengths, plus the real speech excerpt.
std::vector<arpipe::Input> workload(const TempDir& dir) {
    std::vector<arpipe::Input> in;
    for (int i = 0; i < 4; ++i) {
        const auto x = testing::concat({testing::noise(1.5 + i, kRate, 0.02f * (i + 1), i + 7), testing::silence(1.0 + 0.3 * i, kRate),
                                        testing::noise(2.0, kRate, 0.3f, i + 11)});
        const std::string f = dir.file("w" + std::to_string(i) + ".wav");
        testing::write_audio(f, x, kRate);
        in.push_back(arpipe::Input::file(f));
    }
    in.push_back(arpipe::Input::file(testing::repo_path("tests/data/librivox_excerpt.wav")));
    return in;
}

std::string run_jsonl(const arpipe::Engine& engine, const std::vector<arpipe::Input>& in, int threads, int tokens, int batch) {
    std::ostringstream os;
    auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
    arpipe::RunOptions opt;
    opt.threads = arpipe::ThreadConfig{threads, tokens, batch};
    [[maybe_unused]] const auto stats = engine.run(in, *writer, opt);
    return os.str();
}

int thread_count() {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
    return n;
}

}  // namespace

TEST_SUITE("pipeline properties") {
    TEST_CASE("output is byte-identical for 1, 2 and 4 threads") {
        TempDir dir;
        const auto in = workload(dir);
        for (const char* model : {"loudness_clip.pt", "loudness_frames.pt"}) {
            CAPTURE(model);
            auto engine = testing::load_engine(model, 1, 2);
            const std::string one = run_jsonl(*engine, in, 1, 0, 2);
            CHECK(one.find("\"type\":\"event\"") != std::string::npos);
            CHECK(run_jsonl(*engine, in, 2, 0, 2) == one);
            CHECK(run_jsonl(*engine, in, 4, 3, 2) == one);
        }
    }

    // Regression: Debian's serial OpenBLAS is not safe to call from several threads at once; the VAD's
    // LSTM goes through BLAS, so concurrent inference gave different events from run to run.
    TEST_CASE("a model that goes through BLAS (Silero's LSTM) gives the same output for 1 and 2 threads") {
        std::vector<arpipe::Input> in;
        for (int i = 0; i < 10; ++i) in.push_back(arpipe::Input::file(testing::repo_path("tests/data/librivox_excerpt.wav")));
        auto engine = testing::load_engine("data/models/silero_vad.pt", 1, 1);
        const std::string one = run_jsonl(*engine, in, 1, 0, 1);
        CHECK(one.find("\"label\":\"speech\"") != std::string::npos);
        for (int rep = 0; rep < 5; ++rep) CHECK(run_jsonl(*engine, in, 2, 0, 1) == one);
    }

    TEST_CASE("output does not depend on the batch size") {
        TempDir dir;
        const auto in = workload(dir);
        auto engine = testing::load_engine("loudness_frames.pt", 2, 1);
        const std::string b1 = run_jsonl(*engine, in, 2, 0, 1);
        CHECK(run_jsonl(*engine, in, 2, 0, 3) == b1);
        CHECK(run_jsonl(*engine, in, 2, 0, 8) == b1);
    }

    TEST_CASE("live tokens never exceed the limit and serial filters never overlap") {
        TempDir dir;
        const auto in = workload(dir);
        auto engine = testing::load_engine("loudness_clip.pt", 4, 1);
        for (int tokens : {1, 2, 3, 8}) {
            CAPTURE(tokens);
            testing::CollectSink sink;
            arpipe::RunOptions opt;
            opt.threads = arpipe::ThreadConfig{4, tokens, 1};
            const auto stats = engine->run(in, sink, opt);
            CHECK(stats.max_live_tokens >= 1);
            CHECK(stats.max_live_tokens <= tokens);
            CHECK(stats.max_serial_concurrency == 1);
            CHECK(stats.files_ok == in.size());
        }
    }

    // The census: main thread + (N - 1) TBB workers, plus at most kSpare others. kSpare = 1 leaves room for
    // one helper thread a runtime may keep (none was seen here); an OpenMP team per worker, a threaded BLAS
    // or a second pool would add N or more and fail.
    TEST_CASE("a run with N workers never has more than N + 1 threads") {
        constexpr int kSpare = 1;
        TempDir dir;
        const auto in = workload(dir);
        for (int n : {1, 2, 3}) {
            CAPTURE(n);
            auto engine = testing::load_engine("loudness_clip.pt", n, 2);
            struct Census : testing::CollectSink {
                int max_threads = 0;
                void on_progress(const arpipe::Progress&) override { max_threads = std::max(max_threads, thread_count()); }
            } sink;
            const auto stats = engine->run(in, sink);
            CHECK(stats.files_ok == in.size());
            MESSAGE("threads seen during a run with " << n << " workers: " << sink.max_threads);
            CHECK(sink.max_threads >= 1);
            CHECK(sink.max_threads <= n + kSpare);
        }
    }
}

#include <tbb/task_arena.h>

TEST_SUITE("pipeline properties") {
    TEST_CASE("a run can use the host's own TBB arena, with the same output") {
        TempDir dir;
        const auto in = workload(dir);
        auto engine = testing::load_engine("loudness_frames.pt", 1, 2);
        const std::string own = run_jsonl(*engine, in, 1, 0, 2);
        tbb::task_arena host(2);
        std::ostringstream os;
        arpipe::RunStats stats;
        host.execute([&] {
            auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
            arpipe::RunOptions opt;
            opt.use_caller_arena = true;
            stats = engine->run(in, *writer, opt);
        });
        CHECK(stats.threads == 2);
        CHECK(os.str() == own);
    }
}
