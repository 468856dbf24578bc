// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <sstream>
#include <string>

#include "arpipe/config.h"
#include "arpipe/version.h"

namespace arpipe {
namespace {

template <typename T>
std::string out_of_range(const char* field, T value, const char* range) {
    std::ostringstream os;
    os << field << " = " << value << " is not in " << range;
    return os.str();
}

}  // namespace

#define ARPIPE_STR2(x) #x
#define ARPIPE_STR(x) ARPIPE_STR2(x)
const char* version_string() noexcept {
    return ARPIPE_STR(ARPIPE_VERSION_MAJOR) "." ARPIPE_STR(ARPIPE_VERSION_MINOR) "." ARPIPE_STR(ARPIPE_VERSION_PATCH);
}

float PostConfig::effective_off_threshold() const {
    if (off_threshold >= 0.0f) return off_threshold;
    const float off = threshold - 0.15f;
    return off > 0.0f ? off : threshold / 2.0f;
}

std::string Config::validate() const {
    if (threads.threads < 0 || threads.threads > 1024) return out_of_range("threads.threads", threads.threads, "[0, 1024]");
    if (threads.tokens < 0 || threads.tokens > 65536) return out_of_range("threads.tokens", threads.tokens, "[0, 65536]");
    if (threads.batch < 1 || threads.batch > 1024) return out_of_range("threads.batch", threads.batch, "[1, 1024]");
    if (!(decode.chunk_seconds >= 1.0 && decode.chunk_seconds <= 3600.0))
        return out_of_range("decode.chunk_seconds", decode.chunk_seconds, "[1, 3600]");
    if (post.top_k < 0 || post.top_k > 4096) return out_of_range("post.top_k", post.top_k, "[0, 4096]");
    if (!(post.threshold > 0.0f && post.threshold <= 1.0f)) return out_of_range("post.threshold", post.threshold, "(0, 1]");
    if (post.off_threshold >= 0.0f && post.off_threshold > post.threshold)
        return out_of_range("post.off_threshold", post.off_threshold, "[0, post.threshold] (or < 0 for automatic)");
    if (!(post.min_event_seconds >= 0.0 && post.min_event_seconds <= 3600.0))
        return out_of_range("post.min_event_seconds", post.min_event_seconds, "[0, 3600]");
    if (!(post.min_gap_seconds >= 0.0 && post.min_gap_seconds <= 3600.0))
        return out_of_range("post.min_gap_seconds", post.min_gap_seconds, "[0, 3600]");
    if (raw_format) {
        if (raw_format->sample_rate_hz < 1000 || raw_format->sample_rate_hz > 768000)
            return out_of_range("raw_format.sample_rate_hz", raw_format->sample_rate_hz, "[1000, 768000]");
        if (raw_format->channels < 1 || raw_format->channels > 64)
            return out_of_range("raw_format.channels", raw_format->channels, "[1, 64]");
    }
    return {};
}

std::optional<RawFormat> parse_raw_format(const std::string& text, std::string* error) {
    RawFormat f;
    std::istringstream is(text);
    std::string enc, rate, ch;
    if (!std::getline(is, enc, ':') || !std::getline(is, rate, ':') || !std::getline(is, ch) || ch.find(':') != std::string::npos) {
        if (error) *error = "raw format \"" + text + "\" is not ENCODING:RATE:CHANNELS, e.g. s16le:16000:1";
        return std::nullopt;
    }
    if (enc == "s16le") f.encoding = RawFormat::Encoding::s16le;
    else if (enc == "s32le") f.encoding = RawFormat::Encoding::s32le;
    else if (enc == "f32le") f.encoding = RawFormat::Encoding::f32le;
    else if (enc == "u8") f.encoding = RawFormat::Encoding::u8;
    else {
        if (error) *error = "raw encoding \"" + enc + "\" is not one of: s16le, s32le, f32le, u8";
        return std::nullopt;
    }
    try {
        std::size_t used = 0;
        f.sample_rate_hz = std::stoi(rate, &used);
        if (used != rate.size()) throw std::invalid_argument(rate);
        f.channels = std::stoi(ch, &used);
        if (used != ch.size()) throw std::invalid_argument(ch);
    } catch (const std::exception&) {
        if (error) *error = "raw format \"" + text + "\": rate and channels must be integers";
        return std::nullopt;
    }
    Config probe;
    probe.raw_format = f;
    if (std::string why = probe.validate(); !why.empty()) {
        if (error) *error = why;
        return std::nullopt;
    }
    return f;
}

}  // namespace arpipe
