// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

#include "stages/decode.h"
#include "stages/failure.h"
#include "support.h"

using arpipe::ErrorCode;
using testing::TempDir;

namespace {

ErrorCode open_error(const arpipe::Input& in, std::string* message = nullptr,
                     const std::optional<arpipe::RawFormat>& raw = std::nullopt) {
    try {
        arpipe::Decoder d(in, 16000, raw);
        std::vector<float> sink;
        while (d.read_chunk(sink)) {}
    } catch (const arpipe::Failure& f) {
        if (message) *message = f.what();
        return f.code();
    }
    FAIL("no error for " << in.name);
    return ErrorCode::internal;
}

std::vector<float> decode_all(const arpipe::Input& in, int rate, const std::optional<arpipe::RawFormat>& raw = std::nullopt) {
    arpipe::Decoder d(in, rate, raw);
    std::vector<float> out;
    while (d.read_chunk(out)) {}
    return out;
}

/// Cuts the first frame of an MP3 that libsndfile wrote: its Xing (VBR) or Info frame, which holds the exact
/// length. What is left is a valid MPEG stream whose length a reader can only estimate or scan for.
void cut_length_frame(const std::string& path) {
    std::string bytes = testing::read_text(path);
    REQUIRE(bytes.size() > 1000);
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    REQUIRE((b[0] == 0xff && (b[1] & 0xfe) == 0xfa));  // MPEG-1 layer III, no ID3 tag before it
    const std::string_view first(bytes.data(), 64);
    REQUIRE((first.find("Xing") != std::string_view::npos || first.find("Info") != std::string_view::npos));
    static const int kbps[] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
    static const int rates[] = {44100, 48000, 32000};
    const int bitrate = kbps[b[2] >> 4] * 1000, rate = rates[(b[2] >> 2) & 3];
    const std::size_t length = static_cast<std::size_t>(144 * bitrate / rate + ((b[2] >> 1) & 1));
    REQUIRE((b[length] == 0xff && (b[length + 1] & 0xfe) == 0xfa));  // the next frame starts there
    testing::write_text(path, bytes.substr(length));
}

}  // namespace

TEST_SUITE("decode") {

    TEST_CASE("a missing path, a directory and an empty file each get their own code") {
        TempDir dir;
        std::string msg;
        CHECK(open_error(arpipe::Input::file(dir.file("nope.wav")), &msg) == ErrorCode::not_found);
        CHECK(msg == "no such file");
        CHECK(open_error(arpipe::Input::file(dir.path().string())) == ErrorCode::not_a_file);
        testing::write_text(dir.file("empty.wav"), "");
        CHECK(open_error(arpipe::Input::file(dir.file("empty.wav"))) == ErrorCode::empty_file);
    }

    TEST_CASE("an unreadable file is permission_denied") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::silence(0.1, 16000), 16000);
        ::chmod(dir.file("a.wav").c_str(), 0);
        if (::geteuid() != 0) {
            CHECK(open_error(arpipe::Input::file(dir.file("a.wav"))) == ErrorCode::permission_denied);
            return;
        }
        // Root reads everything, so (as in CI's containers) the check runs in a child that drops to
        // nobody (65534) and reports the error code as its exit status.
        ::chmod(dir.path().c_str(), 0755);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(250);
            ::_exit(static_cast<int>(open_error(arpipe::Input::file(dir.file("a.wav")))));
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) != 250);
        CHECK(WEXITSTATUS(status) == static_cast<int>(ErrorCode::permission_denied));
    }

    TEST_CASE("a file truncated or appended to while it is read ends cleanly with what was there") {
        // 10 s of 16-bit WAV at 16 kHz: 44 header bytes + 320,000 data bytes. The decoder reads 8192-frame
        // chunks, so after the first chunk the rest of the file is still unread.
        TempDir dir;
        const std::string path = dir.file("growing.wav");
        const auto x = testing::noise(10.0, 16000, 0.3f);
        testing::write_audio(path, x, 16000);

        {  // Truncated to 2 s of data after the first chunk: the samples that were there, then the end.
            arpipe::Decoder d(arpipe::Input::file(path), 16000, std::nullopt);
            std::vector<float> out;
            REQUIRE(d.read_chunk(out));
            REQUIRE(::truncate(path.c_str(), 44 + 2 * 16000 * 2) == 0);
            while (d.read_chunk(out)) {}
            CHECK(out.size() == 32000);
            CHECK(out[31999] == doctest::Approx(x[31999]).epsilon(1e-3));
        }
        testing::write_audio(path, x, 16000);
        {  // Appended to after the first chunk: the header's length is what is read, the tail is ignored.
            arpipe::Decoder d(arpipe::Input::file(path), 16000, std::nullopt);
            std::vector<float> out;
            REQUIRE(d.read_chunk(out));
            std::ofstream(path, std::ios::binary | std::ios::app) << std::string(64000, '\x7f');
            while (d.read_chunk(out)) {}
            CHECK(out.size() == x.size());
        }
    }

    TEST_CASE("text renamed to .wav is unsupported_format") {
        TempDir dir;
        testing::write_text(dir.file("notes.wav"), "these are my notes, not audio\n");
        CHECK(open_error(arpipe::Input::file(dir.file("notes.wav"))) == ErrorCode::unsupported_format);
    }

    TEST_CASE("headerless pcm without --raw-format gets a hint, and decodes with it") {
        TempDir dir;
        std::vector<std::int16_t> pcm(1600, 1000);
        testing::write_text(dir.file("x.raw"), std::string(reinterpret_cast<const char*>(pcm.data()), pcm.size() * 2));
        std::string msg;
        CHECK(open_error(arpipe::Input::file(dir.file("x.raw")), &msg) == ErrorCode::unsupported_format);
        CHECK(msg.find("--raw-format") != std::string::npos);
        const auto out = decode_all(arpipe::Input::file(dir.file("x.raw")), 16000, arpipe::RawFormat{});
        REQUIRE(out.size() == 1600);
        CHECK(out[100] == doctest::Approx(1000.0 / 32768.0));
    }

    TEST_CASE("a truncated header is an error") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(0.5, 16000, 0.1f), 16000);
        const std::string bytes = testing::read_text(dir.file("a.wav"));
        testing::write_text(dir.file("cut.wav"), bytes.substr(0, 20));
        const ErrorCode code = open_error(arpipe::Input::file(dir.file("cut.wav")));
        CHECK((code == ErrorCode::bad_header || code == ErrorCode::unsupported_format));
    }

    TEST_CASE("truncated data decodes what is there") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.1f), 16000);
        const std::string bytes = testing::read_text(dir.file("a.wav"));
        testing::write_text(dir.file("cut.wav"), bytes.substr(0, 44 + 2 * 4000));
        CHECK(decode_all(arpipe::Input::file(dir.file("cut.wav")), 16000).size() == 4000);
    }

    TEST_CASE("NaN in float data is bad_samples with the frame number") {
        TempDir dir;
        auto x = testing::noise(0.2, 16000, 0.1f);
        x[1234] = std::numeric_limits<float>::quiet_NaN();
        testing::write_audio(dir.file("nan.wav"), x, 16000, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
        std::string msg;
        CHECK(open_error(arpipe::Input::file(dir.file("nan.wav")), &msg) == ErrorCode::bad_samples);
        CHECK(msg.find("frame 1234") != std::string::npos);
    }

    TEST_CASE("absurd in-memory rates and channel counts are rejected") {
        CHECK(open_error(arpipe::Input::pcm("a", {0.f}, 1, 1)) == ErrorCode::bad_sample_rate);
        CHECK(open_error(arpipe::Input::pcm("b", {0.f}, 10'000'000, 1)) == ErrorCode::bad_sample_rate);
        CHECK(open_error(arpipe::Input::pcm("c", std::vector<float>(100, 0.f), 16000, 100)) == ErrorCode::too_many_channels);
        CHECK(open_error(arpipe::Input::pcm("d", std::vector<float>(3, 0.f), 16000, 2)) == ErrorCode::bad_layout);
    }

    TEST_CASE("stereo is averaged to mono") {
        std::vector<float> st;
        for (int i = 0; i < 1000; ++i) {
            st.push_back(0.5f);
            st.push_back(-0.25f);
        }
        const auto mono = decode_all(arpipe::Input::pcm("st", st, 16000, 2), 16000);
        REQUIRE(mono.size() == 1000);
        CHECK(mono[10] == doctest::Approx(0.125f));
    }

    TEST_CASE("resampling 44.1 kHz and 8 kHz to 16 kHz keeps the duration") {
        TempDir dir;
        testing::write_audio(dir.file("a.flac"), testing::noise(2.0, 44100, 0.1f), 44100, 1,
                             SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
        const auto a = decode_all(arpipe::Input::file(dir.file("a.flac")), 16000);
        CHECK(std::abs(static_cast<long>(a.size()) - 32000) <= 2);
        const auto b = decode_all(arpipe::Input::pcm("b", testing::noise(3.0, 8000, 0.1f), 8000, 1), 16000);
        CHECK(std::abs(static_cast<long>(b.size()) - 48000) <= 2);
    }

    TEST_CASE("a sine keeps its level through the resampler") {
        std::vector<float> x(44100);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.5f * std::sin(2.0 * M_PI * 1000.0 * i / 44100.0);
        const auto y = decode_all(arpipe::Input::pcm("sine", x, 44100, 1), 16000);
        double e = 0;
        for (std::size_t i = 1000; i < 15000; ++i) e += y[i] * y[i];
        CHECK(std::sqrt(e / 14000) == doctest::Approx(0.5 / std::sqrt(2.0)).epsilon(0.01));
    }
}

namespace {
std::atomic<bool> g_watch_closes{false};
std::atomic<int> g_stale_closes{0};  // close() calls on a descriptor that was not open, while watched
}  // namespace

// Every close() in this test binary, libsndfile's included, comes here first (the executable's definition
// wins over libc's), so that a close of a descriptor that is already closed can be counted. In a threaded
// run such a close is not harmless: the number may already belong to a file another thread just opened.
extern "C" int close(int fd) {
    const long r = ::syscall(SYS_close, fd);
    if (r != 0 && errno == EBADF && g_watch_closes.load()) ++g_stale_closes;
    return static_cast<int>(r);
}

TEST_SUITE("decode") {
    // Regression: libsndfile 1.2.0 closes the descriptor of a failed sf_open_fd even with close_desc false,
    // and the decoder closed it again. In a run, that second close took the descriptor of the next input,
    // opened meanwhile by another thread: its first read failed with "Bad file descriptor".
    TEST_CASE("opening a file that is not audio closes its descriptor once, and leaks none") {
        TempDir dir;
        testing::write_audio(dir.file("good.wav"), testing::noise(0.5, 16000, 0.1f), 16000);
        const std::string wav = testing::read_text(dir.file("good.wav"));
        testing::write_text(dir.file("text.wav"), "RIFF but not really a wave file");
        testing::write_text(dir.file("notes.flac"), "these are my notes, not audio\n");
        testing::write_text(dir.file("cut.wav"), wav.substr(0, 30));
        std::string noise(4096, '\0');
        std::uint32_t x = 5;
        for (char& c : noise) c = static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
        testing::write_text(dir.file("noise.ogg"), noise);
        auto open_files = [] {
            return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{});
        };
        const auto before = open_files();
        g_stale_closes = 0;
        g_watch_closes = true;
        int failed = 0;
        for (const char* name : {"text.wav", "notes.flac", "cut.wav", "noise.ogg", "good.wav"}) {
            CAPTURE(name);
            try {
                arpipe::AudioSource::open(arpipe::Input::file(dir.file(name)), std::nullopt).reset();
            } catch (const arpipe::Failure&) {
                ++failed;
            }
        }
        g_watch_closes = false;
        CHECK(failed == 4);
        CHECK(g_stale_closes.load() == 0);
        CHECK(open_files() == before);
    }

    TEST_CASE("an absurd sample rate in a valid header is rejected and the file is closed") {
        // Regression (found by the fuzzer): the check threw from the constructor after sf_open and leaked
        // the SNDFILE handle. Under AddressSanitizer the leak fails this test.
        TempDir dir;
        std::string h = "RIFF";
        auto u32 = [&](std::uint32_t v) { h.append(reinterpret_cast<const char*>(&v), 4); };
        auto u16 = [&](std::uint16_t v) { h.append(reinterpret_cast<const char*>(&v), 2); };
        u32(36 + 200);
        h += "WAVEfmt ";
        u32(16);
        u16(1);
        u16(1);
        u32(0x2300AC44u);
        u32(0x2300AC44u);
        u16(1);
        u16(8);
        h += "data";
        u32(200);
        h += std::string(200, '\x80');
        testing::write_text(dir.file("rate.wav"), h);
        CHECK(open_error(arpipe::Input::file(dir.file("rate.wav"))) == ErrorCode::bad_sample_rate);
    }
}

namespace {

/// Test audio with content in every band and channels that differ: a chirp, a beat and some noise.
std::vector<float> stereo_music(double seconds, int rate, int channels) {
    const auto n = static_cast<std::size_t>(seconds * rate);
    std::vector<float> x(n * static_cast<std::size_t>(channels));
    std::uint32_t s = 7;
    double phase = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / rate;
        phase += 2.0 * 3.141592653589793 * (200.0 + 1500.0 * t / seconds) / rate;
        s = s * 1664525u + 1013904223u;
        const double v = 0.4 * std::sin(phase) * (std::fmod(t, 0.5) < 0.3 ? 1.0 : 0.2) +
                         0.05 * (static_cast<double>(s >> 8) / 16777216.0 - 0.5);
        for (int c = 0; c < channels; ++c) x[i * channels + c] = static_cast<float>(v * (1.0 - 0.2 * c));
    }
    return x;
}

struct Format {
    const char* name;
    int sf_format;
    int rate;
    int channels;
    double tolerance;  // largest difference allowed between chunked and one-pass samples
};

}  // namespace

TEST_SUITE("decode") {
    // The promise behind parallel decoding: a span decoded on its own, after a seek, has the same samples as
    // the same span of a start-to-end decode. libsndfile's seeks are sample-exact (so without resampling the
    // samples are bit-identical); the resampler's output differs only by float rounding after its pre-roll.
    TEST_CASE("chunked decoding gives the samples of a one-pass decode, for every format") {
        TempDir dir;
        const Format formats[] = {
            {"wav16k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.0},
            {"flac16k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 2, 0.0},
            {"wav44k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 1e-6},
            {"flac44k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 1e-6},
            {"mp3.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 1e-6},
            {"mp3-no-xing.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 1e-6},  // read by libmpg123
            {"opus.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, 1e-6},
            {"vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 1e-6},
            {"wav8k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1e-6},
        };
        for (const Format& f : formats) {
            const std::string name = f.name;
            CAPTURE(name);
            const std::string path = dir.file(f.name);
            // 7.3 s: not a multiple of any span below.
            testing::write_audio(path, stereo_music(7.3, f.rate, f.channels), f.rate, f.channels, f.sf_format);
            if (name == "mp3-no-xing.mp3") cut_length_frame(path);
            const arpipe::Input in = arpipe::Input::file(path);
            const std::vector<float> whole = decode_all(in, 16000);
            auto source = arpipe::AudioSource::open(in, std::nullopt);
            REQUIRE(source->can_seek());
            const std::int64_t frames = source->announced_frames();
            REQUIRE(frames > 0);
            const auto total = static_cast<std::int64_t>(whole.size());
            CHECK(arpipe::resampled_length(frames, f.rate, 16000) == total);
            arpipe::RangeScratch scratch;
            for (std::int64_t span : {std::int64_t{16000}, std::int64_t{23456}, std::int64_t{50000}}) {
                CAPTURE(span);
                double max_diff = 0;
                std::int64_t decoded = 0;
                // Spans out of order, as threads take them, from one handle that seeks back and forth.
                std::vector<std::int64_t> starts;
                for (std::int64_t a = 0; a < total; a += span) starts.push_back(a);
                std::reverse(starts.begin(), starts.end());
                std::rotate(starts.begin(), starts.begin() + static_cast<std::ptrdiff_t>(starts.size() / 2), starts.end());
                for (std::int64_t a : starts) {
                    std::vector<float> out;
                    const auto r = arpipe::decode_range(*source, 16000, a, std::min(total, a + span), frames, out, scratch);
                    CHECK_FALSE(r.reached_end);
                    REQUIRE(r.samples == std::min(total, a + span) - a);
                    for (std::int64_t i = 0; i < r.samples; ++i)
                        max_diff = std::max(max_diff, static_cast<double>(std::fabs(out[static_cast<std::size_t>(i)] -
                                                                                    whole[static_cast<std::size_t>(a + i)])));
                    decoded += r.samples;
                }
                CHECK(decoded == total);
                MESSAGE(name << " span " << span << ": largest difference from one pass " << max_diff);
                CHECK(max_diff <= f.tolerance);
            }
        }
    }

    TEST_CASE("an MP3 without its Xing frame decodes to its end, not to the length libsndfile estimates") {
        // libsndfile 1.2.0 estimates such a file's length from the first frame's bitrate and never reads past
        // it: 4.5 s of a 10 s variable-bitrate file were read before arpipe scanned such files with libmpg123.
        TempDir dir;
        const std::string path = dir.file("cut.mp3");
        testing::write_audio(path, stereo_music(10.0, 44100, 2), 44100, 2, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III);
        cut_length_frame(path);
        const arpipe::Input in = arpipe::Input::file(path);
        auto source = arpipe::AudioSource::open(in, std::nullopt);
        CHECK(source->rate_hz() == 44100);
        CHECK(source->channels() == 2);
        CHECK(source->can_seek());
        // Without the frame the encoder's delay and padding stay in: a little more than 10 s.
        CHECK(source->announced_frames() >= 441000);
        CHECK(source->announced_frames() <= 441000 + 44100 / 10);
        const std::vector<float> all = decode_all(in, 16000);
        CHECK(all.size() == static_cast<std::size_t>(arpipe::resampled_length(source->announced_frames(), 44100, 16000)));
        // The music is there to the end, not silence after a cut.
        double tail = 0;
        for (std::size_t i = all.size() - 16000; i < all.size() - 1600; ++i) tail += std::fabs(all[i]);
        CHECK(tail / 14400 > 0.01);
    }

    TEST_CASE("a span past the real end of the data says where the data ended") {
        // The header announces more frames than the data holds (a file cut short): the chunk that meets the
        // end reports it, with the samples that were there.
        TempDir dir;
        const std::string path = dir.file("short.wav");
        testing::write_audio(path, stereo_music(3.0, 44100, 2), 44100, 2);
        REQUIRE(::truncate(path.c_str(), 44 + 2 * 2 * 44100) == 0);  // 1 s of the 3 s the header announces
        auto source = arpipe::AudioSource::open(arpipe::Input::file(path), std::nullopt);
        arpipe::RangeScratch scratch;
        std::vector<float> out;
        const auto r = arpipe::decode_range(*source, 16000, 8000, 40000, 3 * 44100, out, scratch);
        CHECK(r.reached_end);
        CHECK(r.source_frames == 44100);
        CHECK(r.samples == 16000 - 8000);
    }
}

TEST_SUITE("decode") {
    // Byte-identical output for any thread count rests on this: which spans a thread's handle and resampler
    // decoded before must not change a bit of the next span.
    TEST_CASE("a span decodes to the same bits whatever its handle and scratch decoded before") {
        TempDir dir;
        const Format formats[] = {
            {"mp3.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 0},
            {"opus.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, 0},
            {"vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 0},
            {"flac.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 0},
        };
        for (const Format& f : formats) {
            const std::string name = f.name;
            CAPTURE(name);
            const std::string path = dir.file(f.name);
            testing::write_audio(path, stereo_music(6.1, f.rate, f.channels), f.rate, f.channels, f.sf_format);
            const arpipe::Input in = arpipe::Input::file(path);
            const std::int64_t frames = arpipe::AudioSource::open(in, std::nullopt)->announced_frames();
            const std::int64_t total = arpipe::resampled_length(frames, f.rate, 16000);
            const std::int64_t span = 16000;
            // Reference: every span from a fresh handle and fresh scratch.
            std::vector<std::vector<float>> ref;
            for (std::int64_t a = 0; a < total; a += span) {
                auto source = arpipe::AudioSource::open(in, std::nullopt);
                arpipe::RangeScratch scratch;
                ref.emplace_back();
                arpipe::decode_range(*source, 16000, a, std::min(total, a + span), frames, ref.back(), scratch);
            }
            // The same spans in several orders from one handle and one scratch.
            auto source = arpipe::AudioSource::open(in, std::nullopt);
            arpipe::RangeScratch scratch;
            const std::size_t n = ref.size();
            for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
                for (std::size_t i = 0; i < n; ++i) {
                    const std::size_t k = (i * step + step / 2) % n;
                    const auto a = static_cast<std::int64_t>(k) * span;
                    std::vector<float> out;
                    arpipe::decode_range(*source, 16000, a, std::min(total, a + span), frames, out, scratch);
                    CAPTURE(k);
                    CAPTURE(step);
                    CHECK(out.size() == ref[k].size());
                    CHECK(std::memcmp(out.data(), ref[k].data(), out.size() * sizeof(float)) == 0);
                }
            }
        }
    }
}

TEST_SUITE("decode") {
    TEST_CASE("in-memory pcm with no channels, or a partial frame, is bad_layout naming the value") {
        std::string msg;
        CHECK(open_error(arpipe::Input::pcm("zero", std::vector<float>(16, 0.f), 16000, 0), &msg) == ErrorCode::bad_layout);
        CHECK(msg == "in-memory pcm has 0 channels; it needs 1 to 64");
        CHECK(open_error(arpipe::Input::pcm("minus", std::vector<float>(16, 0.f), 16000, -2), &msg) == ErrorCode::bad_layout);
        CHECK(msg == "in-memory pcm has -2 channels; it needs 1 to 64");
        CHECK(open_error(arpipe::Input::pcm("empty", {}, 16000, 0), &msg) == ErrorCode::bad_layout);
        CHECK(open_error(arpipe::Input::pcm("part", std::vector<float>(7, 0.f), 16000, 3), &msg) == ErrorCode::bad_layout);
        CHECK(msg == "in-memory pcm has 7 samples, not a whole number of frames of 3 channels");
        // More than 64 keeps its own code, for files and in-memory pcm alike.
        CHECK(open_error(arpipe::Input::pcm("wide", std::vector<float>(65, 0.f), 16000, 65), &msg) == ErrorCode::too_many_channels);
        CHECK(msg == "channel count 65 is not in [1, 64]");
    }

    TEST_CASE("samples far outside [-1, 1] are samples_out_of_range naming the frame and the value") {
        const int rate = 16000;
        auto samples = testing::noise(0.5, rate, 0.3f);
        std::string msg;
        auto x = samples;
        x[4321] = 100.0f;
        CHECK(open_error(arpipe::Input::pcm("hundred", x, rate, 1), &msg) == ErrorCode::samples_out_of_range);
        CHECK(msg == "sample value 100 at frame 4321 is outside [-16, 16]; audio samples are in [-1, 1]");
        x = samples;
        x[17] = -1e30f;
        CHECK(open_error(arpipe::Input::pcm("huge", x, rate, 1), &msg) == ErrorCode::samples_out_of_range);
        CHECK(msg == "sample value -1e+30 at frame 17 is outside [-16, 16]; audio samples are in [-1, 1]");
        // Stereo: the frame, not the sample index.
        std::vector<float> st(2000, 0.1f);
        st[2 * 700 + 1] = 32767.0f;  // a host passing 16-bit values unscaled
        CHECK(open_error(arpipe::Input::pcm("int16", st, rate, 2), &msg) == ErrorCode::samples_out_of_range);
        CHECK(msg == "sample value 32767 at frame 700 is outside [-16, 16]; audio samples are in [-1, 1]");
        // A float file, through the decoder and through a chunk decoded after a seek.
        TempDir dir;
        x = samples;
        x[6000] = 1e30f;
        testing::write_audio(dir.file("huge.wav"), x, rate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
        CHECK(open_error(arpipe::Input::file(dir.file("huge.wav")), &msg) == ErrorCode::samples_out_of_range);
        CHECK(msg == "sample value 1e+30 at frame 6000 is outside [-16, 16]; audio samples are in [-1, 1]");
        try {
            auto source = arpipe::AudioSource::open(arpipe::Input::file(dir.file("huge.wav")), std::nullopt);
            arpipe::RangeScratch scratch;
            std::vector<float> out;
            arpipe::decode_range(*source, rate, 4000, 8000, source->announced_frames(), out, scratch);
            FAIL("no error from decode_range");
        } catch (const arpipe::Failure& f) {
            CHECK(f.code() == ErrorCode::samples_out_of_range);
            CHECK(std::string(f.what()).find("at frame 6000") != std::string::npos);
        }
        // NaN and Inf keep their own code.
        x = samples;
        x[5] = std::numeric_limits<float>::infinity();
        CHECK(open_error(arpipe::Input::pcm("inf", x, rate, 1), &msg) == ErrorCode::bad_samples);
        CHECK(msg == "non-finite sample value (NaN or Inf) at frame 5");
    }

    TEST_CASE("samples a little past full scale, as float files and lossy decoders give, are kept") {
        const int rate = 16000;
        auto x = testing::noise(0.5, rate, 0.3f);
        x[10] = 1.4f;
        x[11] = -2.0f;
        x[12] = 16.0f;
        x[13] = -16.0f;
        const auto out = decode_all(arpipe::Input::pcm("loud", x, rate, 1), rate);
        REQUIRE(out.size() == x.size());
        CHECK(out[12] == 16.0f);
        CHECK(out[13] == -16.0f);
    }
}
