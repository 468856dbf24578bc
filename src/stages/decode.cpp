// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "decode.h"

#include <fcntl.h>
#include <limits.h>
#include <mpg123.h>
#include <sndfile.h>
#include <soxr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <filesystem>
#include <string>
#include <string_view>
#include <numeric>
#include <system_error>

#include "failure.h"

namespace arpipe {
namespace {

constexpr std::int64_t kChunkFrames = 8192;

bool has_raw_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".raw" || ext == ".pcm";
}

int raw_subformat(RawFormat::Encoding e) {
    switch (e) {
        case RawFormat::Encoding::s16le: return SF_FORMAT_PCM_16;
        case RawFormat::Encoding::s32le: return SF_FORMAT_PCM_32;
        case RawFormat::Encoding::f32le: return SF_FORMAT_FLOAT;
        case RawFormat::Encoding::u8: return SF_FORMAT_PCM_U8;
    }
    return SF_FORMAT_PCM_16;
}

/// libsndfile's messages in arpipe's style: lower-case start, no trailing period, no internal jargon.
std::string sndfile_message(std::string m) {
    if (m.find("SF_INFO") != std::string::npos) return "the header gives a zero sample rate, channel count or format";
    while (!m.empty() && (m.back() == '.' || m.back() == ' ')) m.pop_back();
    if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
    return m;
}

void check_rate(int rate) {
    if (rate < kMinSampleRateHz || rate > kMaxSampleRateHz)
        throw Failure(ErrorCode::bad_sample_rate, "sample rate " + std::to_string(rate) + " Hz is not in [" +
                                                      std::to_string(kMinSampleRateHz) + ", " +
                                                      std::to_string(kMaxSampleRateHz) + "] Hz");
}

void check_too_many_channels(int channels) {
    if (channels > kMaxChannels)
        throw Failure(ErrorCode::too_many_channels,
                      "channel count " + std::to_string(channels) + " is not in [1, " + std::to_string(kMaxChannels) + "]");
}

/// What an opened header must say: a rate in range and 1 to kMaxChannels channels.
void check_header(const SF_INFO& info) {
    check_rate(info.samplerate);
    check_too_many_channels(info.channels);
    if (info.channels < 1)
        throw Failure(ErrorCode::bad_header, "the header gives " + std::to_string(info.channels) + " channels");
}

/// ENAMETOOLONG: the whole path is past PATH_MAX, or one name in it past NAME_MAX. Either way the file may
/// well exist; the system just cannot be asked about it by this path.
[[noreturn]] void throw_path_too_long(const std::string& path) {
    std::size_t longest = 0;
    for (std::size_t start = 0; start <= path.size();) {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        longest = std::max(longest, slash - start);
        start = slash + 1;
    }
    if (path.size() < PATH_MAX && longest > NAME_MAX)
        throw Failure(ErrorCode::path_too_long,
                      "a name in the path is longer than the system allows (" + std::to_string(longest) + " bytes)");
    throw Failure(ErrorCode::path_too_long,
                  "path is longer than the system allows (" + std::to_string(path.size()) + " bytes)");
}

/// A sample that failed the range check in downmix: NaN or Inf, or a finite value out of range.
[[noreturn]] void reject_sample(float v, std::int64_t frame) {
    if (!std::isfinite(v))
        throw Failure(ErrorCode::bad_samples, "non-finite sample value (NaN or Inf) at frame " + std::to_string(frame));
    char value[32], bound[32];
    std::snprintf(value, sizeof value, "%g", static_cast<double>(v));
    std::snprintf(bound, sizeof bound, "%g", static_cast<double>(kMaxSampleMagnitude));
    throw Failure(ErrorCode::samples_out_of_range, std::string("sample value ") + value + " at frame " +
                                                       std::to_string(frame) + " is outside [-" + bound + ", " + bound +
                                                       "]; audio samples are in [-1, 1]");
}

}  // namespace

namespace {

class SndfileSource final : public AudioSource {
public:
    SndfileSource(const std::string& path, const std::optional<RawFormat>& raw) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::file_status st = fs::status(path, ec);
        if (ec.value() == ENAMETOOLONG) throw_path_too_long(path);
        if (ec || !fs::exists(st)) {
            std::error_code lec;
            if (fs::is_symlink(fs::symlink_status(path, lec))) {
                if (ec.value() == ELOOP) throw Failure(ErrorCode::not_found, "symbolic link loop");
                throw Failure(ErrorCode::not_found, "broken symbolic link (points to " + fs::read_symlink(path, lec).string() + ")");
            }
            throw Failure(ErrorCode::not_found, "no such file");
        }
        if (fs::is_directory(st)) throw Failure(ErrorCode::not_a_file, "is a directory, not an audio file");
        if (!fs::is_regular_file(st)) throw Failure(ErrorCode::not_a_file, "is not a regular file");

        SF_INFO info{};
        file_ = open_file(path, raw, &info);
        try {
            check_header(info);
        } catch (...) {
            // The destructor does not run for a constructor that throws: close here (found by the fuzzer).
            sf_close(file_);
            throw;
        }
        path_ = path;
        raw_ = raw;
        // libsndfile 1.2's Ogg Vorbis seek from a handle that has already read elsewhere can land on samples
        // that differ from a fresh handle's (seen in tests: a different event score); a fresh handle's seek
        // matched a one-pass decode exactly. So Vorbis seeks reopen the file.
        reopen_to_seek_ = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG &&
                          (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_VORBIS;
        mpeg_ = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
        rate_ = info.samplerate;
        channels_ = info.channels;
        seekable_ = info.seekable != 0;
        announced_ = info.frames > 0 && info.frames < SF_COUNT_MAX ? static_cast<std::int64_t>(info.frames) : -1;
    }

    /// Opens `path` with libsndfile; throws Failure naming the problem. Once sf_open_fd has the descriptor it
    /// is libsndfile's alone (close_desc): sf_close closes it, and so does a failed open. libsndfile 1.2.0
    /// closes it on a failed open even when told not to. A second close here, while other threads opened
    /// files, closed one of theirs instead, and their next read failed with "Bad file descriptor" (seen in the
    /// resume test, on the input after an unreadable one; test_decode.cpp counts closes of closed descriptors).
    static SNDFILE* open_file(const std::string& path, const std::optional<RawFormat>& raw, SF_INFO* info) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (err == EACCES || err == EPERM) throw Failure(ErrorCode::permission_denied, "permission denied");
            if (err == ENAMETOOLONG) throw_path_too_long(path);
            throw Failure(ErrorCode::not_found, std::string("cannot open: ") + std::strerror(err));
        }
        if (::lseek(fd, 0, SEEK_END) == 0) {
            ::close(fd);
            throw Failure(ErrorCode::empty_file, "file is empty (0 bytes)");
        }
        ::lseek(fd, 0, SEEK_SET);

        const bool as_raw = raw && has_raw_extension(path);
        if (as_raw) {
            info->samplerate = raw->sample_rate_hz;
            info->channels = raw->channels;
            info->format = SF_FORMAT_RAW | raw_subformat(raw->encoding) | SF_ENDIAN_LITTLE;
        }
        // A failed open leaves its error only in libsndfile's one global (sf_error(NULL)), which any other
        // thread's open overwrites: opens and the reading of that error are serialised.
        static std::mutex open_mutex;
        std::unique_lock<std::mutex> lock(open_mutex);
        SNDFILE* file = sf_open_fd(fd, SFM_READ, info, /*close_desc=*/SF_TRUE);
        if (file == nullptr) {  // fd is closed already
            const int code = sf_error(nullptr);
            const std::string why = sndfile_message(sf_strerror(nullptr));
            lock.unlock();
            if (code == SF_ERR_UNRECOGNISED_FORMAT) {
                std::string msg = "not a recognised audio format";
                if (has_raw_extension(path))
                    msg += "; headerless PCM needs --raw-format ENCODING:RATE:CHANNELS, e.g. s16le:16000:1";
                throw Failure(ErrorCode::unsupported_format, msg);
            }
            if (code == SF_ERR_UNSUPPORTED_ENCODING) throw Failure(ErrorCode::unsupported_format, why);
            throw Failure(ErrorCode::bad_header, why);
        }
        // Some containers (e.g. WAV with a float subtype) store values beyond [-1, 1]; keep them as they are
        // but never let libsndfile rescale integer data differently per file.
        sf_command(file, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
        return file;
    }

    ~SndfileSource() override {
        if (file_ != nullptr) sf_close(file_);
    }
    SndfileSource(const SndfileSource&) = delete;
    SndfileSource& operator=(const SndfileSource&) = delete;

    std::int64_t read(float* dst, std::int64_t frames) override {
        const sf_count_t got = sf_readf_float(file_, dst, frames);
        if (got < frames) {
            const int code = sf_error(file_);
            if (code != SF_ERR_NO_ERROR)
                throw Failure(ErrorCode::read_failed, "decoding failed at frame " + std::to_string(position_ + got) +
                                                          ": " + sndfile_message(sf_strerror(file_)));
        }
        position_ += got;
        return got;
    }

    bool seek(std::int64_t frame) override {
        if (frame == position_) return true;
        if (!seekable_) return false;
        if (reopen_to_seek_ && position_ != 0) {
            SF_INFO info{};
            SNDFILE* fresh = open_file(path_, raw_, &info);
            sf_close(file_);
            file_ = fresh;
            position_ = 0;
            if (frame == 0) return true;
        }
        if (sf_seek(file_, frame, SEEK_SET) != frame) return false;
        position_ = frame;
        return true;
    }

    [[nodiscard]] bool can_seek() const override { return seekable_; }
    [[nodiscard]] std::int64_t announced_frames() const override { return announced_; }
    /// An MPEG audio file (MP3): its length may be an estimate (see MpegSource).
    [[nodiscard]] bool is_mpeg() const noexcept { return mpeg_; }

private:
    SNDFILE* file_ = nullptr;
    std::string path_;
    std::optional<RawFormat> raw_;
    std::int64_t announced_ = -1;
    bool seekable_ = false;
    bool reopen_to_seek_ = false;
    bool mpeg_ = false;
};

class MemorySource final : public AudioSource {
public:
    explicit MemorySource(const Input& input) : input_(input) {
        check_rate(input.sample_rate_hz);
        check_too_many_channels(input.channels);
        // A host's layout mistakes: no header is involved, so bad_header would mislead.
        if (input.channels < 1)
            throw Failure(ErrorCode::bad_layout, "in-memory pcm has " + std::to_string(input.channels) +
                                                     " channels; it needs 1 to " + std::to_string(kMaxChannels));
        if (input.samples.size() % static_cast<std::size_t>(input.channels) != 0)
            throw Failure(ErrorCode::bad_layout, "in-memory pcm has " + std::to_string(input.samples.size()) +
                                                     " samples, not a whole number of frames of " +
                                                     std::to_string(input.channels) + " channels");
        rate_ = input.sample_rate_hz;
        channels_ = input.channels;
    }

    std::int64_t read(float* dst, std::int64_t frames) override {
        const auto ch = static_cast<std::int64_t>(channels_);
        const std::int64_t n = std::max<std::int64_t>(0, std::min(frames, total() - position_));
        std::copy_n(input_.samples.data() + position_ * ch, n * ch, dst);
        position_ += n;
        return n;
    }

    bool seek(std::int64_t frame) override {
        if (frame < 0 || frame > total()) return false;
        position_ = frame;
        return true;
    }

    [[nodiscard]] bool can_seek() const override { return true; }
    [[nodiscard]] std::int64_t announced_frames() const override { return total(); }

private:
    [[nodiscard]] std::int64_t total() const {
        return static_cast<std::int64_t>(input_.samples.size()) / channels_;
    }
    const Input& input_;
};

/// A pipe (standard input) read with libsndfile through virtual I/O: the format is found from the first
/// bytes as for a file, then frames are read as they arrive. libsndfile seeks while it reads a header, so the
/// first kHeadBytes are kept and seeks back within them work; a seek ahead of what has come is refused. A read waits until libsndfile's
/// request is filled, the data ends, or `stop` is set while it waits.
class PipeSource final : public AudioSource {
public:
    PipeSource(int fd, const std::optional<RawFormat>& raw, const std::atomic<bool>* stop) : fd_(fd), stop_(stop) {
        SF_INFO info{};
        if (raw) {
            info.samplerate = raw->sample_rate_hz;
            info.channels = raw->channels;
            info.format = SF_FORMAT_RAW | raw_subformat(raw->encoding) | SF_ENDIAN_LITTLE;
        }
        SF_VIRTUAL_IO io{};
        io.get_filelen = [](void*) -> sf_count_t { return SF_COUNT_MAX / 2; };  // unknown: "very long"
        io.seek = [](sf_count_t offset, int whence, void* self) { return static_cast<PipeSource*>(self)->seek_bytes(offset, whence); };
        io.read = [](void* dst, sf_count_t n, void* self) { return static_cast<PipeSource*>(self)->read_bytes(dst, n); };
        io.write = [](const void*, sf_count_t, void*) -> sf_count_t { return 0; };
        io.tell = [](void* self) -> sf_count_t { return static_cast<PipeSource*>(self)->pos_; };
        file_ = sf_open_virtual(&io, SFM_READ, &info, this);
        if (file_ == nullptr) {
            if (error_ != 0) throw Failure(ErrorCode::read_failed, std::string("cannot read: ") + std::strerror(error_));
            if (consumed_ == 0) throw Failure(ErrorCode::empty_file, "no data came through the pipe");
            const int code = sf_error(nullptr);
            if (code == SF_ERR_UNRECOGNISED_FORMAT)
                throw Failure(ErrorCode::unsupported_format,
                              "not a recognised audio format (WAV, FLAC, Ogg and other libsndfile formats are read from a "
                              "pipe; headerless PCM needs --raw-format ENCODING:RATE:CHANNELS, e.g. s16le:16000:1)");
            throw Failure(code == SF_ERR_UNSUPPORTED_ENCODING ? ErrorCode::unsupported_format : ErrorCode::bad_header,
                          sndfile_message(sf_strerror(nullptr)));
        }
        try {
            check_header(info);
        } catch (...) {
            sf_close(file_);
            throw;
        }
        sf_command(file_, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
        rate_ = info.samplerate;
        channels_ = info.channels;
        head_.shrink_to_fit();
    }
    ~PipeSource() override { sf_close(file_); }
    PipeSource(const PipeSource&) = delete;
    PipeSource& operator=(const PipeSource&) = delete;

    std::int64_t read(float* dst, std::int64_t frames) override {
        const sf_count_t got = sf_readf_float(file_, dst, frames);
        if (error_ != 0)
            throw Failure(ErrorCode::read_failed, "reading failed at frame " + std::to_string(position_ + got) + ": " +
                                                      std::strerror(error_));
        if (got < frames && sf_error(file_) != SF_ERR_NO_ERROR)
            throw Failure(ErrorCode::read_failed, "decoding failed at frame " + std::to_string(position_ + got) + ": " +
                                                      sndfile_message(sf_strerror(file_)));
        position_ += got;
        return got;
    }
    bool seek(std::int64_t frame) override { return frame == position_; }
    [[nodiscard]] bool can_seek() const override { return false; }
    [[nodiscard]] std::int64_t announced_frames() const override { return -1; }

private:
    static constexpr sf_count_t kHeadBytes = 1 << 20;

    /// Reads up to `n` bytes from the pipe, waiting for all of them unless the data ends or `stop` is set.
    sf_count_t fill(char* dst, sf_count_t n) {
        sf_count_t got = 0;
        while (got < n && !ended_) {
            const ssize_t r = ::read(fd_, dst + got, static_cast<std::size_t>(n - got));
            if (r > 0) {
                got += r;
            } else if (r == 0) {
                ended_ = true;
            } else if (errno == EINTR) {
                if (stop_ != nullptr && stop_->load()) ended_ = true;
            } else {
                error_ = errno;
                ended_ = true;
            }
        }
        // Keep the head, so that a header reader can go back into it.
        if (consumed_ < kHeadBytes && static_cast<sf_count_t>(head_.size()) == consumed_) {
            const sf_count_t keep = std::min(got, kHeadBytes - consumed_);
            head_.insert(head_.end(), dst, dst + keep);
        }
        consumed_ += got;
        return got;
    }

    sf_count_t read_bytes(void* dst, sf_count_t n) {
        char* out = static_cast<char*>(dst);
        sf_count_t done = 0;
        if (pos_ < consumed_) {  // inside the kept head (seek_bytes allows nothing else)
            done = std::min(n, consumed_ - pos_);
            std::memcpy(out, head_.data() + pos_, static_cast<std::size_t>(done));
        }
        if (done < n) done += fill(out + done, n - done);
        pos_ += done;
        return done;
    }

    sf_count_t seek_bytes(sf_count_t offset, int whence) {
        sf_count_t target = offset;
        if (whence == SEEK_CUR) target = pos_ + offset;
        else if (whence == SEEK_END) return -1;
        if (target < 0) return -1;
        if (target <= consumed_) {
            // Back into what was read: only where every byte was kept.
            if (target < consumed_ && static_cast<sf_count_t>(head_.size()) != consumed_) return -1;
            pos_ = target;
            return pos_;
        }
        // Past what has come: refused. Some header readers jump over the audio to look for chunks after it
        // (libsndfile's WAV reader does when it may seek); obliging would read the whole stream before the
        // first sample. Refused, they go on from the start of the audio.
        return -1;
    }

    int fd_;
    const std::atomic<bool>* stop_;
    SNDFILE* file_ = nullptr;
    std::vector<char> head_;   // the first bytes of the pipe, while all of them are kept
    sf_count_t consumed_ = 0;  // bytes taken from the pipe
    sf_count_t pos_ = 0;       // libsndfile's position
    bool ended_ = false;
    int error_ = 0;
};

}  // namespace

std::unique_ptr<AudioSource> AudioSource::open_pipe(int fd, const std::optional<RawFormat>& raw_format,
                                                    const std::atomic<bool>* stop) {
    return std::make_unique<PipeSource>(fd, raw_format, stop);
}

namespace {

/// An MPEG audio file (MP3) whose length libsndfile can only estimate. Without a Xing/Info frame, libsndfile
/// 1.2.0 takes the length from the first frame's bitrate and never reads past it, so most of a variable-bitrate
/// file could go unread (docs/robustness.md: a 30-min file read as 804.8 s). libmpg123, which libsndfile
/// itself decodes MP3 with, scans such a stream for its true length and then decodes and seeks it exactly.
class MpegSource final : public AudioSource {
public:
    /// The file through libmpg123 when its length is only an estimate; null when the length is exact (a Xing,
    /// Info or VBRI frame says it) and libsndfile reads the file whole, or when libmpg123 cannot open it.
    static std::unique_ptr<AudioSource> open_if_inexact(const std::string& path) {
        if (has_length_frame(path)) return nullptr;
        auto source = std::unique_ptr<MpegSource>(new MpegSource());
        if (!source->open(path)) return nullptr;
        // libmpg123 says its positions are accurate here even without the frame; only the scan makes them so.
        if (mpg123_scan(source->h_) != MPG123_OK) return nullptr;
        const off_t length = mpg123_length(source->h_);
        if (length <= 0) return nullptr;
        source->announced_ = static_cast<std::int64_t>(length);
        return source;
    }

    ~MpegSource() override {
        if (h_ != nullptr) {
            mpg123_close(h_);
            mpg123_delete(h_);
        }
    }
    MpegSource(const MpegSource&) = delete;
    MpegSource& operator=(const MpegSource&) = delete;

    std::int64_t read(float* dst, std::int64_t frames) override {
        const std::size_t frame_bytes = sizeof(float) * static_cast<std::size_t>(channels_);
        std::size_t wanted = static_cast<std::size_t>(frames) * frame_bytes, got = 0;
        while (got < wanted) {
            std::size_t done = 0;
            const int rc = mpg123_read(h_, reinterpret_cast<unsigned char*>(dst) + got, wanted - got, &done);
            got += done;
            if (rc == MPG123_DONE) break;
            if (rc == MPG123_NEW_FORMAT || (rc == MPG123_OK && done > 0)) continue;
            if (rc != MPG123_OK)
                throw Failure(ErrorCode::read_failed, "decoding failed at frame " +
                                                          std::to_string(position_ + static_cast<std::int64_t>(got / frame_bytes)) +
                                                          ": " + mpg123_strerror(h_));
            break;  // MPG123_OK with nothing more
        }
        const auto n = static_cast<std::int64_t>(got / frame_bytes);
        position_ += n;
        return n;
    }

    bool seek(std::int64_t frame) override {
        if (frame == position_) return true;
        if (mpg123_seek(h_, static_cast<off_t>(frame), SEEK_SET) != static_cast<off_t>(frame)) return false;
        position_ = frame;
        return true;
    }

    [[nodiscard]] bool can_seek() const override { return true; }  // the scan made positions exact
    [[nodiscard]] std::int64_t announced_frames() const override { return announced_; }

private:
    MpegSource() = default;

    /// Whether the first MPEG frame of `path` is a Xing, Info or VBRI frame, which gives the exact length
    /// (after an ID3v2 tag, if any). Reads at most 4 KiB after the tag.
    static bool has_length_frame(const std::string& path) {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr) return false;
        unsigned char b[4096];
        std::size_t n = std::fread(b, 1, 10, f);
        long skip = 0;
        if (n == 10 && b[0] == 'I' && b[1] == 'D' && b[2] == '3') {  // ID3v2: a 28-bit size in 4 x 7 bits
            skip = 10 + ((b[6] & 0x7f) << 21 | (b[7] & 0x7f) << 14 | (b[8] & 0x7f) << 7 | (b[9] & 0x7f));
            if ((b[5] & 0x10) != 0) skip += 10;  // a footer
        }
        n = std::fseek(f, skip, SEEK_SET) == 0 ? std::fread(b, 1, sizeof b, f) : 0;
        std::fclose(f);
        for (std::size_t i = 0; i + 4 < n; ++i) {
            if (b[i] != 0xff || (b[i + 1] & 0xe0) != 0xe0) continue;  // the first frame's sync
            // Xing/Info sits after the side information (9 to 32 bytes), VBRI 32 bytes after the header.
            const std::string_view frame(reinterpret_cast<const char*>(b) + i, std::min<std::size_t>(n - i, 64));
            return frame.find("Xing") != std::string_view::npos || frame.find("Info") != std::string_view::npos ||
                   frame.find("VBRI") != std::string_view::npos;
        }
        return false;
    }

    bool open(const std::string& path) {
        static const int init = mpg123_init();  // a no-op since libmpg123 1.27, needed before it
        if (init != MPG123_OK) return false;
        int err = MPG123_OK;
        h_ = mpg123_new(nullptr, &err);
        if (h_ == nullptr) return false;
        mpg123_param(h_, MPG123_ADD_FLAGS, MPG123_QUIET, 0);
        // 32-bit float output at every rate the decoder can give, mono or stereo as the stream is.
        mpg123_format_none(h_);
        const long* rates = nullptr;
        std::size_t n_rates = 0;
        mpg123_rates(&rates, &n_rates);
        for (std::size_t i = 0; i < n_rates; ++i) mpg123_format(h_, rates[i], MPG123_MONO | MPG123_STEREO, MPG123_ENC_FLOAT_32);
        if (mpg123_open(h_, path.c_str()) != MPG123_OK) return false;
        long rate = 0;
        int channels = 0, encoding = 0;
        if (mpg123_getformat(h_, &rate, &channels, &encoding) != MPG123_OK || encoding != MPG123_ENC_FLOAT_32) return false;
        rate_ = static_cast<int>(rate);
        channels_ = channels;
        return true;
    }

    mpg123_handle* h_ = nullptr;
    std::int64_t announced_ = -1;
};

}  // namespace

std::unique_ptr<AudioSource> AudioSource::open(const Input& input, const std::optional<RawFormat>& raw_format) {
    if (input.in_memory) return std::make_unique<MemorySource>(input);
    auto source = std::make_unique<SndfileSource>(input.name, raw_format);  // validates the file, names problems
    if (source->is_mpeg())
        if (auto scanned = MpegSource::open_if_inexact(input.name)) {
            // The same stream: libsndfile checked its rate and channels already.
            if (scanned->rate_hz() == source->rate_hz() && scanned->channels() == source->channels()) return scanned;
        }
    return source;
}

struct Resampler::Impl {
    soxr_t soxr = nullptr;
    double ratio = 1.0;
};

Resampler::Resampler(int from_hz, int to_hz) : impl_(std::make_unique<Impl>()) {
    impl_->ratio = static_cast<double>(to_hz) / from_hz;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    // One thread: libsoxr may otherwise start an OpenMP team of its own.
    const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
    soxr_error_t err = nullptr;
    impl_->soxr = soxr_create(from_hz, to_hz, 1, &err, &io, &quality, &runtime);
    if (err != nullptr) throw Failure(ErrorCode::internal, std::string("cannot create resampler: ") + err);
}

Resampler::~Resampler() { soxr_delete(impl_->soxr); }

void Resampler::clear() {
    if (const soxr_error_t err = soxr_clear(impl_->soxr); err != nullptr)
        throw Failure(ErrorCode::internal, std::string("cannot reset resampler: ") + err);
}

void Resampler::process(const float* in, std::size_t n, std::vector<float>& out) {
    std::size_t offset = 0;
    for (;;) {
        const std::size_t room = static_cast<std::size_t>(std::ceil((n - offset) * impl_->ratio)) + 64;
        const std::size_t base = out.size();
        out.resize(base + room);
        std::size_t used = 0;
        std::size_t made = 0;
        const soxr_error_t err = soxr_process(impl_->soxr, n == 0 ? nullptr : in + offset, n - offset, &used,
                                              out.data() + base, room, &made);
        if (err != nullptr) throw Failure(ErrorCode::internal, std::string("resampler failed: ") + err);
        out.resize(base + made);
        offset += used;
        // Input fully consumed and the output buffer was not the limit: done.
        if (offset >= n && made < room) return;
    }
}

std::int64_t resampled_length(std::int64_t frames, int from_hz, int to_hz) noexcept {
    if (from_hz == to_hz) return frames;
    return std::llround(static_cast<double>(frames) * to_hz / from_hz);
}

std::int64_t resampler_preroll_frames(int from_hz, int to_hz) noexcept {
    if (from_hz == to_hz) return 0;
    // libsoxr's HQ filter spans more input samples the more it decimates. Measured with a chunk decoded
    // after a pre-roll against the one-pass output: 256 frames suffice up to 2:1 and 4096 are needed at
    // 48:1 (768 kHz to 16 kHz); this formula keeps at least twice the margin everywhere.
    const std::int64_t decimation = (from_hz + to_hz - 1) / to_hz;
    return 1024 + 256 * decimation;
}

void downmix(const float* in, std::int64_t frames, int channels, std::int64_t first_frame, float* mono) {
    const float scale = 1.0f / static_cast<float>(channels);
    for (std::int64_t f = 0; f < frames; ++f) {
        float sum = 0.0f;
        for (int c = 0; c < channels; ++c) {
            const float v = in[f * channels + c];
            // One comparison for the hot loop: NaN fails it too, and reject_sample tells the cases apart.
            if (!(std::fabs(v) <= kMaxSampleMagnitude)) reject_sample(v, first_frame + f);
            sum += v;
        }
        mono[f] = sum * scale;
    }
}

Decoder::Decoder(const Input& input, int target_rate_hz, const std::optional<RawFormat>& raw_format)
    : Decoder(AudioSource::open(input, raw_format), target_rate_hz) {}

Decoder::Decoder(std::unique_ptr<AudioSource> source, int target_rate_hz) : source_(std::move(source)) {
    const int rate = source_->rate_hz();
    if (rate != target_rate_hz) resampler_ = std::make_unique<Resampler>(rate, target_rate_hz);
    if (const std::int64_t frames = source_->announced_frames(); frames >= 0)
        announced_samples_ = resampled_length(frames, rate, target_rate_hz);
    frames_read_ = source_->position();
    interleaved_.resize(static_cast<std::size_t>(kChunkFrames * source_->channels()));
    mono_.resize(static_cast<std::size_t>(kChunkFrames));
}

Decoder::~Decoder() = default;

bool Decoder::read_chunk(std::vector<float>& out) {
    if (drained_) return false;
    const std::int64_t got = source_->read(interleaved_.data(), kChunkFrames);
    if (got == 0) {
        drained_ = true;
        if (!resampler_) return false;
        const std::size_t before = out.size();
        resampler_->process(nullptr, 0, out);
        return out.size() > before;
    }
    downmix(interleaved_.data(), got, source_->channels(), frames_read_, mono_.data());
    frames_read_ += got;
    if (resampler_)
        resampler_->process(mono_.data(), static_cast<std::size_t>(got), out);
    else
        out.insert(out.end(), mono_.begin(), mono_.begin() + got);
    return true;
}

DecodedRange decode_range(AudioSource& source, int target_rate_hz, std::int64_t first, std::int64_t last,
                          std::int64_t end_frame, std::vector<float>& out, RangeScratch& scratch) {
    const int from = source.rate_hz();
    const int to = target_rate_hz;
    const int channels = source.channels();
    // Source frame s maps to model-rate sample s * q / p. Start the resampler at a multiple of p, so that
    // its first output is a whole model-rate sample, at least the pre-roll before the span.
    const std::int64_t g = std::gcd(from, to);
    const std::int64_t p = from / g, q = to / g;
    const std::int64_t roll = resampler_preroll_frames(from, to);
    const std::int64_t want_from = std::max<std::int64_t>(0, first * p / q - roll);
    const std::int64_t s0 = want_from / p * p;
    const std::int64_t t0 = s0 / p * q;
    // Read through the pre-roll after the span (the resampler holds output back by its filter length), but
    // never past the announced end: there the one-pass decoder would have flushed.
    const std::int64_t s1 = std::min(end_frame, (last * p + q - 1) / q + roll + 1);

    out.assign(static_cast<std::size_t>(std::max<std::int64_t>(0, last - first)), 0.0f);
    DecodedRange result;
    if (s0 >= end_frame) return result;
    if (!source.seek(s0))
        throw Failure(ErrorCode::read_failed, "cannot seek to frame " + std::to_string(s0));

    const bool resample = from != to;
    if (resample && (!scratch.resampler || scratch.from_hz != from || scratch.to_hz != to)) {
        scratch.resampler = std::make_unique<Resampler>(from, to);
        scratch.from_hz = from;
        scratch.to_hz = to;
    } else if (resample) {
        scratch.resampler->clear();
    }
    scratch.interleaved.resize(static_cast<std::size_t>(kChunkFrames * channels));
    scratch.mono.resize(static_cast<std::size_t>(kChunkFrames));
    std::vector<float>& produced = scratch.resampled;

    std::int64_t next = t0;   // model-rate index of the next output sample
    std::int64_t pos = s0;    // source frame of the next read
    bool ended = false;
    // Keeps the produced samples that fall inside [first, last).
    auto keep = [&](const float* x, std::int64_t n) {
        const std::int64_t lo = std::max(next, first), hi = std::min(next + n, last);
        if (hi > lo) std::copy(x + (lo - next), x + (hi - next), out.begin() + (lo - first));
        next += n;
    };
    while (pos < s1) {
        const std::int64_t want = std::min<std::int64_t>(kChunkFrames, s1 - pos);
        const std::int64_t got = source.read(scratch.interleaved.data(), want);
        if (got == 0) {
            ended = true;
            break;
        }
        downmix(scratch.interleaved.data(), got, channels, pos, scratch.mono.data());
        pos += got;
        if (resample) {
            produced.clear();
            scratch.resampler->process(scratch.mono.data(), static_cast<std::size_t>(got), produced);
            keep(produced.data(), static_cast<std::int64_t>(produced.size()));
        } else {
            keep(scratch.mono.data(), got);
        }
        if (got < want) {
            ended = true;
            break;
        }
    }
    const bool at_end = ended || pos >= end_frame;
    if (resample && at_end) {
        produced.clear();
        scratch.resampler->process(nullptr, 0, produced);
        keep(produced.data(), static_cast<std::int64_t>(produced.size()));
    }
    // The stream's length: every sample up to `last` when the data goes on, else what the end gives.
    std::int64_t stream_end = last;
    if (at_end) stream_end = std::min(last, resampled_length(pos, from, to));
    result.samples = std::max<std::int64_t>(0, stream_end - first);
    out.resize(static_cast<std::size_t>(result.samples));
    if (ended && pos < end_frame) {
        result.reached_end = true;
        result.source_frames = pos;
    }
    return result;
}

}  // namespace arpipe
