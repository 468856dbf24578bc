// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What the bench reads about its own process: CPU time, peak and current memory, live threads, and small
// statistics helpers. Linux only (getrusage, /proc/self).
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "pipeline/host.h"  // process_cpu_seconds

namespace arpipe::bench {

/// Peak resident set size of this process (VmHWM) in MiB (arpipe::memory_stats); 0 if /proc cannot be read.
[[nodiscard]] double peak_rss_mib();

/// Current resident set size (VmRSS) in MiB; 0 if /proc cannot be read.
[[nodiscard]] double current_rss_mib();

/// Threads of this process now (entries of /proc/self/task).
[[nodiscard]] int thread_count();

/// CPUs this process may run on (sched_getaffinity), at least 1.
[[nodiscard]] int usable_cores();

/// Samples the thread count every `period` on a thread of its own while it lives; `max()` is the highest
/// count seen, not counting the sampler itself.
class ThreadSampler {
public:
    explicit ThreadSampler(std::chrono::milliseconds period = std::chrono::milliseconds(10));
    ~ThreadSampler();
    ThreadSampler(const ThreadSampler&) = delete;
    ThreadSampler& operator=(const ThreadSampler&) = delete;

    /// Stops sampling and returns the highest count seen (excluding the sampler thread).
    int stop();

private:
    std::atomic<bool> stop_{false};
    std::atomic<int> max_{0};
    std::thread thread_;
};

/// The median of `v` (mean of the two middle values for an even count); 0 for an empty vector.
[[nodiscard]] double median(std::vector<double> v);

/// The p-th percentile (0..100) of `v` by linear interpolation; 0 for an empty vector.
[[nodiscard]] double percentile(std::vector<double> v, double p);

}  // namespace arpipe::bench
