// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What the bench measures: one Sample per timed run of one configuration (a Point), summaries over a
// point's samples, the targets of docs/performance.md (the tables under "Results on this host") and a
// recommendation for the host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace arpipe::bench {

class TargetSpecs;  // bench/targets.h

/// One timed run of one configuration (for the multi-process engine: of all its processes together).
struct Sample {
    double wall_s = 0;       ///< go to last result
    double cpu_s = 0;        ///< user + system, summed over the engine's processes
    double audio_s = 0;      ///< audio processed (files that completed)
    std::int64_t segments = 0, events = 0, tokens = 0;
    int files_ok = 0, files_failed = 0;
    double peak_rss_mib = 0;  ///< VmHWM, summed over processes
    double rss_mib = 0;       ///< VmRSS after the run, summed over processes
    int threads_seen = 0;     ///< most threads seen in /proc/self/task during the run, summed over processes
    /// Per-stage time, summed over threads (arpipe::StageTimes). input_s and output_s are arpipe's two serial
    /// filters; decode_s is parallel since decoding left the input filter (the naive engine decodes inside
    /// its threads: all of it is decode_s, input_s is 0).
    double input_s = 0, decode_s = 0, features_s = 0, infer_s = 0, output_s = 0;
    /// Per-token times: for arpipe a token is one chunk of an input (~30 s of audio), for the naive engine one
    /// batch of segments.
    std::vector<double> token_features_s, token_infer_s;
    int token_limit = 0, max_live_tokens = 0;

    [[nodiscard]] double throughput() const { return wall_s > 0 ? audio_s / wall_s : 0.0; }
    [[nodiscard]] double stage_sum() const { return input_s + decode_s + features_s + infer_s + output_s; }
};

/// One configuration of one engine, and its samples.
struct Point {
    std::string experiment;  ///< "scaling", "batch", "tokens" or "paired"
    std::string engine;      ///< "arpipe", "naive" or "multiproc"
    int threads = 1;         ///< engine threads; for multiproc, processes (each with one thread)
    int intra_op = 1;        ///< LibTorch intra-op threads (naive: set on the main thread only; others: 1)
    int processes = 1;
    int batch = 4;
    int tokens = 0;          ///< arpipe's live-token bound; 0 = its default (2 x threads + 2)
    std::vector<Sample> samples;
    std::string loadavg;     ///< /proc/loadavg when the point started: other load on the host shows here

    [[nodiscard]] std::string label() const;
};

/// Medians over a point's samples and the figures derived from them.
struct Summary {
    double wall_s = 0, throughput_x = 0, cpu_s = 0, cpu_util = 0, cpu_per_audio = 0, audio_s = 0;
    double peak_rss_mib = 0;
    int threads_seen = 0;
    std::int64_t segments = 0, events = 0;
    int files_failed = 0;
    double share_input = 0, share_decode = 0, share_features = 0, share_infer = 0, share_output = 0;
    double features_p50_ms = 0, features_p95_ms = 0, infer_p50_ms = 0, infer_p95_ms = 0;
    int token_limit = 0, max_live_tokens = 0;
    double speedup = 0;     ///< throughput over the same engine's 1-thread (1-process) throughput, same experiment
    double efficiency = 0;  ///< speedup / min(threads, cores)
    double vs_arpipe_1 = 0; ///< throughput over arpipe's 1-thread throughput, same experiment
};

[[nodiscard]] Summary summarize(const Point& point, int cores);

/// Fills speedup, efficiency and vs_arpipe_1 across the points of each experiment.
void add_relative_figures(const std::vector<Point>& points, std::vector<Summary>& summaries, int cores);

nlohmann::json to_json(const Sample& s);
nlohmann::json to_json(const Summary& s);

/// What the bench knows about the model (from the first worker's ready message).
struct ModelFacts {
    std::string path, name, input_kind, output_kind;
    double segment_seconds = 0, hop_seconds = 0;
};

/// The targets of docs/performance.md ("Results on this host"), from the paired experiment's rounds (medians
/// of per-round ratios): one entry per target with what was measured, the goal and whether it was met, the
/// goals and descriptions taken from `specs` (data/bench/targets.json). Empty when the paired experiment did
/// not run. Also one informational entry, "amdahl_16" (no goal, "met" always true, "informational": true):
/// Amdahl's bound at 16 cores from the serial share of arpipe's 1-thread runs (see amdahl_bound), from the
/// paired arpipe -j 1 point, or the scaling one without a paired experiment.
[[nodiscard]] nlohmann::json evaluate_targets(const std::vector<Point>& points, int cores, const ModelFacts& model,
                                              const TargetSpecs& specs);

/// Amdahl's law: the speedup at `cores` of a run whose serial part is `serial_share` of its 1-thread time,
/// 1 / (f + (1 - f) / cores).
[[nodiscard]] double amdahl_bound(double serial_share, int cores);

/// Threads, batch and live tokens for this host, from the scaling, batch and tokens experiments: the fewest
/// threads within 3% of the best throughput; for batch and tokens the default when it is within 3% of the
/// best, else the smallest value that is. Without a scaling experiment the threads are `cores`.
[[nodiscard]] nlohmann::json recommend(const std::vector<Point>& points, const std::vector<Summary>& summaries,
                                       int cores);

/// The CSV header and one row per point (medians).
[[nodiscard]] std::string csv_header();
[[nodiscard]] std::string csv_row(const Point& p, const Summary& s);

}  // namespace arpipe::bench
