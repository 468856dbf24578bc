// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The torch-free half of memory_cap.h: the machine's default cap and byte counts for people. memory_cap.cpp
// holds the allocator itself.
#include <cstdio>
#include <fstream>
#include <string>

#include "memory_cap.h"

namespace arpipe {
namespace {

// The number in a cgroup limit file, or -1 for "max", a missing file or an unset (huge) v1 limit.
std::int64_t read_limit(const std::string& file) {
    std::ifstream in(file);
    std::string word;
    if (!(in >> word) || word == "max") return -1;
    try {
        const long long v = std::stoll(word);
        return v <= 0 || v >= (std::int64_t{1} << 60) ? -1 : static_cast<std::int64_t>(v);
    } catch (const std::exception&) {
        return -1;
    }
}

// The tightest memory limit among the process's cgroup and its ancestors, v2 (memory.max) or v1
// (memory.limit_in_bytes), or -1 when none is set. A cgroup namespace shows the process's own cgroup as "/",
// so the root directories are read as well.
std::int64_t cgroup_limit() {
    std::ifstream in("/proc/self/cgroup");
    std::int64_t best = -1;
    auto consider = [&](const std::string& root, std::string path, const char* file) {
        while (true) {
            const std::int64_t v = read_limit(root + (path == "/" ? "" : path) + "/" + file);
            if (v > 0 && (best < 0 || v < best)) best = v;
            if (path.empty() || path == "/") break;
            const auto slash = path.rfind('/');
            path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
        }
    };
    std::string line;
    while (std::getline(in, line)) {
        // "hierarchy-id:controller,list:path"; v2 is "0::path".
        const auto a = line.find(':');
        const auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1);
        const std::string path = line.substr(b + 1);
        if (controllers.empty()) {
            consider("/sys/fs/cgroup", path, "memory.max");
            consider("/sys/fs/cgroup/unified", path, "memory.max");  // hybrid layout
        } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
            consider("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
        }
    }
    return best;
}

std::int64_t mem_total() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    long long kib = 0;
    std::string unit;
    while (in >> key >> kib >> unit)
        if (key == "MemTotal:") return static_cast<std::int64_t>(kib) * 1024;
    return -1;
}

}  // namespace

std::int64_t default_memory_cap_bytes() {
    std::int64_t room = mem_total();
    const std::int64_t limit = cgroup_limit();
    if (limit > 0 && (room < 0 || limit < room)) room = limit;
    return room > 0 ? room / 4 * 3 : 0;
}

std::string format_bytes(std::int64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + " B";
    static const char* const units[] = {"KiB", "MiB", "GiB"};
    double v = static_cast<double>(bytes);
    int u = -1;
    while (u < 2 && v >= 1024) {
        v /= 1024;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

}  // namespace arpipe
