// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What a run produces: events or transcripts, one terminal record per input (a summary or an error), progress, and the
// writers that turn them into JSON Lines, CSV, a table, Audacity labels or RTTM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arpipe/export.h"

namespace arpipe {

/// A value parsed from text, or the message saying why the text was refused (e.g. `parse_raw_format`).
template <typename T>
struct [[nodiscard]] ParseResult {
    std::optional<T> value;
    std::string error;  ///< set when `value` is empty
    explicit operator bool() const noexcept { return value.has_value(); }
};

/// Why an input or a model failed. Stable names (see `to_string`) appear in every output format.
enum class ErrorCode {
    not_found,           ///< the path does not exist
    not_a_file,          ///< a directory, device or other non-regular file given as an input
    permission_denied,   ///< the file exists but cannot be opened for reading
    empty_file,          ///< zero bytes, or a valid header with no audio frames
    unsupported_format,  ///< libsndfile does not recognise the container or codec
    bad_header,          ///< a recognised container whose header is inconsistent
    bad_sample_rate,     ///< rate outside [1000, 768000] Hz
    too_many_channels,   ///< more than 64 channels
    bad_samples,         ///< NaN or infinite sample values
    read_failed,         ///< decoding failed part way through the data
    model_output,        ///< the model returned NaN/Inf or a wrong shape for this input
    cancelled,           ///< the run was cancelled before this input finished
    internal,            ///< a bug: please report it
    bad_config,          ///< the configuration is out of range (load time only)
    bad_model,           ///< the model file or its description is unusable (load time only)
    // Added later; new codes go at the end so the numbering of the others stays stable.
    path_too_long,        ///< the path, or one name in it, is longer than the system allows (ENAMETOOLONG)
    bad_layout,           ///< in-memory PCM (`Input::pcm`) with no channels, or a sample count that is not a
                          ///< whole number of frames
    samples_out_of_range, ///< a finite sample value far outside [-1, 1] (magnitude above 16, i.e. +24 dBFS)
    bad_path,             ///< the path cannot name a file: it holds a NUL byte (e.g. a line of --files-from)
};

/// The stable lower-case name of a code, e.g. "unsupported_format".
[[nodiscard]] ARPIPE_API std::string_view to_string(ErrorCode code) noexcept;

/// One detected event: `label` active over [start_seconds, end_seconds) of input `file_index`.
struct Event {
    std::size_t file_index = 0;
    std::string file;          ///< the input's name as given (path, or the name of an in-memory input)
    std::string label;
    int label_index = 0;
    double start_seconds = 0;
    double end_seconds = 0;
    float score = 0;           ///< mean score over the event's steps
    float peak = 0;            ///< highest score over the event's steps
    /// The run was cancelled inside this input while the event was still open (or could still have merged
    /// with a later one): it ends where the analysed audio stops, not where the sound did.
    bool cut = false;
};

/// The scores of one step (a window of a clip model, a frame of a frame model) over the time it speaks for,
/// after the activation and before top-k: one value per label, in the model's label order. Sent to
/// `Sink::on_scores` when a run asks for them (`RunOptions::scores`).
struct Scores {
    std::size_t file_index = 0;
    std::string file;
    double start_seconds = 0;
    double end_seconds = 0;
    std::vector<float> values;  ///< one per label, in label order
};

/// One word of a transcript, over [start_seconds, end_seconds) of its input.
struct Word {
    std::string word;          ///< its tokens' labels, concatenated (with a lexicon: the lexicon's word)
    double start_seconds = 0;  ///< the first frame of its first token
    double end_seconds = 0;    ///< the end of the last frame of its last token
    /// Mean, over the frames of its tokens (the frames whose best token is one of them, blanks left out), of
    /// the best token's posterior (softmax over the vocabulary). With lexicon decoding: the mean posterior of
    /// the tokens the decoded path puts on the word's frames, which may be below the frames' best.
    float confidence = 0;
};

/// One utterance decoded by a ctc model: the words between two pauses longer than
/// Config::post.utterance_gap_seconds (docs/model-contract.md, "CTC output").
struct Transcript {
    std::size_t file_index = 0;
    std::string file;
    double start_seconds = 0;  ///< its first word's start
    double end_seconds = 0;    ///< its last word's end
    std::string text;          ///< the words joined by single spaces
    std::vector<Word> words;   ///< never empty
    bool cut = false;          ///< the run was cancelled inside this input: the utterance may go on
};

/// The terminal record of an input that was processed to its end.
struct FileSummary {
    std::size_t file_index = 0;
    std::string file;
    double duration_seconds = 0;  ///< decoded audio length
    std::int64_t segments = 0;    ///< model windows run
    std::int64_t events = 0;      ///< events emitted for this file (0 for a ctc model)
    int source_rate_hz = 0;
    int source_channels = 0;
    std::optional<std::int64_t> transcripts;  ///< a ctc model's transcript records for this file; empty otherwise
};

/// The terminal record of an input that failed. Events emitted before a mid-file failure stay valid.
struct FileError {
    std::size_t file_index = 0;
    std::string file;
    ErrorCode code = ErrorCode::internal;
    std::string message;  ///< lower-case, names the problem and the offending value
};

/// Progress of a run, reported from the output stage after each batch.
struct Progress {
    std::size_t files_done = 0;
    std::size_t files_total = 0;
    std::int64_t segments_done = 0;  ///< over the whole run
    double audio_seconds_done = 0;
    double wall_seconds = 0;
    std::size_t file_index = 0;            ///< the input the latest batch belongs to
    std::int64_t file_segments_done = 0;   ///< segments of that input written so far
    /// Segments that input will have, from its header's length (after resampling); -1 when the header does
    /// not say. An estimate until the input's record is out (a header may lie), then exact.
    std::int64_t file_segments_total = -1;
};

/// Receives a run's results. Calls come from one thread at a time, in input order and, within an input,
/// in time order; each input gets exactly one `on_summary` or one `on_error`, last.
class ARPIPE_API Sink {
public:
    virtual ~Sink() = default;
    virtual void on_event(const Event& event) = 0;
    virtual void on_summary(const FileSummary& summary) = 0;
    virtual void on_error(const FileError& error) = 0;
    virtual void on_progress(const Progress& /*progress*/) {}
    /// Per-step scores, when the run was asked for them (`RunOptions::scores`); in time order within an input,
    /// interleaved with the events (an event comes when it is final, after the scores it spans).
    virtual void on_scores(const Scores& /*scores*/) {}
    /// One utterance of a ctc model, in time order within an input, as soon as a pause (or the input's end)
    /// makes it final. Models of other kinds never call it.
    virtual void on_transcript(const Transcript& /*transcript*/) {}
    /// Called once after the last input's record.
    virtual void on_finish() {}
};

/// Per-stage time of a run, summed over all workers, and the bounds the pipeline kept.
struct StageTimes {
    double input_seconds = 0;     ///< serial input filter: open and validate each input, plan its chunks
    double decode_seconds = 0;    ///< parallel: decode, downmix, resample (in the serial input filter for inputs
                                  ///< without a length or a seek, which are read start to end)
    double features_seconds = 0;  ///< parallel: log-mel or waveform copy
    double infer_seconds = 0;     ///< parallel: model calls and activation
    double output_seconds = 0;    ///< serial output filter: events and sink calls
};

/// What a run did, for benchmarks, tests and the CLI's closing line.
struct RunStats {
    std::size_t files_ok = 0;
    std::size_t files_failed = 0;
    std::size_t files_not_started = 0;  ///< left unprocessed by cancellation (each still got an error record)
    std::int64_t segments = 0;
    std::int64_t tokens = 0;
    double audio_seconds = 0;
    double wall_seconds = 0;
    double cpu_seconds = 0;          ///< process user+system time during the run
    int threads = 0;                 ///< arena size used
    int token_limit = 0;             ///< live-token bound used
    int max_live_tokens = 0;         ///< highest number of tokens seen in flight at once
    bool cancelled = false;
    StageTimes stage;
};

/// Output formats of the bundled writers. `audacity` (an Audacity label track) and `rttm` (NIST RTTM) write
/// events and transcripts only, as those formats have no place for summaries or scores; `srt`, `vtt` (WebVTT)
/// and `txt` write transcripts only, for one input (README, "Output formats").
enum class OutputFormat { jsonl, csv, table, audacity, rttm, srt, vtt, txt };

/// Whether a format holds transcripts only (srt, vtt, txt): it needs a ctc model and one input.
[[nodiscard]] ARPIPE_API bool transcript_only(OutputFormat format) noexcept;

/// Parses "jsonl", "json", "csv", "table", "audacity", "rttm", "srt", "vtt" or "txt".
[[nodiscard]] ARPIPE_API ParseResult<OutputFormat> parse_output_format(std::string_view text);

/// A Sink that writes records to `out` as they arrive (flushing after each input's terminal record).
/// JSON Lines: one object per line with "type": "event" | "summary" | "error" | "scores".
[[nodiscard]] ARPIPE_API std::unique_ptr<Sink> make_writer(OutputFormat format, std::ostream& out);
/// The same, ready for scores records of a model with these labels: the CSV header then gets one column per
/// label (filled on "scores" rows), and JSON Lines and the table name each score by its label.
[[nodiscard]] ARPIPE_API std::unique_ptr<Sink> make_writer(OutputFormat format, std::ostream& out,
                                                           const std::vector<std::string>& score_labels);

}  // namespace arpipe
