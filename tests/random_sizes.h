// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Random chunk sizes for pushing audio into streams, shared by the stream tests and their TSan variant.
#pragma once

#include <cstddef>
#include <random>

namespace testing {

/// Piece sizes in samples: one in ten a single sample, six in ten 1 to 400, the rest up to `largest`.
struct RandomSizes {
    std::mt19937 rng;
    std::size_t largest = 96000;
    std::size_t operator()() {
        const auto kind = rng() % 10;
        if (kind == 0) return 1;
        if (kind < 7) return 1 + rng() % 400;
        return 1 + rng() % largest;
    }
};

}  // namespace arpipe::testing
