// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Hostile input: every bad file gets a clear per-file error record while the good files around it still
// produce results, and nothing is lost. When ARPIPE_ROBUSTNESS_TABLE names a file, the cases and what
// they got are written there as the Markdown table of docs/robustness.md (tools/dev robustness-doc).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>

#include "stages/failure.h"
#include "stages/prepared_model.h"
#include "support.h"

using arpipe::ErrorCode;
using testing::TempDir;

namespace {

constexpr int kRate = 16000;

/// A canonical 44-byte WAV header for 16-bit PCM, with every field open to tampering.
std::string wav_header(std::uint32_t rate, std::uint16_t channels, std::uint32_t data_bytes, std::uint16_t format_tag = 1,
                       std::uint16_t bits = 16) {
    std::string h;
    auto u32 = [&](std::uint32_t v) { h.append(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { h.append(reinterpret_cast<const char*>(&v), 2); };
    h += "RIFF";
    u32(36 + data_bytes);
    h += "WAVEfmt ";
    u32(16);
    u16(format_tag);
    u16(channels);
    u32(rate);
    u32(rate * channels * bits / 8);
    u16(static_cast<std::uint16_t>(channels * bits / 8));
    u16(bits);
    h += "data";
    u32(data_bytes);
    return h;
}

std::string pcm16(const std::vector<float>& x) {
    std::string s(x.size() * 2, '\0');
    for (std::size_t i = 0; i < x.size(); ++i) {
        const auto v = static_cast<std::int16_t>(x[i] * 32767.0f);
        std::memcpy(&s[i * 2], &v, 2);
    }
    return s;
}

/// Writes `bytes` as `leaf` under `depth` nested directories `name` below `root` (made relative to directory
/// descriptors, since the full path may pass PATH_MAX) and returns the file's full path.
std::string write_deep(const std::string& root, const std::string& name, int depth, const std::string& leaf,
                       const std::string& bytes) {
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    std::string path = root;
    for (int i = 0; i < depth && fd >= 0; ++i) {
        ::mkdirat(fd, name.c_str(), 0755);
        const int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ::close(fd);
        fd = next;
        path += "/" + name;
    }
    if (fd < 0) throw std::runtime_error("cannot make a deep directory under " + root);
    const int f = ::openat(fd, leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::close(fd);
    if (f < 0 || ::write(f, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("cannot write a deep file under " + root);
    ::close(f);
    return path + "/" + leaf;
}

struct Case {
    std::string title;     ///< what the input is
    std::string expected;  ///< an error code, or "ok"
    std::function<std::string(const TempDir&)> make;  ///< writes the input, returns its path
};

std::vector<Case> cases() {
    const std::string one_second = pcm16(testing::noise(1.0, kRate, 0.3f));
    return {
        {"non-existent path", "not_found", [](const TempDir& d) { return d.file("does-not-exist.wav"); }},
        {"a directory given as a file", "not_a_file",
         [](const TempDir& d) {
             std::filesystem::create_directory(d.file("dir.wav"));
             return d.file("dir.wav");
         }},
        {"empty file (0 bytes)", "empty_file",
         [](const TempDir& d) {
             testing::write_text(d.file("empty.wav"), "");
             return d.file("empty.wav");
         }},
        {"WAV header only, no frames", "empty_file",
         [](const TempDir& d) {
             testing::write_text(d.file("header.wav"), wav_header(kRate, 1, 0));
             return d.file("header.wav");
         }},
        {"truncated header (20 bytes)", "bad_header|unsupported_format",
         [](const TempDir& d) {
             testing::write_text(d.file("cut.wav"), wav_header(kRate, 1, 32000).substr(0, 20));
             return d.file("cut.wav");
         }},
        {"truncated data (header says 2 s, 1 s present)", "ok",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("short.wav"), wav_header(kRate, 1, 64000) + one_second);
             return d.file("short.wav");
         }},
        {"header claiming 4 GB of data, 1 s present", "ok",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("huge.wav"), wav_header(kRate, 1, 0xFFFFFFF0u) + one_second);
             return d.file("huge.wav");
         }},
        {"unsupported codec (WAV format tag 0x1234)", "unsupported_format|bad_header",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("codec.wav"), wav_header(kRate, 1, 32000, 0x1234) + one_second);
             return d.file("codec.wav");
         }},
        {"text file renamed .wav", "unsupported_format",
         [](const TempDir& d) {
             testing::write_text(d.file("notes.wav"), "Dear diary, today I renamed a text file.\n");
             return d.file("notes.wav");
         }},
        {"sample rate 0 Hz", "bad_sample_rate|bad_header",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("rate0.wav"), wav_header(0, 1, 32000) + one_second);
             return d.file("rate0.wav");
         }},
        {"sample rate 1 Hz", "bad_sample_rate",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("rate1.wav"), wav_header(1, 1, 32000) + one_second);
             return d.file("rate1.wav");
         }},
        {"sample rate 10 MHz", "bad_sample_rate",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("rate10M.wav"), wav_header(10'000'000, 1, 32000) + one_second);
             return d.file("rate10M.wav");
         }},
        {"too many channels (100)", "too_many_channels|bad_header",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("ch100.wav"), wav_header(kRate, 100, 32000) + one_second);
             return d.file("ch100.wav");
         }},
        {"NaN in float data", "bad_samples",
         [](const TempDir& d) {
             auto x = testing::noise(1.0, kRate, 0.3f);
             x[5000] = std::numeric_limits<float>::quiet_NaN();
             testing::write_audio(d.file("nan.wav"), x, kRate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
             return d.file("nan.wav");
         }},
        {"Inf in float data", "bad_samples",
         [](const TempDir& d) {
             auto x = testing::noise(1.0, kRate, 0.3f);
             x[100] = std::numeric_limits<float>::infinity();
             testing::write_audio(d.file("inf.wav"), x, kRate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
             return d.file("inf.wav");
         }},
        {"shorter than one segment (0.2 s): padded and tagged", "ok",
         [](const TempDir& d) {
             testing::write_audio(d.file("tiny.wav"), testing::noise(0.2, kRate, 0.3f), kRate);
             return d.file("tiny.wav");
         }},
        {"all silence", "ok",
         [](const TempDir& d) {
             testing::write_audio(d.file("silence.wav"), testing::silence(3.0, kRate), kRate);
             return d.file("silence.wav");
         }},
        {"headerless PCM (.raw) without --raw-format", "unsupported_format",
         [one_second](const TempDir& d) {
             testing::write_text(d.file("speech.raw"), one_second);
             return d.file("speech.raw");
         }},
        {"non-UTF-8 file name", "ok",
         [](const TempDir& d) {
             const std::string name = d.file("caf\xe9-\xff.wav");
             testing::write_audio(name, testing::noise(1.0, kRate, 0.3f), kRate);
             return name;
         }},
        {"very long file name (240 bytes)", "ok",
         [](const TempDir& d) {
             const std::string name = d.file(std::string(236, 'a') + ".wav");
             testing::write_audio(name, testing::noise(1.0, kRate, 0.3f), kRate);
             return name;
         }},
        {"broken symbolic link", "not_found",
         [](const TempDir& d) {
             std::filesystem::create_symlink(d.file("nowhere.wav"), d.file("dangling.wav"));
             return d.file("dangling.wav");
         }},
        {"symbolic link loop", "not_found",
         [](const TempDir& d) {
             std::filesystem::create_symlink(d.file("loop-b.wav"), d.file("loop-a.wav"));
             std::filesystem::create_symlink(d.file("loop-a.wav"), d.file("loop-b.wav"));
             return d.file("loop-a.wav");
         }},
        {"path longer than PATH_MAX (about 5000 bytes; the file exists)", "path_too_long",
         [](const TempDir& d) {
             testing::write_audio(d.file("deep-template.wav"), testing::noise(1.0, kRate, 0.3f), kRate);
             const std::string bytes = testing::read_text(d.file("deep-template.wav"));
             std::filesystem::remove(d.file("deep-template.wav"));
             return write_deep(d.path().string(), "deep-" + std::string(195, 'd'), 25, "deep.wav", bytes);
         }},
        {"sample value 1e30 in float data", "samples_out_of_range",
         [](const TempDir& d) {
             auto x = testing::noise(1.0, kRate, 0.3f);
             x[3000] = 1e30f;
             testing::write_audio(d.file("huge-value.wav"), x, kRate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
             return d.file("huge-value.wav");
         }},
    };
}

bool matches(const std::string& expected, const std::string& got) {
    std::size_t start = 0;
    while (start <= expected.size()) {
        const std::size_t bar = expected.find('|', start);
        if (expected.substr(start, bar == std::string::npos ? std::string::npos : bar - start) == got) return true;
        if (bar == std::string::npos) break;
        start = bar + 1;
    }
    return false;
}

std::string escape_md(std::string s) {
    for (std::size_t p = s.find('|'); p != std::string::npos; p = s.find('|', p + 2)) s.replace(p, 1, "\\|");
    return s;
}

/// A good file: 2 s of noise, which the fixture model tags.
std::string write_good(const TempDir& dir, const std::string& name) {
    testing::write_audio(dir.file(name), testing::noise(2.0, kRate, 0.3f), kRate);
    return dir.file(name);
}

/// Runs the fixture clip model over `in` and checks that nothing is lost: one terminal record per input, in
/// input order, each input counted once as ok or failed.
arpipe::RunStats run_accounted(const std::vector<arpipe::Input>& in, testing::CollectSink& sink) {
    auto engine = testing::load_engine("loudness_clip.pt", 2, 2);
    const auto stats = engine->run(in, sink);
    std::vector<std::size_t> order(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) order[i] = i;
    REQUIRE(sink.terminal_order == order);
    CHECK(stats.files_ok + stats.files_failed == in.size());
    return stats;
}

}  // namespace

TEST_SUITE("hostile input") {
    TEST_CASE("every hostile file gets its record, between good files that still produce results") {
        TempDir dir;
        const auto all = cases();
        std::vector<arpipe::Input> in;
        in.push_back(arpipe::Input::file(write_good(dir, "good-first.wav")));
        for (const auto& c : all) in.push_back(arpipe::Input::file(c.make(dir)));
        in.push_back(arpipe::Input::file(write_good(dir, "good-last.wav")));

        testing::CollectSink sink;
        run_accounted(in, sink);  // nothing lost
        CHECK_FALSE(sink.events_for(0).empty());
        CHECK_FALSE(sink.events_for(in.size() - 1).empty());

        std::string table = "| input | expected | got | message |\n|---|---|---|---|\n";
        for (std::size_t i = 0; i < all.size(); ++i) {
            const std::size_t idx = i + 1;
            const arpipe::FileError* err = sink.error_for(idx);
            const std::string got = err ? std::string(arpipe::to_string(err->code)) : "ok";
            std::string message = err ? err->message : "";
            if (!err) {
                for (const auto& s : sink.summaries)
                    if (s.file_index == idx)
                        message = "summary: " + std::to_string(s.segments) + " segment(s), " + std::to_string(s.events) + " event(s)";
            }
            CAPTURE(all[i].title);
            CAPTURE(message);
            CHECK(matches(all[i].expected, got));
            if (err) CHECK_FALSE(err->message.empty());
            table += "| " + all[i].title + " | " + escape_md(all[i].expected) + " | " + got + " | " + escape_md(message) + " |\n";
        }
        if (const char* out = std::getenv("ARPIPE_ROBUSTNESS_TABLE")) std::ofstream(out) << table;
    }

    TEST_CASE("a directory mixing good and hostile files: every audio file in it ends in one record") {
        TempDir dir;
        const auto all = cases();
        write_good(dir, "good-first.wav");
        for (const auto& c : all) c.make(dir);
        write_good(dir, "zz-good-last.wav");

        const auto in = arpipe::expand_paths({dir.path().string()});
        REQUIRE(in.size() >= 12);  // the two good files and most hostile ones (some are not audio files)
        testing::CollectSink sink;
        const auto stats = run_accounted(in, sink);
        CHECK(stats.files_failed > 5);
        for (std::size_t i = 0; i < in.size(); ++i) {
            const std::string name = std::filesystem::path(in[i].name).filename().string();
            if (name == "good-first.wav" || name == "zz-good-last.wav") {
                CAPTURE(name);
                CHECK(sink.error_for(i) == nullptr);
                CHECK_FALSE(sink.events_for(i).empty());
            }
        }
    }

    TEST_CASE("docs/robustness.md lists every hostile case") {
        const std::string doc = testing::read_text(testing::repo_path("docs/robustness.md"));
        for (const auto& c : cases()) CHECK_MESSAGE(doc.find("| " + c.title + " |") != std::string::npos, c.title);
    }

    TEST_CASE("a header claiming gigabytes is read in bounded chunks, not allocated") {
        // Regression: a reader that trusts the header's data size would allocate 4 GB here.
        TempDir dir;
        const std::string path = dir.file("huge.wav");
        testing::write_text(path, wav_header(kRate, 1, 0xFFFFFFF0u) + pcm16(testing::noise(0.5, kRate, 0.3f)));
        auto engine = testing::load_engine("loudness_clip.pt", 1, 1);
        const auto r = engine->process_file(path);
        REQUIRE(r.summary);
        CHECK(r.summary->duration_seconds == doctest::Approx(0.5));
    }

    // Hostile models. The fixtures (tools/make_fixtures.py) pass the warm-up on silence and break the model
    // contract on loud input only, or break it on silence already, at load.

    TEST_CASE("a model breaking its contract on some input fails that file only, with one line of model_output") {
        // Regressions: a score of 7 with activation none was written as a score; an output of [C, B] for
        // [B, C] (as many values) was accepted and its scores scrambled; an exception inside forward() was
        // coded internal with the whole TorchScript traceback in the message.
        struct Model {
            const char* file;
            int batch;
            const char* says;
        } models[] = {
            {"score_7_when_loud.pt", 2, "model score 7 at step 0, label 0 is outside [0, 1] (activation none)"},
            {"transpose_when_loud.pt", 4, "model output shape [3, 4] does not match [4, 3] (clip output: batch, labels)"},
            {"raise_when_loud.pt", 2, "the model raised: ValueError: fixture refuses loud input"},
            {"op_error_when_loud.pt", 2, "the model raised: RuntimeError: mat1 and mat2 shapes cannot be multiplied"},
        };
        TempDir dir;
        testing::write_audio(dir.file("quiet.wav"), testing::silence(3.0, kRate), kRate);
        testing::write_audio(dir.file("loud.wav"), testing::noise(3.0, kRate, 0.5f), kRate);
        testing::write_audio(dir.file("quiet-after.wav"), testing::silence(3.0, kRate), kRate);
        const std::vector<arpipe::Input> in{arpipe::Input::file(dir.file("quiet.wav")), arpipe::Input::file(dir.file("loud.wav")),
                                            arpipe::Input::file(dir.file("quiet-after.wav"))};
        for (const auto& m : models) {
            CAPTURE(m.file);
            auto engine = testing::load_engine(m.file, 2, m.batch);
            testing::CollectSink sink;
            const auto stats = engine->run(in, sink);
            CHECK(sink.terminal_order == std::vector<std::size_t>{0, 1, 2});
            CHECK(stats.files_ok == 2);
            CHECK(sink.error_for(0) == nullptr);
            CHECK(sink.error_for(2) == nullptr);
            const arpipe::FileError* err = sink.error_for(1);
            REQUIRE(err != nullptr);
            CAPTURE(err->message);
            CHECK(err->code == ErrorCode::model_output);
            CHECK(err->message.find(m.says) != std::string::npos);
            CHECK(err->message.find('\n') == std::string::npos);
        }
    }

    TEST_CASE("a model failing on the silent warm-up or too big to run is a one-line bad_model error at load") {
        // Regressions: a raise printed the whole traceback (~15 lines); a score of 7 on silence loaded; a
        // description within every range but needing 88 GiB for a batch failed with a bare std::bad_alloc.
        struct Model {
            const char* file;
            const char* says;
        } models[] = {
            {"raise_always.pt",
             "raise_always.pt: on a silent batch of shape [4, 64, 101], the model raised: ValueError: fixture refuses loud input"},
            {"score_7_always.pt",
             "score_7_always.pt: on a silent batch of shape [4, 64, 101], model score 7 at step 0, label 0 is outside [0, 1]"},
            {"too_big.pt", "too_big.pt: too large to run: one window has input.n_mels 512 x 11520001 frames of features"},
        };
        for (const auto& m : models) {
            CAPTURE(m.file);
            arpipe::Config c;
            c.model_path = testing::repo_path(std::string("tests/data/models/") + m.file);
            c.parallel.batch = 4;
            const auto r = arpipe::Engine::load(c);
            CAPTURE(r.error);
            CHECK(r.engine == nullptr);
            CHECK(r.code == ErrorCode::bad_model);
            CHECK(r.error.find(m.says) != std::string::npos);
            CHECK(r.error.find('\n') == std::string::npos);
        }
    }

    TEST_CASE("the whole report of an exception inside the model goes to the model's debug log") {
        std::vector<std::string> logged;
        const arpipe::ModelDebugLog log = [&logged](const std::string& text) { logged.push_back(text); };
        const auto fixture = [](const char* name) { return testing::repo_path(std::string("tests/data/models/") + name); };
        try {
            (void)arpipe::PreparedModel::load(fixture("raise_always.pt"), 2, log);
            FAIL("raise_always.pt loaded");
        } catch (const arpipe::Failure& f) {
            CHECK(f.code() == ErrorCode::bad_model);
            CHECK(std::string(f.what()).find('\n') == std::string::npos);
        }
        REQUIRE(logged.size() == 1);
        CHECK(logged[0].find("Traceback of TorchScript") != std::string::npos);
        CHECK(logged[0].find("fixture refuses loud input") != std::string::npos);

        logged.clear();
        const arpipe::PreparedModel p = arpipe::PreparedModel::load(fixture("raise_when_loud.pt"), 2, log);
        CHECK(logged.empty());
        const std::vector<float> loud(2 * p.item_size, 0.0f);  // log-mel features of 0: far above silence
        std::vector<float> out;
        try {
            p.model->forward(loud.data(), 2, out);
            FAIL("no error on loud input");
        } catch (const arpipe::Failure& f) {
            CHECK(f.code() == ErrorCode::model_output);
            CHECK(std::string(f.what()) == "the model raised: ValueError: fixture refuses loud input");
        }
        REQUIRE(logged.size() == 1);
        CHECK(logged[0].starts_with("the model raised:\n"));
        CHECK(logged[0].find("Traceback of TorchScript") != std::string::npos);
    }

    TEST_CASE("a 1-sample file gets its summary and no zero-length event") {
        // Regression: the clip fixture wrote an event with "start": 0.0 and "end": 0.0 for it.
        TempDir dir;
        testing::write_audio(dir.file("one.wav"), {0.5f}, kRate);
        for (const char* model : {"loudness_clip.pt", "loudness_frames.pt"}) {
            CAPTURE(model);
            auto engine = testing::load_engine(model, 1, 1);
            const auto r = engine->process_file(dir.file("one.wav"));
            REQUIRE(r.summary);
            CHECK(r.summary->segments == 1);
            for (const auto& e : r.events) CHECK(std::round(e.end_seconds * 1e3) > std::round(e.start_seconds * 1e3));
            CHECK(r.events.empty());
        }
    }
}
