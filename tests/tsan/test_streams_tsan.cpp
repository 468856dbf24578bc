// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Streams (arpipe/stream.h) on one shared engine, each used by its own thread, under ThreadSanitizer with the
// LibTorch-free model of fake_infer.cpp: four threads push their own stream in random piece sizes, a fifth
// analyses its own group of streams with Engine::analyse_streams, and the main thread runs the same audio
// offline through Engine::run (the TBB pipeline) at the same time, for the records each stream must give.
#include <doctest/doctest.h>

#include <random>
#include <sstream>
#include <thread>

#include "random_sizes.h"
#include "tsan/fake_model.h"

namespace {

/// Interleaved samples and their layout.
struct Audio {
    std::vector<float> samples;
    int rate = 0, channels = 0;
};

/// Noise bursts between silences, so that "loud" events open and close several times.
Audio bursts(int rate, int channels, double seconds, std::uint32_t seed) {
    std::vector<float> mono;
    for (double t = 0; t < seconds; t += 2.5) {
        const auto loud = testing::noise(1.0 + 0.1 * (seed % 5), rate, 0.3f, seed);
        ++seed;
        const auto quiet = testing::silence(1.5, rate);
        mono.insert(mono.end(), loud.begin(), loud.end());
        mono.insert(mono.end(), quiet.begin(), quiet.end());
    }
    Audio a{{}, rate, channels};
    for (float v : mono)
        for (int c = 0; c < channels; ++c) a.samples.push_back(c == 0 ? v : 0.5f * v);
    return a;
}

/// The JSON Lines (which carry no file index) of an offline run of `a` alone.
std::string offline_jsonl(const arpipe::Engine& engine, const Audio& a, const std::string& name) {
    std::ostringstream os;
    auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
    [[maybe_unused]] const auto stats = engine.run({arpipe::Input::pcm(name, a.samples, a.rate, a.channels)}, *writer);
    return os.str();
}


std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_SUITE("tsan") {
    TEST_CASE("streams of one engine used from five threads at once, beside an offline run, are race-free") {
        testing::TempDir dir;
        // batch 3: analyse_streams puts windows of several streams in one model call
        const auto shared = testing::fake_engine(dir, {2, 3, 3});
        const arpipe::Engine& engine = *shared;

        // Streams 0-3 are pushed (and analysed on push) by threads of their own; 4-6 by one thread that
        // analyses them together. Rates and channels other than the model's go through the resampler.
        const std::vector<Audio> audio{bursts(16000, 1, 9.0, 1),  bursts(44100, 2, 7.0, 2), bursts(8000, 1, 8.0, 3),
                                       bursts(48000, 2, 6.0, 4),  bursts(16000, 1, 7.0, 5), bursts(22050, 1, 6.0, 6),
                                       bursts(16000, 2, 5.0, 7)};
        const auto name = [](std::size_t i) { return "stream" + std::to_string(i); };
        std::vector<std::ostringstream> out(audio.size());
        std::vector<std::size_t> refused(audio.size(), 0);

        // Pushes audio[i] into `stream` in random pieces; false when it has run out.
        const auto push_some = [&](std::size_t i, arpipe::Stream& stream, std::size_t& at, testing::RandomSizes& sizes) {
            if (at == audio[i].samples.size()) return false;
            const std::size_t n = std::min(sizes(), audio[i].samples.size() - at);
            if (!stream.push(audio[i].samples.data() + at, n)) ++refused[i];
            at += n;
            return true;
        };

        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < 4; ++i) {
            threads.emplace_back([&, i] {
                auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, out[i]);
                arpipe::StreamOptions opt;
                opt.name = name(i);
                opt.index = i;
                auto stream = engine.open_stream(audio[i].rate, audio[i].channels, *writer, opt);
                testing::RandomSizes sizes{std::mt19937(static_cast<std::uint32_t>(i + 1))};
                std::size_t at = 0;
                while (push_some(i, *stream, at, sizes)) {}
                stream->finish();
            });
        }
        threads.emplace_back([&] {
            std::vector<std::unique_ptr<arpipe::Sink>> writers;
            std::vector<std::unique_ptr<arpipe::Stream>> streams;
            std::vector<arpipe::Stream*> group;
            std::vector<testing::RandomSizes> sizes;
            std::vector<std::size_t> at(audio.size(), 0);
            for (std::size_t i = 4; i < audio.size(); ++i) {
                writers.push_back(arpipe::make_writer(arpipe::OutputFormat::jsonl, out[i]));
                arpipe::StreamOptions opt;
                opt.name = name(i);
                opt.index = i;
                opt.analyse_on_push = false;
                opt.max_pending_windows = 8;
                streams.push_back(engine.open_stream(audio[i].rate, audio[i].channels, *writers.back(), opt));
                group.push_back(streams.back().get());
                sizes.push_back(testing::RandomSizes{std::mt19937(static_cast<std::uint32_t>(i + 1)), 96000});
            }
            for (bool more = true; more;) {
                more = false;
                for (std::size_t k = 0; k < streams.size(); ++k)
                    more |= push_some(k + 4, *streams[k], at[k + 4], sizes[k]);
                engine.analyse_streams(group);
            }
            for (auto& s : streams) s->finish();
        });

        // Meanwhile, the same audio through the TBB pipeline on this thread.
        std::vector<std::string> offline;
        for (std::size_t i = 0; i < audio.size(); ++i) offline.push_back(offline_jsonl(engine, audio[i], name(i)));
        for (auto& t : threads) t.join();

        for (std::size_t i = 0; i < audio.size(); ++i) {
            CAPTURE(i);
            const std::string streamed = out[i].str();
            CHECK(refused[i] == 0);
            CHECK(count(streamed, "\"type\":\"summary\"") == 1);
            CHECK(count(streamed, "\"type\":\"error\"") == 0);
            CHECK(count(streamed, "\"type\":\"event\"") >= 2);
            CHECK(streamed == offline[i]);
        }
    }
}
