// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Streams (arpipe/stream.h): audio pushed in pieces of any size gives the records an offline run of the
// whole audio gives, byte for byte; events come out before the audio ends, within the documented latency;
// many streams can share model calls; bad audio ends one stream with an error record.
#include <doctest/doctest.h>

#include <random>
#include <sstream>

#include "random_sizes.h"
#include "support.h"

namespace {

constexpr int kRate = 16000;

/// Interleaved samples and their layout, read whole with libsndfile.
struct Audio {
    std::vector<float> samples;
    int rate = 0, channels = 0;
};

Audio read_audio(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (f == nullptr) throw std::runtime_error("cannot read " + path);
    Audio a;
    a.rate = info.samplerate;
    a.channels = info.channels;
    a.samples.resize(static_cast<std::size_t>(info.frames * info.channels));
    a.samples.resize(static_cast<std::size_t>(sf_readf_float(f, a.samples.data(), info.frames) * info.channels));
    sf_close(f);
    return a;
}

/// Noise bursts between silences: events that open and close several times.
Audio bursts(int rate, int channels, double seconds, std::uint32_t seed) {
    std::vector<float> mono;
    for (double t = 0; t < seconds; t += 3.0) {
        const double loud_seconds = 1.2 + 0.1 * (seed % 5);
        const auto loud = testing::noise(loud_seconds, rate, 0.4f, seed++);
        const auto quiet = testing::noise(1.8, rate, 0.003f, seed++);
        mono.insert(mono.end(), loud.begin(), loud.end());
        mono.insert(mono.end(), quiet.begin(), quiet.end());
    }
    Audio a{{}, rate, channels};
    for (std::size_t i = 0; i < mono.size(); ++i)
        for (int c = 0; c < channels; ++c) a.samples.push_back(mono[i] * (c == 0 ? 1.0f : 0.5f));
    return a;
}

std::string offline_jsonl(const arpipe::Engine& engine, const Audio& a, const std::string& name, bool scores) {
    std::ostringstream os;
    auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, os, engine.model().labels);
    arpipe::RunOptions opt;
    opt.scores = scores;
    [[maybe_unused]] const auto stats = engine.run({arpipe::Input::pcm(name, a.samples, a.rate, a.channels)}, *writer, opt);
    return os.str();
}

/// Pushes `a` in pieces whose sizes `next_size` chooses, and returns the stream's JSON Lines.
template <typename NextSize>
std::string streamed_jsonl(const arpipe::Engine& engine, const Audio& a, const std::string& name, bool scores,
                           NextSize&& next_size) {
    std::ostringstream os;
    auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, os, engine.model().labels);
    arpipe::StreamOptions opt;
    opt.name = name;
    opt.scores = scores;
    auto stream = engine.open_stream(a.rate, a.channels, *writer, opt);
    std::size_t refused = 0;
    for (std::size_t at = 0; at < a.samples.size();) {
        const std::size_t n = std::min(next_size(), a.samples.size() - at);
        if (!stream->push(a.samples.data() + at, n)) ++refused;
        at += n;
    }
    CHECK(refused == 0);
    stream->finish();
    CHECK(stream->ended());
    CHECK_FALSE(stream->push(a.samples.data(), 1));
    return os.str();
}


}  // namespace

TEST_SUITE("streams") {
    TEST_CASE("any chunking of a stream gives the offline run's JSON Lines, byte for byte") {
        const std::vector<std::pair<std::string, Audio>> audio{
            {"bursts 16 kHz mono", bursts(kRate, 1, 20.0, 3)},
            {"bursts 44.1 kHz stereo", bursts(44100, 2, 14.0, 9)},
            {"alarm 48 kHz stereo", read_audio(testing::repo_path("data/samples/alert_alarm_clock.ogg"))},
            {"speech 8 kHz", read_audio(testing::repo_path("data/samples/music_then_speech_8k.wav"))},
        };
        for (const std::string model : {"loudness_clip.pt", "loudness_frames.pt", "data/models/tagger.pt"}) {
            auto engine = testing::load_engine(model, 1, 3);
            for (const auto& [name, a] : audio) {
                CAPTURE(model);
                CAPTURE(name);
                for (bool scores : {false, true}) {
                    CAPTURE(scores);
                    const std::string offline = offline_jsonl(*engine, a, name, scores);
                    REQUIRE(offline.find("\"type\":\"summary\"") != std::string::npos);
                    for (std::uint32_t seed : {1u, 2u}) {
                        CAPTURE(seed);
                        CHECK(streamed_jsonl(*engine, a, name, scores, testing::RandomSizes{std::mt19937(seed), 3 * 48000}) == offline);
                    }
                    // The whole audio in one push, and a second of it at a time.
                    CHECK(streamed_jsonl(*engine, a, name, scores, [] { return std::size_t{1} << 40; }) == offline);
                    CHECK(streamed_jsonl(*engine, a, name, scores, [&] { return std::size_t(a.rate * a.channels); }) ==
                          offline);
                }
            }
        }
    }

    TEST_CASE("one sample at a time gives the offline run's records too") {
        auto engine = testing::load_engine("loudness_frames.pt", 1, 2);
        const Audio a = bursts(22050, 2, 7.0, 4);
        const std::string offline = offline_jsonl(*engine, a, "one", true);
        CHECK(offline.find("\"type\":\"event\"") != std::string::npos);
        CHECK(streamed_jsonl(*engine, a, "one", true, [] { return std::size_t{1}; }) == offline);
    }

    TEST_CASE("events come out before the audio ends, within the documented latency") {
        // Latency bound (docs/api.md, "Streaming"): an event is sent once the audio one window-half plus half a
        // hop (clip models) or one hop plus one frame (frame models) past its end has been pushed, plus
        // min_gap_seconds, plus the resampler's delay when the stream is resampled.
        for (const std::string model : {"loudness_clip.pt", "loudness_frames.pt"}) {
            for (int rate : {kRate, 48000}) {
                CAPTURE(model);
                CAPTURE(rate);
                auto engine = testing::load_engine(model, 1, 1);
                const arpipe::ModelInfo& info = engine->model();
                const double bound = info.output_kind == arpipe::OutputKind::clip
                                         ? (info.segment_seconds + info.hop_seconds) / 2
                                         : info.hop_seconds + info.frame_hop_seconds;
                const double resampler = rate == kRate ? 0.0 : 0.05;
                const Audio a = bursts(rate, 1, 30.0, 5);
                struct Timed : arpipe::Sink {
                    const arpipe::Stream* stream = nullptr;
                    int rate = 0;
                    std::vector<std::pair<arpipe::Event, double>> events;  // with the audio pushed at that moment
                    void on_event(const arpipe::Event& e) override {
                        events.emplace_back(e, static_cast<double>(stream->frames_pushed()) / rate);
                    }
                    void on_summary(const arpipe::FileSummary&) override {}
                    void on_error(const arpipe::FileError& e) override { FAIL(e.message); }
                } sink;
                sink.rate = rate;
                auto stream = engine->open_stream(rate, 1, sink);
                sink.stream = stream.get();
                const std::size_t block = static_cast<std::size_t>(rate / 50);  // 20 ms
                for (std::size_t at = 0; at < a.samples.size(); at += block)
                    stream->push(a.samples.data() + at, std::min(block, a.samples.size() - at));
                const std::size_t before_finish = sink.events.size();
                stream->finish();
                REQUIRE(before_finish >= 5);
                double worst = 0;
                for (std::size_t i = 0; i < before_finish; ++i) {
                    const auto& [ev, pushed] = sink.events[i];
                    worst = std::max(worst, pushed - ev.end_seconds);
                }
                MESSAGE(model << " at " << rate << " Hz: worst latency " << worst << " s (bound " << bound + resampler
                              << " s + one 20 ms block)");
                CHECK(worst <= bound + resampler + 0.02 + 1e-9);
                CHECK(worst > 0);
            }
        }
    }

    TEST_CASE("streams analysed together in shared model calls each give their offline records") {
        auto engine = testing::load_engine("loudness_clip.pt", 1, 4);
        std::vector<Audio> audio{bursts(kRate, 1, 12.0, 1), bursts(44100, 2, 9.0, 2), bursts(8000, 1, 15.0, 3)};
        std::vector<std::ostringstream> out(audio.size());
        std::vector<std::unique_ptr<arpipe::Sink>> writers;
        std::vector<std::unique_ptr<arpipe::Stream>> streams;
        std::vector<arpipe::Stream*> group;
        for (std::size_t i = 0; i < audio.size(); ++i) {
            writers.push_back(arpipe::make_writer(arpipe::OutputFormat::jsonl, out[i]));
            arpipe::StreamOptions opt;
            opt.name = "s" + std::to_string(i);
            opt.analyse_on_push = false;
            opt.max_pending_windows = 8;
            streams.push_back(engine->open_stream(audio[i].rate, audio[i].channels, *writers[i], opt));
            group.push_back(streams.back().get());
        }
        // Interleaved pushes of 100 ms, one analyse_streams call per round.
        std::vector<std::size_t> at(audio.size(), 0);
        for (bool more = true; more;) {
            more = false;
            for (std::size_t i = 0; i < audio.size(); ++i) {
                const std::size_t n = std::min<std::size_t>(audio[i].rate * audio[i].channels / 10, audio[i].samples.size() - at[i]);
                if (n == 0) continue;
                streams[i]->push(audio[i].samples.data() + at[i], n);
                at[i] += n;
                more = true;
                CHECK(streams[i]->pending_windows() < 8);
            }
            engine->analyse_streams(group);
            for (auto* s : group) CHECK(s->pending_windows() == 0);
        }
        for (auto& s : streams) s->finish();
        for (std::size_t i = 0; i < audio.size(); ++i) {
            CAPTURE(i);
            CHECK(out[i].str() == offline_jsonl(*engine, audio[i], "s" + std::to_string(i), false));
        }
    }

    TEST_CASE("a stream nobody analyses holds a bounded number of windows") {
        auto engine = testing::load_engine("loudness_clip.pt", 1, 2);
        testing::CollectSink sink;
        arpipe::StreamOptions opt;
        opt.analyse_on_push = false;
        opt.max_pending_windows = 16;
        auto stream = engine->open_stream(kRate, 1, sink, opt);
        const auto x = testing::noise(600.0, kRate, 0.3f, 2);  // ten minutes in one push
        CHECK(stream->push(x.data(), x.size()));
        CHECK(stream->pending_windows() < 16);
        stream->finish();
        REQUIRE(sink.summaries.size() == 1);
        CHECK(sink.summaries[0].duration_seconds == doctest::Approx(600.0));
    }

    TEST_CASE("a bad sample ends the stream with an error naming the frame; others on the engine go on") {
        auto engine = testing::load_engine("loudness_clip.pt", 1, 2);
        testing::CollectSink bad_sink, good_sink;
        arpipe::StreamOptions opt;
        opt.name = "mic 1";
        auto bad = engine->open_stream(kRate, 2, bad_sink, opt);
        auto good = engine->open_stream(kRate, 1, good_sink);
        auto x = testing::noise(3.0, kRate, 0.3f, 3);
        std::vector<float> stereo;
        for (float v : x) stereo.insert(stereo.end(), {v, v});
        stereo[2 * 20000 + 1] = std::numeric_limits<float>::quiet_NaN();
        CHECK_FALSE(bad->push(stereo.data(), stereo.size()));
        CHECK(good->push(x.data(), x.size()));
        CHECK_FALSE(bad->push(stereo.data(), 2));
        bad->finish();
        good->finish();
        REQUIRE(bad_sink.errors.size() == 1);
        CHECK(bad_sink.errors[0].file == "mic 1");
        CHECK(bad_sink.errors[0].code == arpipe::ErrorCode::bad_samples);
        CHECK(bad_sink.errors[0].message.find("frame 20000") != std::string::npos);
        CHECK(bad_sink.summaries.empty());
        CHECK(good_sink.summaries.size() == 1);
        CHECK(good_sink.errors.empty());
    }

    TEST_CASE("a stream without audio, or closed without finish(), still ends in one error record") {
        auto engine = testing::load_engine("loudness_clip.pt", 1, 2);
        testing::CollectSink empty_sink, closed_sink;
        engine->open_stream(kRate, 2, empty_sink)->finish();
        REQUIRE(empty_sink.errors.size() == 1);
        CHECK(empty_sink.errors[0].code == arpipe::ErrorCode::empty_file);
        {
            auto s = engine->open_stream(kRate, 1, closed_sink);
            const auto x = testing::noise(4.0, kRate, 0.4f, 4);
            s->push(x.data(), x.size());
            const float half = 0.1f;
            s->push(&half, 1);
        }
        REQUIRE(closed_sink.errors.size() == 1);
        CHECK(closed_sink.errors[0].code == arpipe::ErrorCode::cancelled);
        CHECK(closed_sink.summaries.empty());
        REQUIRE_FALSE(closed_sink.events.empty());
        CHECK(closed_sink.events.back().cut);
    }

    TEST_CASE("open_stream refuses rates, channel counts and options out of range") {
        auto engine = testing::load_engine("loudness_clip.pt", 1, 2);
        testing::CollectSink sink;
        CHECK_THROWS_AS((void)engine->open_stream(999, 1, sink), std::invalid_argument);
        CHECK_THROWS_AS((void)engine->open_stream(kRate, 0, sink), std::invalid_argument);
        CHECK_THROWS_AS((void)engine->open_stream(kRate, 65, sink), std::invalid_argument);
        arpipe::StreamOptions opt;
        opt.max_pending_windows = 0;
        CHECK_THROWS_AS((void)engine->open_stream(kRate, 1, sink, opt), std::invalid_argument);
    }
}

#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <thread>

namespace {

/// `arpipe ARGS` with a pipe on each of stdin and stdout; stderr goes to `err_path`.
struct Child {
    pid_t pid = -1;
    int in = -1, out = -1;
};

Child spawn_cli(const std::vector<std::string>& args, const std::string& err_path) {
    int in[2], out[2];
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(err, 2);
        for (int fd : {in[0], in[1], out[0], out[1], err}) ::close(fd);
        std::vector<char*> argv{const_cast<char*>(ARPIPE_CLI_PATH)};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(ARPIPE_CLI_PATH, argv.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    return {pid, in[1], out[0]};
}

/// `arpipe ARGS <STDIN_PATH`, as testing::run_cli (which reads stdin from /dev/null).
testing::CliRun run_cli_stdin(const std::string& args, const std::string& stdin_path, const testing::TempDir& dir) {
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    const int status =
        std::system((std::string(ARPIPE_CLI_PATH) + " " + args + " <" + stdin_path + " >" + out + " 2>" + err).c_str());
    testing::CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = testing::read_text(out);
    r.err = testing::read_text(err);
    return r;
}

/// Appends whatever the child has written so far.
void drain(int fd, std::string& into) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) into.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

TEST_SUITE("streams") {
    TEST_CASE("arpipe run - : audio written slowly into a pipe gives its first event before the pipe closes, "
              "and the offline run's records in the end") {
        ::signal(SIGPIPE, SIG_IGN);
        testing::TempDir dir;
        // 10 s of audio: a burst of noise first, so an event ends early.
        const Audio a = bursts(kRate, 1, 10.0, 7);
        for (const auto& [name, format] : {std::pair{std::string("slow.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16},
                                           std::pair{std::string("slow.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_16}}) {
            CAPTURE(name);
            const std::string path = dir.file(name);
            testing::write_audio(path, a.samples, a.rate, a.channels, format);
            const std::string bytes = testing::read_text(path);
            const std::string model = testing::repo_path("tests/data/models/loudness_clip.pt");
            const auto offline = testing::run_cli("run -q -m " + model + " " + path, dir);
            REQUIRE(offline.code == 0);
            REQUIRE(offline.out.find("\"type\":\"event\"") != std::string::npos);

            Child c = spawn_cli({"run", "-q", "-m", model, "--name", path, "-"}, dir.file("err.txt"));
            // The file's bytes over 5 s (10 s of audio at twice real time), in 50 pieces.
            std::string got;
            double first_event_at = -1;
            const auto t0 = std::chrono::steady_clock::now();
            const std::size_t pieces = 50;
            for (std::size_t i = 0; i < pieces; ++i) {
                const std::size_t from = bytes.size() * i / pieces, to = bytes.size() * (i + 1) / pieces;
                REQUIRE(::write(c.in, bytes.data() + from, to - from) == static_cast<ssize_t>(to - from));
                std::this_thread::sleep_until(t0 + std::chrono::milliseconds(100 * (i + 1)));
                drain(c.out, got);
                if (first_event_at < 0 && got.find("\"type\":\"event\"") != std::string::npos)
                    first_event_at = static_cast<double>(i + 1) / pieces;
            }
            ::close(c.in);  // the writer closes the pipe here
            int status = 0;
            ::waitpid(c.pid, &status, 0);
            drain(c.out, got);
            ::close(c.out);
            INFO("stderr: " << testing::read_text(dir.file("err.txt")));
            CHECK(WIFEXITED(status));
            CHECK(WEXITSTATUS(status) == 0);
            // The first event (it ends at 1.75 s of the 10 s) was out while the writer still had audio to write:
            // about a quarter of it on a quiet machine; 0.9 leaves room for a loaded one.
            CHECK(first_event_at > 0);
            CHECK(first_event_at < 0.9);
            CHECK(got == offline.out);
        }
    }

    TEST_CASE("arpipe run - reads raw PCM with --raw-format, and names what it cannot read") {
        testing::TempDir dir;
        const Audio a = bursts(kRate, 2, 6.0, 8);
        const std::string wav = dir.file("a.wav"), raw = dir.file("a.raw");
        testing::write_audio(wav, a.samples, a.rate, a.channels);
        testing::write_audio(raw, a.samples, a.rate, a.channels, SF_FORMAT_RAW | SF_FORMAT_PCM_16);
        const std::string model = " -m " + testing::repo_path("tests/data/models/loudness_frames.pt");
        const auto offline = run_cli_stdin("run -q" + model + " --name " + wav + " -", wav, dir);
        const auto from_file = testing::run_cli("run -q" + model + " " + wav, dir);
        REQUIRE(from_file.code == 0);
        CHECK(offline.out == from_file.out);
        const auto pcm = run_cli_stdin("run -q" + model + " --raw-format s16le:16000:2 --name " + wav + " -", raw, dir);
        CHECK(pcm.code == 0);
        CHECK(pcm.out == from_file.out);

        // A WAV from a writer that cannot go back to fill in its sizes (they stay 0xFFFFFFFF): read to its end.
        std::string streamed = testing::read_text(wav);
        REQUIRE(streamed.compare(36, 4, "data") == 0);
        streamed.replace(4, 4, "\xff\xff\xff\xff");
        streamed.replace(40, 4, "\xff\xff\xff\xff");
        const std::string unsized = dir.file("unsized.wav");
        testing::write_text(unsized, streamed);
        const auto no_sizes = run_cli_stdin("run -q" + model + " --name " + wav + " -", unsized, dir);
        CHECK(no_sizes.code == 0);
        CHECK(no_sizes.out == from_file.out);

        // Compressed archives through the pipe: the same records as the file gives.
        const Audio b = bursts(44100, 2, 8.0, 9);
        for (const auto& [name, format] : {std::pair{std::string("a.mp3"), SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III},
                                           std::pair{std::string("a.ogg"), SF_FORMAT_OGG | SF_FORMAT_VORBIS},
                                           std::pair{std::string("a.opus"), SF_FORMAT_OGG | SF_FORMAT_OPUS}}) {
            CAPTURE(name);
            const std::string path = dir.file(name);
            const bool opus = name == "a.opus";
            testing::write_audio(path, opus ? bursts(48000, 2, 8.0, 9).samples : b.samples, opus ? 48000 : 44100, 2, format);
            const auto file = testing::run_cli("run -q" + model + " " + path, dir);
            REQUIRE(file.code == 0);
            const auto piped = run_cli_stdin("run -q" + model + " --name " + path + " -", path, dir);
            CHECK(piped.code == 0);
            CHECK(piped.out == file.out);
        }

        const auto junk = run_cli_stdin("run -q" + model + " -", testing::repo_path("README.md"), dir);
        CHECK(junk.code == 1);
        CHECK(junk.out.find("\"file\":\"-\"") != std::string::npos);
        CHECK(junk.out.find("\"code\":\"unsupported_format\"") != std::string::npos);
        const auto empty = testing::run_cli("run -q" + model + " -", dir);
        CHECK(empty.code == 1);
        CHECK(empty.out.find("\"code\":\"empty_file\"") != std::string::npos);
        const auto mixed = testing::run_cli("run -q" + model + " - " + wav, dir);
        CHECK(mixed.code == 2);
        CHECK(mixed.err.find("standard input") != std::string::npos);
    }
}
