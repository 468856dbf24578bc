// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Post-processing: scores to events. `score_steps` runs in the parallel part (activation, the finite and
// [0, 1] checks, top-k), after the checks on what the model returned (its shape, or the text of what it
// raised), which live here too, torch-free; `EventTracker` runs in the serial output filter and turns
// per-step scores into events with hysteresis, minimum durations and gap bridging, emitted in start-time
// order, none of them zero-length as written.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"
#include "ctc.h"
#include "segment.h"

namespace arpipe {

/// The top-k that score_steps applies for a model under `post`: post.top_k, except for a ctc model decoded with
/// a lexicon, whose search reads every token's posterior (0: all kept).
[[nodiscard]] int effective_top_k(const ModelInfo& info, const PostConfig& post) noexcept;

/// In place over `steps` rows of `labels` raw outputs: applies the activation, then zeroes every score
/// outside the row's `top_k` best (0 keeps all). Throws Failure(model_output) on NaN/Inf in the output, and on
/// a score outside [0, 1] after the activation (only `none` can give one: the model must output
/// probabilities itself).
void score_steps(float* scores, std::int64_t steps, std::int64_t labels, Activation activation, int top_k);

/// score_steps, first copying every label's score (after the activation, before top-k) into `all` when it
/// is set: what the scores records report (RunOptions::scores, StreamOptions::scores).
void score_steps(float* scores, std::int64_t steps, std::int64_t labels, Activation activation, int top_k,
                 std::vector<float>* all);

/// The top-k part of score_steps alone: zeroes every score outside each row's `top_k` best (0 keeps all);
/// ties go to the lower label index.
void keep_top_k(float* scores, std::int64_t steps, std::int64_t labels, int top_k);

// ---- Model-output checks. Torch-free, so that the fuzz target (tests/fuzz/fuzz_model_output.cpp) runs the
// very code infer.cpp applies to every forward() result.

/// The shape every forward() call must return: [batch, labels] for a clip model, [batch, steps, labels] for
/// a frame model.
[[nodiscard]] std::vector<std::int64_t> expected_output_shape(OutputKind kind, std::int64_t batch, std::int64_t steps,
                                                              std::int64_t labels);

/// Throws Failure(model_output) naming both shapes unless `got` equals `expected` dimension for dimension
/// (the same number of values in another layout, [C, B] for [B, C], is refused: its scores would be
/// scrambled).
void check_output_shape(std::span<const std::int64_t> got, std::span<const std::int64_t> expected, OutputKind kind);

/// "[4, 2]".
[[nodiscard]] std::string shape_string(std::span<const std::int64_t> dims);

/// The one line of an exception's text worth showing for a failure inside the model's forward(): for the
/// TorchScript interpreter's report ("The following operation failed in the TorchScript interpreter.", a
/// traceback, then "builtins.ValueError: ..."), the error line after the traceback without "builtins.";
/// otherwise the first non-empty line. Control characters become spaces and the line is cut at 300 bytes.
[[nodiscard]] std::string model_error_line(std::string_view what);

/// Times are written to the millisecond (writers.cpp rounds with this constant). An event
/// whose start and end round to the same millisecond would be written as zero-length, so the tracker drops it.
inline constexpr double kTimeTicksPerSecond = 1e3;

/// An event before it gets a file name.
struct TrackedEvent {
    int label = 0;
    double start = 0, end = 0;
    float score = 0, peak = 0;
};

class EventTracker {
public:
    EventTracker(std::size_t n_labels, const PostConfig& config);

    /// Feeds one step covering [t0, t1) with `n_labels` scores; appends events that are final to `ready`.
    /// Steps must come in time order.
    void push(double t0, double t1, const float* scores, std::vector<TrackedEvent>& ready);

    /// Closes everything at the end of the input and appends the remaining events.
    void finish(std::vector<TrackedEvent>& ready);

private:
    struct Open {
        bool active = false;
        double start = 0, end = 0;
        double sum = 0;
        std::int64_t count = 0;
        float peak = 0;
    };
    void close(int label);
    /// Makes `p` a final event of `label` when it is long enough (min_event_seconds, and not zero-length once
    /// written), then clears it.
    void finalize(int label, Open& p);
    void release(double horizon, std::vector<TrackedEvent>& ready);

    PostConfig config_;
    float on_, off_;
    std::vector<Open> open_;       // the event being built, per label
    std::vector<Open> pending_;    // a closed event that a short gap may still extend, per label
    std::vector<TrackedEvent> done_;  // final, waiting for earlier-starting events to be released first
};

/// Feeds one segment's scores ([steps][labels]) to `tracker`, each step mapped to the time it speaks for, and
/// appends the events that became final to `ready`. A clip model's segment covers the hop-long stretch around
/// its centre (the first reaches back to 0, the last forward to the end of the audio); a frame model's frames
/// sit every frame hop from the segment's start, and the frames in its warm-up context (already scored by
/// the previous segment) are skipped.
void track_segment(const ModelInfo& info, std::int64_t steps, const SegmentInfo& seg, const float* scores,
                   EventTracker& tracker, std::vector<TrackedEvent>& ready);

/// The steps of one segment that track_segment feeds to the tracker, each with the time span it speaks for:
/// calls `step(t0, t1, row)` in time order. Also what the scores records (`Sink::on_scores`) report. For a
/// ctc model, the frames the segment owns under the window-middle rule, times rounded to the microsecond
/// (kCtcTimeTicksPerSecond).
void for_each_step(const ModelInfo& info, std::int64_t steps, const SegmentInfo& seg, const float* scores,
                   const std::function<void(double, double, const float*)>& step);

/// One input's way from per-segment scores to records, shared by the pipeline's output filter and by
/// streams so that both write the same records: its scores records (when asked for), the event tracker, and
/// its events as `Event` records, with the counts its summary reports; for a ctc model, the CTC decoder and
/// its `Transcript` records instead of events.
class InputRecords {
public:
    InputRecords(const ModelInfo& info, std::int64_t steps, const PostConfig& post, bool scores);

    /// Starts input `index` named `name`: fresh tracker, counts at zero.
    void start(std::size_t index, const std::string& name);
    /// One segment's scores ([steps][labels]): `top` after top-k, `all` before it (read only when scores
    /// records were asked for). Sends its scores records and the events that became final to `sink`.
    void segment(const SegmentInfo& seg, const float* top, const float* all, Sink& sink);
    /// Closes every open event (or the open utterance) at the last analysed step and sends them; `cut` marks
    /// them as cut short (a cancelled input).
    void close(Sink& sink, bool cut = false);

    [[nodiscard]] std::size_t index() const noexcept { return index_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] std::int64_t segments() const noexcept { return segments_; }
    [[nodiscard]] std::int64_t events() const noexcept { return events_; }
    [[nodiscard]] std::int64_t transcripts() const noexcept { return transcripts_; }
    /// The input's summary record with its counts so far: `duration` s of audio read at `rate` Hz from
    /// `channels` channels.
    [[nodiscard]] FileSummary summary(double duration, int rate, int channels) const;
    /// Audio analysed so far: one hop per segment.
    [[nodiscard]] double analysed_seconds() const noexcept;

private:
    void emit(Sink& sink, bool cut);
    void emit_transcripts(Sink& sink, bool cut);

    const ModelInfo& info_;
    std::int64_t steps_;
    PostConfig post_;
    bool scores_;
    std::size_t index_ = 0;
    std::string name_;
    EventTracker tracker_;
    std::vector<TrackedEvent> ready_;
    CtcDecoder decoder_;                  // ctc models
    std::vector<Transcript> utterances_;  // ctc models: the transcripts made final by the latest step
    Scores record_;  // reused for every scores record
    std::int64_t segments_ = 0, events_ = 0, transcripts_ = 0;
};

}  // namespace arpipe
