// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Greedy CTC decoding, torch-free: a ctc model's per-frame posteriors become tokens (the best token of each
// frame, repeats collapsed, blanks dropped), tokens become words (split at the word separator, or one word
// per token when the model has none), and words become utterances (split at pauses longer than the
// utterance gap). Runs in the serial output filter and in streams, on the frames each window owns
// (for_each_step in postprocess.h), stitched in time order: the decoder never sees a window boundary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arpipe/engine.h"
#include "arpipe/result.h"

namespace arpipe {

/// Frame times of ctc models are rounded to this many ticks per second (a microsecond) before they are
/// compared or stored: the same frame reached from two different windows then has the very same time, so
/// no pause comparison can differ by a rounding error with the windowing.
inline constexpr double kCtcTimeTicksPerSecond = 1e6;

/// The index of the largest of `n` values; ties go to the lowest index.
[[nodiscard]] int argmax(const float* values, std::int64_t n) noexcept;

class CtcDecoder {
public:
    /// For a ctc model's vocabulary, blank and separator (`info`); utterances split at pauses longer than
    /// `utterance_gap_seconds`.
    CtcDecoder(const ModelInfo& info, double utterance_gap_seconds);

    /// Forgets everything (a new input).
    void reset();

    /// One frame over [t0, t1) with one posterior per token (summing to 1). Frames must come in time order.
    /// Appends the utterances that became final to `ready` (file and file_index left for the caller).
    void push(double t0, double t1, const float* posteriors, std::vector<Transcript>& ready);

    /// The end of the input: appends the utterance still open, if it has a word.
    void finish(std::vector<Transcript>& ready);

private:
    void close_token();
    void close_word();
    void close_utterance(std::vector<Transcript>& ready);
    [[nodiscard]] bool has_content() const noexcept { return token_ >= 0 || !word_.word.empty() || !words_.empty(); }

    std::vector<std::string> labels_;
    int blank_ = 0;
    int separator_ = -1;  // -1: none, every token is a word
    double gap_ = 0;

    int previous_ = -1;  // the previous frame's best token (-1 at the start)
    // The token being read: its index (-1 none), first frame's start, last frame's end, posterior sum, frames.
    int token_ = -1;
    double token_start_ = 0, token_end_ = 0;
    double token_sum_ = 0;
    std::int64_t token_frames_ = 0;
    // The word being built from closed tokens.
    Word word_;
    double word_sum_ = 0;
    std::int64_t word_frames_ = 0;
    std::vector<Word> words_;   // closed words of the current utterance
    double last_end_ = 0;       // end of the last token read (for the pause)
};

}  // namespace arpipe
