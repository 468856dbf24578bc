// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// arpipe-bench: the throughput lab, a program of its own (main.cpp). It reproduces the case study's
// thread-pool experiment and measures three engines on one workload in one session:
//   arpipe     Engine::run with RunOptions.threads: one TBB arena owns every thread, LibTorch pools at 1;
//   naive      the case study's engine (bench/naive_engine.h): N std::threads running all stages, the
//              intra-op count set with at::set_num_threads on the main thread only;
//   multiproc  P single-threaded processes, each running arpipe with -j 1 on its share of the files.
//
// Every configuration runs in fresh worker processes (this same program, `arpipe-bench --worker SPEC`), so
// peak RSS, thread counts and LibTorch's thread state belong to that configuration alone. A worker loads
// the model, runs a warm-up, says "ready", then runs the workload once per "go" from the driver and answers
// with one JSON line of measurements. The driver (this process) plans the sweeps, times the multi-process
// engine from the first process's start to the last one's end (CLOCK_MONOTONIC is shared by processes), and
// writes bench.csv and bench.json. The targets it checks, with their goals, come from a data file
// (data/bench/targets.json, or --targets FILE; see targets.h).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace arpipe::bench {

struct Options {
    std::vector<std::string> inputs;  ///< audio files or directories; empty = synthetic workload
    double synthetic_seconds = 0;     ///< 0 = 120 s (20 s with `quick`)
    int synthetic_files = 0;          ///< 0 = 48 (8 with `quick`)
    int synthetic_rate_hz = 0;        ///< 0 = 16000 Hz (the rate of the bundled models: no resampling)
    std::string synthetic_format;     ///< wav, flac, mp3 or opus; empty = wav (see SyntheticFormat)
    int synthetic_channels = 0;       ///< 0 = 1 (mono); more channels make the decode stage downmix
    bool in_memory = false;           ///< workers synthesize the audio in memory (arpipe::Input::pcm, wav only)
    std::string model;                ///< empty = the bundled tagger, else data/models/silero_vad.pt
    std::vector<int> threads;         ///< engine threads (and processes) to sweep; empty = a default
    std::vector<int> intra_op;        ///< naive engine's intra-op counts; empty = 1, 2, 4, ..., cores
    std::vector<int> batches;         ///< batch sizes for the batch sweep; empty = 1, 2, 4, 8, 16
    std::vector<int> tokens;          ///< live tokens for the tokens sweep; empty = from the core count
    std::vector<std::string> engines;      ///< subset of arpipe, naive, multiproc; empty = all
    std::vector<std::string> experiments;  ///< subset of scaling, batch, tokens, paired; empty = all
    int batch = 4;                    ///< batch size outside the batch sweep
    bool naive_model_per_thread = false;   ///< the naive engine's threads each get their own copy of the model
    int repeats = 0;                  ///< timed runs per point; 0 = 5 (1 with `quick`)
    int pairs = 0;                    ///< rounds of the paired experiment; 0 = 7 (1 with `quick`)
    int cores = 0;                    ///< cores to plan for; 0 = the CPUs this process may use
    bool quick = false;               ///< a small workload and a small sweep, for CI
    std::string targets;              ///< the targets file; empty = default_targets_path()
    std::string out_dir = "arpipe-bench";
    bool keep_workload = false;
    bool quiet = false;
    std::string command_line;         ///< recorded in bench.json
};

/// Runs the bench; progress goes to `log`, the summary to stdout. Returns 0, or 2 for bad options, a targets
/// file that is missing or wrong, or a model that cannot load, or 3 when the results cannot be written.
int run(Options options, std::ostream& log);

/// The worker side of the driver's protocol (see above). Returns the process exit code.
int run_worker(const std::string& spec_json);

}  // namespace arpipe::bench
