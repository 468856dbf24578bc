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
    opt.parallel = arpipe::ParallelConfig{threads, tokens, batch};
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
            opt.parallel = arpipe::ParallelConfig{4, tokens, 1};
            arpipe::RunDiagnostics diag;
            diag.max_serial_concurrency = 99;  // the run resets what it is given
            opt.diagnostics = &diag;
            const auto stats = engine->run(in, sink, opt);
            CHECK(stats.max_live_tokens >= 1);
            CHECK(stats.max_live_tokens <= tokens);
            CHECK(diag.max_serial_concurrency == 1);
            // One entry per token that carried segments; every segment went through some token.
            CHECK(!diag.token_seconds_infer.empty());
            CHECK(diag.token_seconds_infer.size() == diag.token_seconds_features.size());
            CHECK(static_cast<std::int64_t>(diag.token_seconds_infer.size()) <= stats.tokens);
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

namespace {

/// Compressed and resampled inputs, as real archives hold them: MP3 and Vorbis at 44.1 kHz stereo, Opus at
/// 48 kHz stereo, FLAC at 16 kHz. Lengths are not multiples of the 1 s chunks the tests use.
std::vector<arpipe::Input> archive_workload(const TempDir& dir) {
    struct F {
        const char* name;
        int format, rate, channels;
        double seconds;
    };
    const F files[] = {
        {"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 6.37},
        {"b.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, 5.21},
        {"c.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 4.66},
        {"d.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 3.9},
        {"e.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1, 0.4},
    };
    std::vector<arpipe::Input> in;
    std::uint32_t seed = 3;
    for (const F& f : files) {
        const auto mono = testing::concat({testing::noise(f.seconds * 0.4, f.rate, 0.3f, ++seed),
                                           testing::silence(f.seconds * 0.2, f.rate),
                                           testing::noise(f.seconds * 0.4, f.rate, 0.05f, ++seed)});
        std::vector<float> x;
        for (float v : mono)
            for (int c = 0; c < f.channels; ++c) x.push_back(v * (c == 0 ? 1.0f : 0.7f));
        const std::string path = dir.file(f.name);
        testing::write_audio(path, x, f.rate, f.channels, f.format);
        in.push_back(arpipe::Input::file(path));
    }
    return in;
}

std::shared_ptr<const arpipe::Engine> load_chunked(const std::string& model, double chunk_seconds) {
    arpipe::Config c;
    c.model_path = testing::repo_path("tests/data/models/" + model);
    c.decode.chunk_seconds = chunk_seconds;
    auto loaded = arpipe::Engine::load(c);
    if (!loaded.engine) throw std::runtime_error("cannot load " + c.model_path + ": " + loaded.error);
    return loaded.engine;
}

}  // namespace

TEST_SUITE("pipeline properties") {
    // Chunks of one file are decoded by different threads in any order; the plan depends only on the file,
    // so threads, tokens and batch cannot change a byte.
    TEST_CASE("MP3, Opus, Vorbis and FLAC inputs in chunks give byte-identical output for any threads, tokens and batch") {
        TempDir dir;
        const auto in = archive_workload(dir);
        for (const char* model : {"loudness_clip.pt", "loudness_frames.pt"}) {
            CAPTURE(model);
            auto engine = load_chunked(model, 1.0);
            const std::string one = run_jsonl(*engine, in, 1, 1, 1);
            CHECK(one.find("\"type\":\"event\"") != std::string::npos);
            CHECK(one.find("\"type\":\"error\"") == std::string::npos);
            CHECK(run_jsonl(*engine, in, 2, 0, 4) == one);
            CHECK(run_jsonl(*engine, in, 3, 2, 3) == one);
            CHECK(run_jsonl(*engine, in, 4, 16, 8) == one);
        }
    }

    TEST_CASE("inputs that need no resampling give the same output whatever the chunk length") {
        // Without a rate change chunked decoding is sample-exact, so even the chunk length changes nothing.
        TempDir dir;
        auto in = archive_workload(dir);
        in.erase(std::remove_if(in.begin(), in.end(), [](const arpipe::Input& i) { return i.name.find(".flac") == std::string::npos; }),
                 in.end());
        in.push_back(arpipe::Input::file(testing::repo_path("tests/data/librivox_excerpt.wav")));
        const std::string big = run_jsonl(*load_chunked("loudness_frames.pt", 600.0), in, 2, 0, 4);
        CHECK(big.find("\"type\":\"event\"") != std::string::npos);
        CHECK(run_jsonl(*load_chunked("loudness_frames.pt", 1.0), in, 2, 0, 4) == big);
        CHECK(run_jsonl(*load_chunked("loudness_frames.pt", 2.5), in, 3, 0, 2) == big);
    }

    TEST_CASE("a bad sample in a later chunk fails that input with its position, and the run goes on") {
        TempDir dir;
        auto x = testing::noise(5.0, kRate, 0.3f, 5);
        x[3 * kRate + 1234] = std::numeric_limits<float>::quiet_NaN();
        const std::string bad = dir.file("nan.wav");
        testing::write_audio(bad, x, kRate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
        const std::string good = dir.file("good.wav");
        testing::write_audio(good, testing::noise(2.0, kRate, 0.3f, 6), kRate);
        const std::vector<arpipe::Input> in{arpipe::Input::file(bad), arpipe::Input::file(good)};
        auto engine = load_chunked("loudness_clip.pt", 1.0);
        for (int threads : {1, 3}) {
            CAPTURE(threads);
            testing::CollectSink sink;
            arpipe::RunOptions opt;
            opt.parallel = arpipe::ParallelConfig{threads, 0, 2};
            const auto stats = engine->run(in, sink, opt);
            REQUIRE(sink.errors.size() == 1);
            CHECK(sink.errors[0].file_index == 0);
            CHECK(sink.errors[0].code == arpipe::ErrorCode::bad_samples);
            CHECK(sink.errors[0].message.find("frame " + std::to_string(3 * kRate + 1234)) != std::string::npos);
            CHECK(sink.summaries.size() == 1);
            CHECK(sink.terminal_order == std::vector<std::size_t>{0, 1});
            CHECK(stats.files_ok == 1);
        }
    }

    TEST_CASE("an input cut short of what its header announces ends in one summary with the audio that was there") {
        TempDir dir;
        const std::string path = dir.file("cut.wav");
        testing::write_audio(path, testing::noise(6.0, kRate, 0.3f, 9), kRate);
        REQUIRE(::truncate(path.c_str(), 44 + 2 * kRate * 5 / 2) == 0);  // 2.5 s of the 6 s announced
        auto engine = load_chunked("loudness_clip.pt", 1.0);
        for (int threads : {1, 2}) {
            testing::CollectSink sink;
            arpipe::RunOptions opt;
            opt.parallel = arpipe::ParallelConfig{threads, 0, 1};
            engine->run({arpipe::Input::file(path)}, sink, opt);
            REQUIRE(sink.summaries.size() == 1);
            CHECK(sink.errors.empty());
            CHECK(sink.summaries[0].duration_seconds == doctest::Approx(2.5));
            CHECK(sink.summaries[0].segments == 4);  // windows of 1 s every 0.5 s over 2.5 s
        }
    }
}
