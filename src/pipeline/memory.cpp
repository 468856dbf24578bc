// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Memory figures for --memory-report and hosts: the kernel's view from /proc/self/status, and jemalloc's
// when the process runs on it (looked up with dlsym, so the library does not link jemalloc itself).
#include <dlfcn.h>
#include <sys/resource.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "arpipe/engine.h"
#include "host.h"

namespace arpipe {
namespace {

using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);

Mallctl find_mallctl() {
    static const Mallctl fn = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
    return fn;
}

double status_kb(const std::string& text, const char* key) {
    const auto p = text.find(key);
    if (p == std::string::npos) return 0;
    return std::stod(text.substr(p + std::string(key).size()));
}

double stat_mb(Mallctl mallctl, const char* name) {
    std::size_t value = 0;
    std::size_t len = sizeof value;
    if (mallctl(name, &value, &len, nullptr, 0) != 0) return 0;
    return static_cast<double>(value) / (1024.0 * 1024.0);
}

}  // namespace

MemoryStats memory_stats() {
    MemoryStats m;
    std::ifstream in("/proc/self/status");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    m.rss_mb = status_kb(text, "VmRSS:") / 1024.0;
    m.peak_rss_mb = status_kb(text, "VmHWM:") / 1024.0;
    m.anon_rss_mb = status_kb(text, "RssAnon:") / 1024.0;
    if (Mallctl mallctl = find_mallctl()) {
        // Statistics are cached until the epoch advances.
        std::uint64_t epoch = 1;
        std::size_t len = sizeof epoch;
        if (mallctl("epoch", &epoch, &len, &epoch, len) == 0) {
            m.jemalloc = true;
            m.allocated_mb = stat_mb(mallctl, "stats.allocated");
            m.active_mb = stat_mb(mallctl, "stats.active");
            m.resident_mb = stat_mb(mallctl, "stats.resident");
            m.mapped_mb = stat_mb(mallctl, "stats.mapped");
        }
    }
    return m;
}

double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

}  // namespace arpipe
