// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "decode.h"

#include <fcntl.h>
#include <sndfile.h>
#include <soxr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
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

void check_layout(int rate, int channels) {
    if (rate < kMinSampleRateHz || rate > kMaxSampleRateHz)
        throw Failure(ErrorCode::bad_sample_rate, "sample rate " + std::to_string(rate) + " Hz is not in [" +
                                                      std::to_string(kMinSampleRateHz) + ", " +
                                                      std::to_string(kMaxSampleRateHz) + "] Hz");
    if (channels < 1 || channels > kMaxChannels)
        throw Failure(ErrorCode::too_many_channels,
                      "channel count " + std::to_string(channels) + " is not in [1, " + std::to_string(kMaxChannels) + "]");
}

}  // namespace

class Decoder::Source {
public:
    virtual ~Source() = default;
    /// Reads up to `frames` interleaved frames; returns frames read (0 at end).
    virtual std::int64_t read(float* dst, std::int64_t frames) = 0;
    /// Frames the header announces, or -1.
    [[nodiscard]] virtual std::int64_t announced_frames() const = 0;
};

namespace {

class SndfileSource final : public Decoder::Source {
public:
    SndfileSource(const std::string& path, const std::optional<RawFormat>& raw, int* rate, int* channels) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::file_status st = fs::status(path, ec);
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

        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (err == EACCES || err == EPERM) throw Failure(ErrorCode::permission_denied, "permission denied");
            throw Failure(ErrorCode::not_found, std::string("cannot open: ") + std::strerror(err));
        }
        if (::lseek(fd, 0, SEEK_END) == 0) {
            ::close(fd);
            throw Failure(ErrorCode::empty_file, "file is empty (0 bytes)");
        }
        ::lseek(fd, 0, SEEK_SET);

        SF_INFO info{};
        const bool as_raw = raw && has_raw_extension(path);
        if (as_raw) {
            info.samplerate = raw->sample_rate_hz;
            info.channels = raw->channels;
            info.format = SF_FORMAT_RAW | raw_subformat(raw->encoding) | SF_ENDIAN_LITTLE;
        }
        file_ = sf_open_fd(fd, SFM_READ, &info, /*close_desc=*/SF_TRUE);
        if (file_ == nullptr) {
            const int code = sf_error(nullptr);
            const std::string why = sndfile_message(sf_strerror(nullptr));
            ::close(fd);  // libsndfile does not take ownership when the open fails
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
        sf_command(file_, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
        try {
            check_layout(info.samplerate, info.channels);
        } catch (...) {
            // The destructor does not run for a constructor that throws: close here (found by the fuzzer).
            sf_close(file_);
            throw;
        }
        *rate = info.samplerate;
        *channels = info.channels;
        announced_ = info.frames > 0 && info.frames < SF_COUNT_MAX ? static_cast<std::int64_t>(info.frames) : -1;
    }

    ~SndfileSource() override {
        if (file_ != nullptr) sf_close(file_);
    }

    std::int64_t read(float* dst, std::int64_t frames) override {
        const sf_count_t got = sf_readf_float(file_, dst, frames);
        if (got < frames) {
            const int code = sf_error(file_);
            if (code != SF_ERR_NO_ERROR)
                throw Failure(ErrorCode::read_failed, "decoding failed: " + sndfile_message(sf_strerror(file_)));
        }
        return got;
    }

    [[nodiscard]] std::int64_t announced_frames() const override { return announced_; }

private:
    SNDFILE* file_ = nullptr;
    std::int64_t announced_ = -1;
};

class MemorySource final : public Decoder::Source {
public:
    MemorySource(const Input& input, int* rate, int* channels) : input_(input) {
        check_layout(input.sample_rate_hz, input.channels);
        if (input.samples.size() % static_cast<std::size_t>(input.channels) != 0)
            throw Failure(ErrorCode::bad_header, "sample count " + std::to_string(input.samples.size()) +
                                                     " is not a multiple of the channel count " +
                                                     std::to_string(input.channels));
        *rate = input.sample_rate_hz;
        *channels = input.channels;
    }

    std::int64_t read(float* dst, std::int64_t frames) override {
        const auto ch = static_cast<std::int64_t>(input_.channels);
        const auto total = static_cast<std::int64_t>(input_.samples.size()) / ch;
        const std::int64_t n = std::min(frames, total - pos_);
        std::copy_n(input_.samples.data() + pos_ * ch, n * ch, dst);
        pos_ += n;
        return n;
    }

    [[nodiscard]] std::int64_t announced_frames() const override {
        return static_cast<std::int64_t>(input_.samples.size()) / input_.channels;
    }

private:
    const Input& input_;
    std::int64_t pos_ = 0;
};

}  // namespace

class Decoder::Resampler {
public:
    Resampler(int from_hz, int to_hz) : ratio_(static_cast<double>(to_hz) / from_hz) {
        const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
        // One thread: libsoxr may otherwise start an OpenMP team of its own.
        const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
        soxr_error_t err = nullptr;
        soxr_ = soxr_create(from_hz, to_hz, 1, &err, &io, &quality, &runtime);
        if (err != nullptr) throw Failure(ErrorCode::internal, std::string("cannot create resampler: ") + err);
    }
    ~Resampler() { soxr_delete(soxr_); }
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    /// Resamples `n` samples (n = 0 flushes the tail) and appends the result to `out`.
    void process(const float* in, std::size_t n, std::vector<float>& out) {
        std::size_t offset = 0;
        for (;;) {
            const std::size_t room = static_cast<std::size_t>(std::ceil((n - offset) * ratio_)) + 64;
            const std::size_t base = out.size();
            out.resize(base + room);
            std::size_t used = 0;
            std::size_t made = 0;
            const soxr_error_t err =
                soxr_process(soxr_, n == 0 ? nullptr : in + offset, n - offset, &used, out.data() + base, room, &made);
            if (err != nullptr) throw Failure(ErrorCode::internal, std::string("resampler failed: ") + err);
            out.resize(base + made);
            offset += used;
            // Input fully consumed and the output buffer was not the limit: done.
            if (offset >= n && made < room) return;
        }
    }

private:
    soxr_t soxr_ = nullptr;
    double ratio_;
};

Decoder::Decoder(const Input& input, int target_rate_hz, const std::optional<RawFormat>& raw_format) {
    if (input.in_memory)
        source_ = std::make_unique<MemorySource>(input, &source_rate_, &channels_);
    else
        source_ = std::make_unique<SndfileSource>(input.name, raw_format, &source_rate_, &channels_);
    if (source_rate_ != target_rate_hz) resampler_ = std::make_unique<Resampler>(source_rate_, target_rate_hz);
    if (const std::int64_t frames = source_->announced_frames(); frames >= 0)
        announced_samples_ = std::llround(static_cast<double>(frames) * target_rate_hz / source_rate_);
    interleaved_.resize(static_cast<std::size_t>(kChunkFrames * channels_));
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
    const float* in = interleaved_.data();
    const float scale = 1.0f / static_cast<float>(channels_);
    for (std::int64_t f = 0; f < got; ++f) {
        float sum = 0.0f;
        for (int c = 0; c < channels_; ++c) {
            const float v = in[f * channels_ + c];
            if (!std::isfinite(v))
                throw Failure(ErrorCode::bad_samples, "non-finite sample value (NaN or Inf) at frame " +
                                                          std::to_string(frames_read_ + f));
            sum += v;
        }
        mono_[static_cast<std::size_t>(f)] = sum * scale;
    }
    frames_read_ += got;
    if (resampler_)
        resampler_->process(mono_.data(), static_cast<std::size_t>(got), out);
    else
        out.insert(out.end(), mono_.begin(), mono_.begin() + got);
    return true;
}

}  // namespace arpipe
