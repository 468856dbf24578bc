// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Post-processing: scores to events. `score_steps` runs in the parallel part (activation, finiteness check, top-k);
// `EventTracker` runs in the serial output filter and turns per-step scores into events with hysteresis,
// minimum durations and gap bridging, emitted in start-time order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"
#include "segment.h"

namespace arpipe {

/// In place over `steps` rows of `labels` raw outputs: applies the activation, then zeroes every score
/// outside the row's `top_k` best (0 keeps all). Throws Failure(model_output) on NaN/Inf in the output.
void score_steps(float* scores, std::int64_t steps, std::int64_t labels, Activation activation, int top_k);

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

}  // namespace arpipe
