// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for stage 1 (open, validate, decode, resample, segment): whatever the bytes, the stage
// must either produce windows or throw arpipe::Failure, never crash, hang or run out of memory.
// Built only with -DARPIPE_FUZZ=ON and clang (see tools/dev fuzz).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "stages/decode.h"
#include "stages/failure.h"
#include "stages/segment.h"

namespace {

std::string scratch_path() {
    // One file per fuzzing process, in shared memory when available.
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/arpipe-fuzz-" + std::to_string(getpid()) + ".wav";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = scratch_path();
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    } else {
        return 0;
    }
    constexpr std::int64_t kWindow = 16000, kHop = 8000;
    std::vector<float> window(kWindow);
    try {
        arpipe::Segmenter segmenter(std::make_unique<arpipe::Decoder>(arpipe::Input::file(path), 16000, std::nullopt),
                                    kWindow, kHop);
        arpipe::SegmentInfo info;
        std::int64_t windows = 0;
        while (segmenter.next(window.data(), &info)) {
            if (info.valid_samples < 1 || info.valid_samples > kWindow) __builtin_trap();
            // A header may claim hours: stop after a bounded amount so one input cannot stall the fuzzer.
            if (++windows > 2000) break;
        }
    } catch (const arpipe::Failure&) {
        // A clear error is the expected outcome for most inputs.
    }
    return 0;
}
