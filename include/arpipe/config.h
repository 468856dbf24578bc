// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Plain configuration structs. Every field has a default; `validate()` names the first field that is out of
// range, with its value and the allowed range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arpipe/export.h"
#include "arpipe/result.h"

namespace arpipe {

/// Severity of a log message handed to `Config::log`.
enum class LogLevel { debug, info, warn, error };

/// Receives the library's log messages. The library never prints on its own; without a callback it is silent.
using LogCallback = std::function<void(LogLevel, const std::string&)>;

/// Concurrency of one run (`Config::parallel`). All threads are TBB workers of one arena; LibTorch's own pools stay at one
/// thread (unless Config::keep_host_threading).
struct ParallelConfig {
    int threads = 0;  ///< arena size; 0 = the hardware concurrency. Range [0, 1024].
    int tokens = 0;   ///< live tokens (batches in flight); 0 = 2 x threads + 2. Range [0, 65536].
    int batch = 4;    ///< segments per token and per model call. Range [1, 1024].
};

/// How inputs are decoded. Long inputs are cut into chunks that different threads decode at once, each from its
/// own file handle after a seek; the cut depends only on the input and this setting, never on the thread count.
struct DecodeConfig {
    /// Audio per chunk (and per pipeline token), in seconds. Larger chunks cost more memory per token; smaller
    /// ones pay the seek and the resampler's pre-roll more often. Range [1, 3600].
    double chunk_seconds = 30.0;
};

/// How a ctc model's frames become words: see PostConfig::decoding.
enum class CtcDecoding { automatic, greedy, lexicon };

/// The most words a lexicon (PostConfig::lexicon, or a model's `output.lexicon`) may have.
inline constexpr std::size_t kMaxLexiconWords = 1000000;

/// How scores become events (see docs/model-contract.md, "From scores to events").
struct PostConfig {
    int top_k = 1;                   ///< labels kept per step; 0 keeps all. Range [0, 4096].
    float threshold = 0.5f;          ///< score at which an event opens. Range (0, 1].
    float off_threshold = -1.0f;     ///< score below which it closes; < 0 = threshold - 0.15. Range [0, threshold].
    double min_event_seconds = 0.0;  ///< shorter events are dropped. Range [0, 3600].
    double min_gap_seconds = 0.0;    ///< shorter gaps between events of one label are bridged. Range [0, 3600].
    /// ctc models: a pause between two words longer than this ends a transcript (an utterance) and starts
    /// the next. Range (0, 3600].
    double utterance_gap_seconds = 0.8;
    /// ctc models: how frames become words. `automatic` decodes with a lexicon when there is one (`lexicon`
    /// below, else the model's `output.lexicon`) and greedily otherwise; `greedy` ignores any lexicon;
    /// `lexicon` requires one (docs/model-contract.md, "Lexicon decoding").
    CtcDecoding decoding = CtcDecoding::automatic;
    /// ctc models: the closed vocabulary for lexicon decoding, each word spelled with the model's tokens. Not
    /// empty: replaces the model's `output.lexicon`. At most kMaxLexiconWords words; the spelling is checked
    /// when the engine loads (a `bad_config` error names the first word the model cannot spell).
    std::vector<std::string> lexicon;
    /// ctc models, lexicon decoding: nats taken off a path's score for each word it starts, so that a word
    /// the frames support is preferred to a string of short words (letters) that spell the same sounds.
    /// < 0: the model's `output.word_penalty` (0 when it has none). Range [-1, 1000].
    double word_penalty = -1;
    /// ctc models, lexicon decoding: a word language model as ARPA text (order 1 or 2: the format SRILM and
    /// KenLM write). Not empty: replaces the model's `output.language_model`. Checked when the engine loads.
    std::string language_model;
    /// ctc models, lexicon decoding: the weight of the language model's natural-log probabilities against the
    /// acoustic scores; 0 turns the language model off. < 0: the model's `output.lm_weight` (1 when it has
    /// none). Range [-1, 100].
    double lm_weight = -1;
    /// ctc models, lexicon decoding: the paths kept per frame (more: slower, and fewer search errors). Range
    /// [1, 4096].
    int beam_width = 64;

    /// The closing threshold in effect.
    [[nodiscard]] ARPIPE_API float effective_off_threshold() const;
};

/// Layout of headerless PCM input (`--raw-format`); without it, headerless files are rejected.
struct RawFormat {
    enum class Encoding { s16le, s32le, f32le, u8 };
    Encoding encoding = Encoding::s16le;
    int sample_rate_hz = 16000;  ///< Range [1000, 768000].
    int channels = 1;            ///< Range [1, 64].
};

/// Everything an engine needs. Built by hand, from the CLI, or from a host's own settings.
struct Config {
    std::string model_path;  ///< TorchScript file with an arpipe.json description; empty = bundled default.
    ParallelConfig parallel;
    DecodeConfig decode;
    PostConfig post;
    std::optional<RawFormat> raw_format;  ///< how to read headerless PCM files.
    /// Cap on the memory LibTorch's tensors may hold at once, in bytes, so that a model asking for an absurd
    /// tensor on some input gets a `model_output` error for that input instead of the kernel's OOM killer
    /// ending the process. -1 = 3/4 of the machine's memory (or of the process's cgroup limit, if smaller);
    /// 0 = no cap. The cap is process-wide: the engine loaded last sets it. Range [-1, 2^50].
    std::int64_t max_memory_bytes = -1;
    /// Leave the process's thread settings to the host. By default, Engine::load stops OpenBLAS's thread pool
    /// and sets LibTorch's inter-op threads to 1 (once per process), and every thread that runs the model
    /// (the loading thread, each worker of a run, the caller of `run`, a host arena's workers with
    /// RunOptions::use_caller_arena) gets at::set_num_threads(1) (engine.h lists every process-wide change).
    /// When true, none of these calls is made: the host's own settings stay, and so do LibTorch's defaults
    /// where the host set nothing. The memory cap (max_memory_bytes) is not affected.
    /// Cost: each worker of a run then uses its thread's intra-op count, so a run of N threads can run N
    /// OpenMP teams at once: the case study's oversubscription. Measured on 2 vCPUs, -j 2, a host that had set
    /// at::set_num_threads(2): 13-22% more wall time and 15-31% more CPU for identical records; with nothing
    /// set, no measurable cost there, as Debian's LibTorch defaults to hardware threads / 2 = 1 (more on larger
    /// machines). docs/performance.md, "Keeping the host's threading", has the numbers and the command.
    bool keep_host_threading = false;
    /// Optional; receives the library's messages, on the thread that logs (the loading thread, a run's threads),
    /// one message at a time per engine; it must not throw (docs/api.md, "Logging").
    LogCallback log;
    LogLevel log_level = LogLevel::warn;  ///< messages below this level are not produced.

    /// Empty when the config is usable, else a message like
    /// "parallel.batch = 0 is not in [1, 1024]". The fixed ranges are those of `setting_range`.
    [[nodiscard]] ARPIPE_API std::string validate() const;
};

/// The allowed range of one numeric setting, as `Config::validate()` checks it. Front ends (the CLI, a host's
/// own settings dialog) take their range checks from here, so that they cannot disagree with the library.
struct SettingRange {
    const char* field = "";  ///< the setting's path in Config, e.g. "post.threshold"
    double min = 0;
    double max = 0;
    bool min_exclusive = false;  ///< (min, max] instead of [min, max]

    [[nodiscard]] bool contains(double value) const noexcept {
        return (min_exclusive ? value > min : value >= min) && value <= max;
    }
    /// "[0, 1024]" or "(0, 1]".
    [[nodiscard]] ARPIPE_API std::string text() const;
};

/// The fixed range of `field` ("parallel.batch", "post.threshold", "raw_format.channels", ...), or null for a
/// name without one. `post.off_threshold` has none: its bound is the threshold, checked by validate().
[[nodiscard]] ARPIPE_API const SettingRange* setting_range(std::string_view field) noexcept;

/// Parses "auto", "greedy" or "lexicon" (what to_string(CtcDecoding) writes), or says why it cannot.
[[nodiscard]] ARPIPE_API ParseResult<CtcDecoding> parse_ctc_decoding(std::string_view text);

/// Parses "s16le:16000:1" (encoding:rate:channels) into a RawFormat, or says why it cannot.
[[nodiscard]] ARPIPE_API ParseResult<RawFormat> parse_raw_format(std::string_view text);

}  // namespace arpipe
