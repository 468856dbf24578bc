// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "bench/measure.h"

#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include "arpipe/engine.h"

namespace arpipe::bench {
double peak_rss_mib() { return memory_stats().peak_rss_mb; }

double current_rss_mib() { return memory_stats().rss_mb; }

int thread_count() {
    DIR* d = opendir("/proc/self/task");
    if (d == nullptr) return 0;
    int n = 0;
    while (const dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    return n;
}

int usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

ThreadSampler::ThreadSampler(std::chrono::milliseconds period) {
    // At least one sample, even when the run is over before this thread first gets a CPU (a short run on a
    // loaded machine): the loop tests the stop flag after sampling, not before.
    thread_ = std::thread([this, period] {
        do {
            const int n = thread_count() - 1;  // not counting this sampler
            if (n > max_.load(std::memory_order_relaxed)) max_.store(n, std::memory_order_relaxed);
            if (stop_.load(std::memory_order_relaxed)) break;
            std::this_thread::sleep_for(period);
        } while (!stop_.load(std::memory_order_relaxed));
    });
}

ThreadSampler::~ThreadSampler() { stop(); }

int ThreadSampler::stop() {
    if (thread_.joinable()) {
        stop_.store(true);
        thread_.join();
    }
    return max_.load();
}

double median(std::vector<double> v) { return percentile(std::move(v), 50.0); }

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace arpipe::bench
