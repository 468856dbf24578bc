// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "support.h"

using arpipe::ErrorCode;
using testing::TempDir;

namespace {

constexpr int kRate = 16000;

/// 2 s silence, 2 s loud noise, 2 s silence.
std::vector<float> quiet_loud_quiet() {
    return testing::concat({testing::silence(2.0, kRate), testing::noise(2.0, kRate, 0.3f), testing::silence(2.0, kRate)});
}

arpipe::LoadResult load(const std::string& fixture) {
    arpipe::Config c;
    c.model_path = testing::repo_path("tests/data/models/" + fixture);
    return arpipe::Engine::load(c);
}

}  // namespace

TEST_SUITE("engine") {
    TEST_CASE("each broken model is a clear load-time error") {
        struct Case {
            const char* file;
            const char* says;
        } cases[] = {
            {"missing.pt", "model file not found"},
            {"not_torchscript.pt", "cannot load"},
            {"no_description.pt", "no arpipe.json"},
            {"malformed_description.pt", "not valid JSON"},
            {"zero_hop.pt", "segment.hop_seconds = 0"},
            {"label_mismatch.pt", "output shape [4, 2] does not match [4, 3]"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.file);
            const auto r = load(c.file);
            CHECK(r.engine == nullptr);
            CHECK(r.code == ErrorCode::bad_model);
            CHECK(r.error.find(c.says) != std::string::npos);
        }
    }

    TEST_CASE("a bad config is refused before the model loads") {
        arpipe::Config c;
        c.model_path = "/nonexistent";
        c.parallel.batch = 0;
        const auto r = arpipe::Engine::load(c);
        CHECK(r.code == ErrorCode::bad_config);
        CHECK(r.error == "parallel.batch = 0 is not in [1, 1024]");
    }

    TEST_CASE("a clip model finds the loud stretch of a file") {
        auto engine = testing::load_engine("loudness_clip.pt");
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), quiet_loud_quiet(), kRate);
        const arpipe::FileResult r = engine->process_file(dir.file("a.wav"));
        REQUIRE(r.summary);
        CHECK_FALSE(r.error);
        CHECK(r.summary->duration_seconds == doctest::Approx(6.0));
        CHECK(r.summary->segments == 11);  // windows at 0, 0.5, ..., 5.0 s
        std::vector<arpipe::Event> loud;
        for (const auto& e : r.events)
            if (e.label == "loud") loud.push_back(e);
        REQUIRE(loud.size() == 1);
        // Windows straddling an edge may go either way: the event edges are within one hop of the truth.
        CHECK(loud[0].start_seconds == doctest::Approx(2.0).epsilon(0.26));
        CHECK(loud[0].end_seconds == doctest::Approx(4.0).epsilon(0.13));
        CHECK(loud[0].score > 0.9f);
        CHECK(r.events.front().label == "quiet");
        CHECK(r.events.front().start_seconds == 0.0);
        CHECK(r.events.back().end_seconds == doctest::Approx(6.0));
    }

    TEST_CASE("a frame model places events to the frame") {
        auto engine = testing::load_engine("loudness_frames.pt");
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), quiet_loud_quiet(), kRate);
        const arpipe::FileResult r = engine->process_file(dir.file("a.wav"));
        REQUIRE(r.summary);
        REQUIRE(r.events.size() == 1);
        CHECK(r.events[0].start_seconds == doctest::Approx(2.0));
        CHECK(r.events[0].end_seconds == doctest::Approx(4.0));
    }

    TEST_CASE("8 kHz stereo FLAC and in-memory PCM give the same events as 16 kHz mono") {
        auto engine = testing::load_engine("loudness_frames.pt");
        TempDir dir;
        const auto x8 = testing::concat({testing::silence(1.0, 8000), testing::noise(1.0, 8000, 0.3f), testing::silence(1.0, 8000)});
        std::vector<float> stereo;
        for (float v : x8) {
            stereo.push_back(v);
            stereo.push_back(v);
        }
        testing::write_audio(dir.file("s.flac"), stereo, 8000, 2, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
        testing::CollectSink sink;
        const auto stats = engine->run({arpipe::Input::file(dir.file("s.flac")), arpipe::Input::pcm("mem", x8, 8000, 1)}, sink);
        CHECK(stats.files_ok == 2);
        for (std::size_t f = 0; f < 2; ++f) {
            const auto ev = sink.events_for(f);
            REQUIRE(ev.size() == 1);
            CHECK(ev[0].start_seconds == doctest::Approx(1.0).epsilon(0.06));
            CHECK(ev[0].end_seconds == doctest::Approx(2.0).epsilon(0.03));
        }
        CHECK(sink.summaries[0].source_channels == 2);
        CHECK(sink.summaries[0].source_rate_hz == 8000);
    }

    TEST_CASE("progress counts segments done against each file's total, known from its header") {
        struct ProgressLog : testing::CollectSink {
            void on_progress(const arpipe::Progress& p) override {
                CollectSink::on_progress(p);
                log.push_back(p);
            }
            std::vector<arpipe::Progress> log;
        };
        auto engine = testing::load_engine("loudness_clip.pt", 2, 2);
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(20.3, 16000, 0.3f), 16000);
        testing::write_audio(dir.file("b.flac"), testing::noise(7.0, 8000, 0.3f), 8000, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
        ProgressLog sink;
        const auto stats = engine->run({arpipe::Input::file(dir.file("a.wav")), arpipe::Input::file(dir.file("b.flac")),
                                        arpipe::Input::pcm("mem", testing::noise(3.0, 16000, 0.3f), 16000, 1)},
                                       sink);
        REQUIRE(stats.files_ok == 3);
        REQUIRE(sink.summaries.size() == 3);
        REQUIRE_FALSE(sink.log.empty());
        CHECK(sink.log.back().segments_done == stats.segments);
        CHECK(sink.log.back().files_done == 3);
        for (std::size_t f = 0; f < 3; ++f) {
            CAPTURE(f);
            const std::int64_t real = sink.summaries[f].segments;
            REQUIRE(real > 1);
            std::int64_t last_done = 0;
            for (const auto& p : sink.log) {
                if (p.file_index != f) continue;
                CHECK(p.file_segments_total == real);  // these headers tell the truth, so the total is exact
                CHECK(p.file_segments_done >= last_done);
                last_done = p.file_segments_done;
            }
            CHECK(last_done == real);
        }
    }

    TEST_CASE("a corrupt file among good ones: the good ones still produce results") {
        auto engine = testing::load_engine("loudness_clip.pt");
        TempDir dir;
        testing::write_audio(dir.file("1.wav"), quiet_loud_quiet(), kRate);
        testing::write_text(dir.file("2.wav"), "RIFF\x10\x00\x00\x00WAVEjunkjunkjunk");
        testing::write_audio(dir.file("3.wav"), testing::noise(0.3, kRate, 0.3f), kRate);  // shorter than a window
        testing::write_text(dir.file("4.wav"), "");
        testing::write_audio(dir.file("5.wav"), {}, kRate);  // a header and no frames
        std::vector<arpipe::Input> in;
        for (const char* n : {"1.wav", "2.wav", "missing.wav", "3.wav", "4.wav", "5.wav"}) in.push_back(arpipe::Input::file(dir.file(n)));
        testing::CollectSink sink;
        const auto stats = engine->run(in, sink);
        // Every input ends in exactly one terminal record, in input order.
        REQUIRE(sink.terminal_order == std::vector<std::size_t>{0, 1, 2, 3, 4, 5});
        CHECK(stats.files_ok == 2);
        CHECK(stats.files_failed == 4);
        CHECK(sink.error_for(1) != nullptr);
        CHECK(sink.error_for(2)->code == ErrorCode::not_found);
        CHECK(sink.error_for(4)->code == ErrorCode::empty_file);
        CHECK(sink.error_for(5)->code == ErrorCode::empty_file);
        CHECK(sink.error_for(1)->file == dir.file("2.wav"));
        CHECK_FALSE(sink.events_for(0).empty());
        // The short file is padded and tagged, not an error; its event ends where the audio does.
        CHECK(sink.error_for(3) == nullptr);
        REQUIRE(sink.events_for(3).size() == 1);
        CHECK(sink.events_for(3)[0].end_seconds == doctest::Approx(0.3));
        CHECK(sink.summaries[1].file_index == 3);
        CHECK(sink.summaries[1].segments == 1);
        CHECK(sink.finished == 1);
    }

    TEST_CASE("NaN from the model fails that file only, with model_output") {
        auto engine = testing::load_engine("nan_output.pt");
        TempDir dir;
        testing::write_audio(dir.file("loud.wav"), testing::noise(3.0, kRate, 0.5f), kRate);
        testing::write_audio(dir.file("quiet.wav"), testing::silence(3.0, kRate), kRate);
        testing::CollectSink sink;
        const auto stats = engine->run({arpipe::Input::file(dir.file("loud.wav")), arpipe::Input::file(dir.file("quiet.wav"))}, sink);
        REQUIRE(sink.error_for(0) != nullptr);
        CHECK(sink.error_for(0)->code == ErrorCode::model_output);
        CHECK(sink.error_for(0)->message.find("non-finite") != std::string::npos);
        CHECK(sink.error_for(1) == nullptr);
        CHECK(stats.files_ok == 1);
    }

    TEST_CASE("a run cancelled from the sink reports every unfinished input as cancelled") {
        auto engine = testing::load_engine("loudness_clip.pt", 2, 1);
        TempDir dir;
        std::vector<arpipe::Input> in;
        for (int i = 0; i < 6; ++i) {
            const std::string f = dir.file(std::to_string(i) + ".wav");
            testing::write_audio(f, testing::noise(5.0, kRate, 0.2f, i + 1), kRate);
            in.push_back(arpipe::Input::file(f));
        }
        std::atomic<bool> stop{false};
        struct StopAfterFirst : testing::CollectSink {
            std::atomic<bool>* stop = nullptr;
            void on_summary(const arpipe::FileSummary& s) override {
                CollectSink::on_summary(s);
                stop->store(true);
            }
        } sink;
        sink.stop = &stop;
        arpipe::RunOptions opt;
        opt.cancel = &stop;
        const auto stats = engine->run(in, sink, opt);
        CHECK(stats.cancelled);
        CHECK(stats.files_ok >= 1);
        CHECK(stats.files_ok < 6);
        CHECK(sink.terminal_order.size() == 6);  // nothing lost
        std::size_t cancelled = 0;
        for (const auto& e : sink.errors) cancelled += e.code == ErrorCode::cancelled;
        CHECK(cancelled == 6 - stats.files_ok);
        CHECK(stats.files_not_started >= 1);
    }

    TEST_CASE("a model loaded from its bytes tags exactly as the same file loaded by path") {
        const std::string path = testing::repo_path("data/models/tagger.pt");
        std::ifstream in(path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE(bytes.size() > 1000);
        arpipe::Config c;
        c.parallel = {2, 0, 4};
        c.model_path = path;
        auto by_path = arpipe::Engine::load(c);
        REQUIRE_MESSAGE(by_path.engine, by_path.error);
        c.model_path.clear();
        auto by_bytes = arpipe::Engine::load(c, bytes);
        REQUIRE_MESSAGE(by_bytes.engine, by_bytes.error);
        CHECK(by_bytes.engine->model().path == "model in memory");
        CHECK(by_bytes.engine->model().labels == by_path.engine->model().labels);
        const auto inputs = arpipe::expand_paths({testing::repo_path("data/samples")});
        std::ostringstream a, b;
        auto wa = arpipe::make_writer(arpipe::OutputFormat::jsonl, a);
        auto wb = arpipe::make_writer(arpipe::OutputFormat::jsonl, b);
        (void)by_path.engine->run(inputs, *wa);
        (void)by_bytes.engine->run(inputs, *wb);
        CHECK(a.str().find("\"type\":\"event\"") != std::string::npos);
        CHECK(a.str() == b.str());
        // Bad bytes are a load error like a bad file, named as the caller asked.
        c.model_path = "bundle/tagger";
        auto bad = arpipe::Engine::load(c, std::string("not a model"));
        CHECK_FALSE(bad.engine);
        CHECK(bad.code == ErrorCode::bad_model);
        CHECK(bad.error.find("cannot load bundle/tagger as TorchScript") == 0);
        auto empty = arpipe::Engine::load(c, std::string());
        CHECK(empty.error == "bundle/tagger is empty (0 bytes)");
    }

    TEST_CASE("a model that asks for more memory than the cap fails that input only; no cap lets it through") {
        TempDir dir;
        testing::write_audio(dir.file("loud.wav"), testing::noise(2.0, kRate, 0.5f), kRate);
        testing::write_audio(dir.file("quiet.wav"), testing::silence(2.0, kRate), kRate);
        const std::vector<arpipe::Input> in{arpipe::Input::file(dir.file("loud.wav")), arpipe::Input::file(dir.file("quiet.wav"))};
        arpipe::Config c;
        c.model_path = testing::repo_path("tests/data/models/alloc_1gib_when_loud.pt");
        c.parallel = {2, 0, 1};
        c.max_memory_bytes = std::int64_t{256} << 20;
        {
            auto loaded = arpipe::Engine::load(c);
            REQUIRE_MESSAGE(loaded.engine, loaded.error);
            testing::CollectSink sink;
            const auto stats = loaded.engine->run(in, sink);
            REQUIRE(sink.error_for(0) != nullptr);
            CHECK(sink.error_for(0)->code == ErrorCode::model_output);
            CHECK(sink.error_for(0)->message.find("1.0 GiB") != std::string::npos);
            CHECK(sink.error_for(0)->message.find("over the inference memory cap of 256.0 MiB") != std::string::npos);
            CHECK(sink.error_for(0)->message.find('\n') == std::string::npos);
            CHECK(sink.error_for(1) == nullptr);
            CHECK(stats.files_ok == 1);
        }
        c.max_memory_bytes = 0;  // no cap: the same gigabyte is granted
        auto loaded = arpipe::Engine::load(c);
        REQUIRE_MESSAGE(loaded.engine, loaded.error);
        testing::CollectSink sink;
        const auto stats = loaded.engine->run(in, sink);
        CHECK(stats.files_ok == 2);
        CHECK(sink.errors.empty());
    }

    TEST_CASE("a run with more threads than cores leaves no extra threads behind") {
        auto thread_count = [] {
            std::size_t n = 0;
            for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
            return n;
        };
        auto engine = testing::load_engine("loudness_clip.pt", 1, 1);
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(3.0, kRate, 0.3f), kRate);
        const std::size_t before = thread_count();
        const auto hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        testing::CollectSink sink;
        arpipe::RunOptions opt;
        opt.parallel = arpipe::ParallelConfig{hw + 6, 0, 1};
        const auto stats = engine->run({arpipe::Input::file(dir.file("a.wav"))}, sink, opt);
        CHECK(stats.threads == hw + 6);
        CHECK(stats.files_ok == 1);
        // Before the fix the 6 workers beyond the hardware count stayed asleep in TBB's pool for good.
        CHECK(thread_count() <= before + static_cast<std::size_t>(hw));
    }

    TEST_CASE("a run's own parallel settings are checked like the engine's") {
        auto engine = testing::load_engine("loudness_clip.pt", 1, 1);
        testing::CollectSink sink;
        for (auto bad : {arpipe::ParallelConfig{1, 0, 0}, arpipe::ParallelConfig{-3, 0, 1}, arpipe::ParallelConfig{1, 0, 2048}}) {
            arpipe::RunOptions opt;
            opt.parallel = bad;
            CHECK_THROWS_AS(engine->run({}, sink, opt), std::invalid_argument);
        }
        arpipe::RunOptions opt;
        opt.parallel = arpipe::ParallelConfig{1, 0, 0};
        try {
            (void)engine->run({}, sink, opt);
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()) == "RunOptions: parallel.batch = 0 is not in [1, 1024]");
        }
        CHECK(sink.terminal_order.empty());
    }

    TEST_CASE("a run cancelled inside an input keeps its analysed events, the open one marked as cut") {
        // One loud 20 s input in 1 s chunks: the loud event opens in the first window and stays open. The sink
        // cancels after a few chunks; what was analysed must come out, with the open event closed and cut.
        arpipe::Config c;
        c.model_path = testing::repo_path("tests/data/models/loudness_clip.pt");
        c.parallel = {1, 2, 1};
        c.decode.chunk_seconds = 1.0;
        auto loaded = arpipe::Engine::load(c);
        REQUIRE_MESSAGE(loaded.engine, loaded.error);
        TempDir dir;
        testing::write_audio(dir.file("loud.wav"), testing::noise(20.0, kRate, 0.5f), kRate);
        std::atomic<bool> stop{false};
        struct StopAfterSome : testing::CollectSink {
            std::atomic<bool>* stop = nullptr;
            void on_progress(const arpipe::Progress& p) override {
                if (p.file_segments_done >= 6) stop->store(true);
            }
        } sink;
        sink.stop = &stop;
        arpipe::RunOptions opt;
        opt.cancel = &stop;
        const auto stats = loaded.engine->run({arpipe::Input::file(dir.file("loud.wav"))}, sink, opt);
        CHECK(stats.cancelled);
        REQUIRE(sink.errors.size() == 1);
        CHECK(sink.errors[0].code == ErrorCode::cancelled);
        REQUIRE(sink.events.size() == 1);
        const arpipe::Event& e = sink.events[0];
        CHECK(e.label == "loud");
        CHECK(e.cut);
        CHECK(e.start_seconds == doctest::Approx(0.0));
        CHECK(e.end_seconds > 2.0);
        CHECK(e.end_seconds < 20.0);
        // The analysed audio counts, though the input did not finish.
        CHECK(stats.audio_seconds > 2.0);
        CHECK(stats.audio_seconds < 20.0);
        CHECK(stats.segments > 0);

        // Not cancelled: the same input gives one event that is not cut.
        testing::CollectSink whole;
        const auto full = loaded.engine->run({arpipe::Input::file(dir.file("loud.wav"))}, whole);
        CHECK_FALSE(full.cancelled);
        REQUIRE(whole.events.size() == 1);
        CHECK_FALSE(whole.events[0].cut);
        CHECK(full.audio_seconds == doctest::Approx(20.0));
    }

    TEST_CASE("one engine serves concurrent runs, and two engines do not disturb each other") {
        auto a = testing::load_engine("loudness_clip.pt", 2);
        auto b = testing::load_engine("loudness_frames.pt", 2);
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), quiet_loud_quiet(), kRate);
        const auto ref_a = a->process_file(dir.file("a.wav"));
        const auto ref_b = b->process_file(dir.file("a.wav"));
        std::vector<arpipe::FileResult> got(4);
        std::vector<std::thread> threads;
        for (int i = 0; i < 4; ++i)
            threads.emplace_back([&, i] { got[i] = (i % 2 ? b : a)->process_file(dir.file("a.wav")); });
        for (auto& t : threads) t.join();
        for (int i = 0; i < 4; ++i) {
            const auto& ref = i % 2 ? ref_b : ref_a;
            REQUIRE(got[i].events.size() == ref.events.size());
            for (std::size_t k = 0; k < ref.events.size(); ++k) {
                CHECK(got[i].events[k].start_seconds == ref.events[k].start_seconds);
                CHECK(got[i].events[k].score == ref.events[k].score);
            }
        }
    }

    TEST_CASE("directories are walked recursively in sorted order, audio files only") {
        TempDir dir;
        std::filesystem::create_directories(dir.path() / "b" / "c");
        testing::write_text(dir.file("b/c/z.wav"), "x");
        testing::write_text(dir.file("a.flac"), "x");
        testing::write_text(dir.file("notes.txt"), "x");
        std::filesystem::create_directory_symlink(dir.path(), dir.path() / "b" / "loop");
        const auto in = arpipe::expand_paths({dir.path().string(), dir.file("missing.wav")});
        REQUIRE(in.size() == 3);
        CHECK(in[0].name == dir.file("a.flac"));
        CHECK(in[1].name == dir.file("b/c/z.wav"));
        CHECK(in[2].name == dir.file("missing.wav"));
    }
}
