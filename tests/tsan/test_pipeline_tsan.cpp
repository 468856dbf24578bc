// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Runs the real pipeline (run.cpp, the stages, the writers) with many threads and few tokens under
// ThreadSanitizer, with the LibTorch-free model of fake_infer.cpp.
#include <doctest/doctest.h>

#include <sstream>
#include <thread>

#include "support.h"

namespace {

std::string description_file(const testing::TempDir& dir) {
    const std::string path = dir.file("model.json");
    testing::write_text(path, R"({"format": "arpipe-model/1", "name": "fake", "sample_rate_hz": 16000,
      "input": {"kind": "log_mel", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64,
                "f_min_hz": 0, "f_max_hz": 8000, "mel_scale": "htk", "mel_norm": "none", "power": 2, "log_offset": 1e-6},
      "segment": {"seconds": 1.0, "hop_seconds": 0.5},
      "output": {"kind": "clip", "activation": "softmax"}, "labels": ["quiet", "loud"]})");
    return path;
}

std::vector<arpipe::Input> inputs(const testing::TempDir& dir) {
    std::vector<arpipe::Input> in;
    for (int i = 0; i < 6; ++i) {
        const auto x = testing::concat({testing::silence(0.7 * i, 16000), testing::noise(2.0, 16000, 0.3f, i + 1)});
        if (i % 2) {
            in.push_back(arpipe::Input::pcm("mem" + std::to_string(i), x, 16000, 1));
        } else {
            testing::write_audio(dir.file(std::to_string(i) + ".wav"), x, 16000);
            in.push_back(arpipe::Input::file(dir.file(std::to_string(i) + ".wav")));
        }
    }
    // Long enough for several 1 s chunks, decoded by different workers at once (with resampling).
    const auto long_mono = testing::concat({testing::noise(3.3, 44100, 0.3f, 21), testing::silence(1.1, 44100),
                                            testing::noise(2.4, 44100, 0.2f, 22)});
    std::vector<float> stereo;
    for (float v : long_mono) stereo.insert(stereo.end(), {v, 0.5f * v});
    testing::write_audio(dir.file("long.flac"), stereo, 44100, 2, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    in.push_back(arpipe::Input::file(dir.file("long.flac")));
    in.push_back(arpipe::Input::pcm("long-mem", long_mono, 44100, 1));
    in.push_back(arpipe::Input::file(dir.file("missing.wav")));
    return in;
}

}  // namespace

TEST_SUITE("tsan") {
    TEST_CASE("the pipeline is race-free with 4 threads and 2 tokens, and deterministic") {
        testing::TempDir dir;
        arpipe::Config c;
        c.model_path = description_file(dir);
        c.parallel = {4, 2, 1};
        c.decode.chunk_seconds = 1.0;
        auto loaded = arpipe::Engine::load(c);
        REQUIRE_MESSAGE(loaded.engine, loaded.error);
        const auto in = inputs(dir);
        std::string first;
        for (int rep = 0; rep < 3; ++rep) {
            std::ostringstream os;
            auto w = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
            arpipe::RunDiagnostics diag;
            arpipe::RunOptions options;
            options.diagnostics = &diag;
            const auto stats = loaded.engine->run(in, *w, options);
            CHECK(stats.max_live_tokens <= 2);
            CHECK(diag.max_serial_concurrency == 1);
            CHECK(static_cast<std::int64_t>(diag.token_seconds_infer.size()) <= stats.tokens);
            CHECK(stats.files_failed == 1);
            if (rep == 0) first = os.str();
            CHECK(os.str() == first);
        }
        CHECK(first.find("\"label\":\"loud\"") != std::string::npos);
    }

    TEST_CASE("concurrent runs on one engine, one cancelled") {
        testing::TempDir dir;
        arpipe::Config c;
        c.model_path = description_file(dir);
        c.parallel = {2, 3, 2};
        auto loaded = arpipe::Engine::load(c);
        REQUIRE(loaded.engine);
        const auto in = inputs(dir);
        std::atomic<bool> stop{false};
        testing::CollectSink a, b;
        std::thread t1([&] { (void)loaded.engine->run(in, a); });
        std::thread t2([&] {
            arpipe::RunOptions opt;
            opt.cancel = &stop;
            (void)loaded.engine->run(in, b, opt);
        });
        stop = true;
        t1.join();
        t2.join();
        CHECK(a.terminal_order.size() == in.size());
        CHECK(b.terminal_order.size() == in.size());
    }
}
