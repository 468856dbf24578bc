// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// arpipe::Stream: live audio in, events out as soon as they are final.
//
// A stream is made by `Engine::open_stream` for audio of one rate and channel count. The host pushes
// interleaved samples as they arrive, in chunks of any size (one sample to minutes), then calls `finish()`.
// Each stream keeps its own resampler, window position and event state; its records go to its own sink, with
// the same content and order as an `Engine::run` over the same audio would give (the same windows, scores and
// events; the JSON Lines are byte-identical).
//
//   auto stream = engine->open_stream(16000, 1, sink);
//   while (capture(block)) stream->push(block.data(), block.size());
//   stream->finish();  // the summary (or an error) is the stream's last record
//
// Latency: an event can only be final once the audio after it shows it has ended, so it reaches the sink
// when the window holding its end has been analysed and the score has stayed below the closing threshold for
// long enough (min_gap_seconds, when set). In audio time that is at most one window plus one hop after the
// event's end, plus the gap-bridging time; docs/api.md ("Streaming") gives the figures for the bundled models.
//
// Threads: a stream is used by one thread at a time; its model calls and sink calls happen inside push(),
// finish() or Engine::analyse_streams, on the calling thread. Different streams of one engine may be used
// from different threads at once. The engine must outlive its streams.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "arpipe/export.h"
#include "arpipe/result.h"

namespace arpipe {

/// How a stream names its records and when it analyses its audio (`Engine::open_stream`).
struct StreamOptions {
    std::string name = "stream";  ///< the `file` of its records
    std::size_t index = 0;        ///< the `file_index` of its records
    bool scores = false;          ///< also send every step's scores to Sink::on_scores
    /// true: push() analyses every window it completes, on the calling thread, so events come out as soon as
    /// possible. false: push() only buffers (up to `max_pending_windows` windows), and the host analyses many
    /// streams at once with Engine::analyse_streams, which batches their windows into shared model calls.
    bool analyse_on_push = true;
    /// With analyse_on_push false: when this many windows wait, push() analyses them itself, so that a
    /// stream nobody analyses still holds bounded memory. Range [1, 4096].
    int max_pending_windows = 64;
};

/// How `Engine::run_pipe` reads a pipe and names its records.
struct PipeOptions {
    /// The records' name and index, and whether to send scores records (analyse_on_push is always true here).
    StreamOptions stream;
    /// Set from any thread (or a signal handler) to stop: reading ends at the next wait on the pipe that a
    /// signal interrupts, or at the next block read, and the stream ends as cancelled (the events of what was
    /// analysed are kept, the open ones marked as cut).
    const std::atomic<bool>* cancel = nullptr;
};

class Stream {
public:
    ARPIPE_API ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    /// Appends `count` interleaved samples in [-1, 1] (a partial frame is kept until its other channels come).
    /// Windows completed by them are analysed now (or queued, see StreamOptions::analyse_on_push). Returns
    /// false, and ignores the samples, once the stream has ended: it failed (its error record has been sent:
    /// a NaN, a value past +24 dBFS, or a model error), or finish() was called.
    ARPIPE_API bool push(const float* samples, std::size_t count);

    /// The end of the audio: analyses what is left (the last window zero-padded), closes the open events and
    /// sends the summary, or an error when no whole frame was pushed. Later calls do nothing. A stream
    /// destroyed without finish() ends with an error record of code `cancelled`.
    ARPIPE_API void finish();

    /// Windows completed and not yet analysed (analyse_on_push false).
    [[nodiscard]] ARPIPE_API std::size_t pending_windows() const noexcept;
    /// Whether the stream has sent its terminal record (summary or error).
    [[nodiscard]] ARPIPE_API bool ended() const noexcept;
    /// Frames pushed so far (whole frames, at the stream's rate).
    [[nodiscard]] ARPIPE_API std::int64_t frames_pushed() const noexcept;

    struct Impl;

private:
    friend class Engine;
    explicit Stream(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace arpipe
