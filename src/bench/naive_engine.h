// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The case study's engine, rebuilt for comparison: N std::threads, each taking whole batches of segments
// through all four stages (decode/segment under one lock, features, inference, scores to records), with
// LibTorch's intra-op thread count set once, with at::set_num_threads on the main thread only, as the case
// study did. OpenMP's thread count is per thread, so the workers keep OpenMP's default team size (the number
// of CPUs) for kernels that open their own team: that is the oversubscription arpipe's pipeline avoids.
// It reuses arpipe's stage classes (Decoder, Segmenter, LogMel, Model, score_steps, InputRecords: the event
// tracker or the CTC decoder), so the two engines do the same work and produce the same events or
// transcripts; only the threading differs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"
#include "arpipe/result.h"

namespace arpipe::bench {

struct NaiveConfig {
    std::string model_path;
    int threads = 1;           ///< engine threads (std::thread), each running all stages
    int intra_op_threads = 1;  ///< at::set_num_threads(n) on the main thread only
    int batch = 4;             ///< segments per model call
    bool model_per_thread = false;  ///< each thread runs its own copy of the model instead of one shared module
    PostConfig post;
};

class NaiveEngine {
public:
    /// Loads the model (throws Failure naming the problem) and sets the intra-op count on this thread.
    explicit NaiveEngine(const NaiveConfig& config);
    ~NaiveEngine();
    NaiveEngine(const NaiveEngine&) = delete;
    NaiveEngine& operator=(const NaiveEngine&) = delete;

    /// Processes `inputs` with `threads` std::threads; fills the same fields of RunStats as Engine::run
    /// (stage.output_seconds holds the post-processing time), counts events (a ctc model's transcripts) in
    /// `*events` and, when asked, the per-token times in `*diagnostics`.
    RunStats run(const std::vector<Input>& inputs, std::int64_t* events, RunDiagnostics* diagnostics = nullptr) const;

    [[nodiscard]] const ModelInfo& model() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace arpipe::bench
