// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The torch-free half of the inference memory cap (src/stages/memory_cap_info.cpp). The cap itself is tested
// through the engine with a model that allocates a gigabyte (tests/integration/test_engine.cpp).
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "stages/memory_cap.h"

TEST_SUITE("memory cap") {
    TEST_CASE("byte counts read as people write them") {
        CHECK(arpipe::format_bytes(512) == "512 B");
        CHECK(arpipe::format_bytes(3 << 20) == "3.0 MiB");
        CHECK(arpipe::format_bytes(std::int64_t{6} << 30) == "6.0 GiB");
        CHECK(arpipe::format_bytes(std::int64_t{1} << 42) == "4096.0 GiB");
    }

    TEST_CASE("the default cap is three quarters of what the process may use") {
        std::ifstream meminfo("/proc/meminfo");
        std::string key;
        long long kib = 0;
        const bool read = static_cast<bool>(meminfo >> key >> kib);
        REQUIRE(read);
        REQUIRE(key == "MemTotal:");
        const std::int64_t cap = arpipe::default_memory_cap_bytes();
        CHECK(cap > 0);
        CHECK(cap <= kib * 1024 / 4 * 3);
    }
}
