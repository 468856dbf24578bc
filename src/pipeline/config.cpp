// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <optional>
#include <sstream>
#include <string>

#include "arpipe/config.h"
#include "arpipe/version.h"
#include "stages/decode.h"

namespace arpipe {
namespace {

/// One numeric setting with a fixed range, and how to read it from a Config (nullopt when it is not in use,
/// as the raw-format fields are without a raw format).
struct CheckedSetting {
    SettingRange range;
    std::optional<double> (*get)(const Config&);
};

// The one table of fixed ranges: validate() checks it, and front ends take their checks from setting_range().
const CheckedSetting kSettings[] = {
    {{"parallel.threads", 0, 1024}, [](const Config& c) -> std::optional<double> { return c.parallel.threads; }},
    {{"parallel.tokens", 0, 65536}, [](const Config& c) -> std::optional<double> { return c.parallel.tokens; }},
    {{"parallel.batch", 1, 1024}, [](const Config& c) -> std::optional<double> { return c.parallel.batch; }},
    {{"decode.chunk_seconds", 1, 3600}, [](const Config& c) -> std::optional<double> { return c.decode.chunk_seconds; }},
    {{"post.top_k", 0, 4096}, [](const Config& c) -> std::optional<double> { return c.post.top_k; }},
    {{"post.threshold", 0, 1, true}, [](const Config& c) -> std::optional<double> { return c.post.threshold; }},
    {{"post.min_event_seconds", 0, 3600},
     [](const Config& c) -> std::optional<double> { return c.post.min_event_seconds; }},
    {{"post.min_gap_seconds", 0, 3600}, [](const Config& c) -> std::optional<double> { return c.post.min_gap_seconds; }},
    {{"post.utterance_gap_seconds", 0, 3600, true},
     [](const Config& c) -> std::optional<double> { return c.post.utterance_gap_seconds; }},
    {{"post.word_penalty", -1, 1000}, [](const Config& c) -> std::optional<double> { return c.post.word_penalty; }},
    {{"post.lm_weight", -1, 100}, [](const Config& c) -> std::optional<double> { return c.post.lm_weight; }},
    {{"post.beam_width", 1, 4096}, [](const Config& c) -> std::optional<double> { return c.post.beam_width; }},
    {{"max_memory_bytes", -1, 1125899906842624.0 /* 2^50 */},
     [](const Config& c) -> std::optional<double> { return static_cast<double>(c.max_memory_bytes); }},
    {{"raw_format.sample_rate_hz", kMinSampleRateHz, kMaxSampleRateHz},
     [](const Config& c) -> std::optional<double> {
         if (!c.raw_format) return std::nullopt;
         return c.raw_format->sample_rate_hz;
     }},
    {{"raw_format.channels", 1, kMaxChannels},
     [](const Config& c) -> std::optional<double> {
         if (!c.raw_format) return std::nullopt;
         return c.raw_format->channels;
     }},
};

std::string out_of_range(std::string_view field, double value, const std::string& range) {
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

std::string SettingRange::text() const {
    std::ostringstream os;
    os << (min_exclusive ? '(' : '[') << min << ", " << max << ']';
    return os.str();
}

const SettingRange* setting_range(std::string_view field) noexcept {
    for (const CheckedSetting& s : kSettings)
        if (field == s.range.field) return &s.range;
    return nullptr;
}

std::string Config::validate() const {
    for (const CheckedSetting& s : kSettings) {
        const std::optional<double> value = s.get(*this);
        // !contains also catches NaN.
        if (value && !s.range.contains(*value)) return out_of_range(s.range.field, *value, s.range.text());
    }
    if (std::isnan(post.off_threshold))
        return "post.off_threshold = nan is not a number (use a value in [0, post.threshold], or < 0 for automatic)";
    if (post.off_threshold >= 0.0f && post.off_threshold > post.threshold)
        return out_of_range("post.off_threshold", post.off_threshold, "[0, post.threshold] (or < 0 for automatic)");
    if (post.lexicon.size() > kMaxLexiconWords)
        return "post.lexicon has " + std::to_string(post.lexicon.size()) + " words, more than " +
               std::to_string(kMaxLexiconWords);
    return {};
}

ParseResult<RawFormat> parse_raw_format(std::string_view text) {
    const std::string whole(text);
    RawFormat f;
    std::istringstream is(whole);
    std::string enc, rate, ch;
    if (!std::getline(is, enc, ':') || !std::getline(is, rate, ':') || !std::getline(is, ch) || ch.find(':') != std::string::npos)
        return {std::nullopt, "raw format \"" + whole + "\" is not ENCODING:RATE:CHANNELS, e.g. s16le:16000:1"};
    if (enc == "s16le") f.encoding = RawFormat::Encoding::s16le;
    else if (enc == "s32le") f.encoding = RawFormat::Encoding::s32le;
    else if (enc == "f32le") f.encoding = RawFormat::Encoding::f32le;
    else if (enc == "u8") f.encoding = RawFormat::Encoding::u8;
    else return {std::nullopt, "raw encoding \"" + enc + "\" is not one of: s16le, s32le, f32le, u8"};
    try {
        std::size_t used = 0;
        f.sample_rate_hz = std::stoi(rate, &used);
        if (used != rate.size()) throw std::invalid_argument(rate);
        f.channels = std::stoi(ch, &used);
        if (used != ch.size()) throw std::invalid_argument(ch);
    } catch (const std::exception&) {
        return {std::nullopt, "raw format \"" + whole + "\": rate and channels must be integers"};
    }
    Config probe;
    probe.raw_format = f;
    if (std::string why = probe.validate(); !why.empty()) return {std::nullopt, why};
    return {f, {}};
}

}  // namespace arpipe
