// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// arpipe_decode_compare: how far chunked decoding is from decoding each file in one pass. For every file it
// decodes the whole file start to end (Decoder), then decodes it again chunk by chunk as the pipeline plans
// it (decode_range, one handle that seeks, chunks taken in a scrambled order), and prints the largest sample
// difference and how many samples differ. docs/performance.md records its output.
//
//   build/arpipe_decode_compare [--chunk-seconds S] [--rate HZ] [--segment SAMPLES --hop SAMPLES] FILE...
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "stages/decode.h"
#include "stages/failure.h"
#include "stages/segment.h"

namespace {

struct Options {
    double chunk_seconds = 30.0;
    int rate = 16000;
    std::int64_t segment = 16000, hop = 8000;  // the bundled tagger's windows
    std::vector<std::string> files;
};

int compare(const std::string& path, const Options& o) {
    using namespace arpipe;
    const Input in = Input::file(path);
    std::vector<float> whole;
    {
        Decoder d(in, o.rate, std::nullopt);
        while (d.read_chunk(whole)) {}
    }
    auto source = AudioSource::open(in, std::nullopt);
    const std::int64_t frames = source->announced_frames();
    if (frames <= 0 || !source->can_seek()) {
        std::printf("%-40s  (no length or no seek: decoded start to end, nothing to compare)\n", path.c_str());
        return 0;
    }
    const ChunkPlan plan{resampled_length(frames, source->rate_hz(), o.rate), o.segment, o.hop,
                         segments_per_chunk(o.chunk_seconds, o.hop, o.rate)};
    // Chunks out of order, from one handle that seeks back and forth, as a worker thread may take them.
    std::vector<std::int64_t> order(static_cast<std::size_t>(plan.chunks()));
    std::iota(order.begin(), order.end(), 0);
    std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(order.size() / 2), order.end());
    RangeScratch scratch;
    double max_diff = 0;
    std::int64_t differing = 0, compared = 0;
    std::vector<float> out;
    for (std::int64_t k : order) {
        decode_range(*source, o.rate, plan.first_sample(k), plan.end_sample(k), frames, out, scratch);
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto t = static_cast<std::size_t>(plan.first_sample(k)) + i;
            if (t >= whole.size()) break;
            const double d = std::fabs(static_cast<double>(out[i]) - whole[t]);
            max_diff = std::max(max_diff, d);
            differing += d > 0 ? 1 : 0;
            ++compared;
        }
    }
    std::printf("%-40s  %6d Hz %d ch  %9.1f s  %5lld chunks  samples %lld (one pass %zu)  largest difference %.3g  "
                "differing %.4f%%\n",
                path.c_str(), source->rate_hz(), source->channels(), static_cast<double>(frames) / source->rate_hz(),
                static_cast<long long>(plan.chunks()), static_cast<long long>(plan.samples), whole.size(), max_diff,
                compared > 0 ? 100.0 * static_cast<double>(differing) / static_cast<double>(compared) : 0.0);
    return static_cast<std::size_t>(plan.samples) == whole.size() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "arpipe_decode_compare: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--chunk-seconds") o.chunk_seconds = std::atof(value().c_str());
        else if (a == "--rate") o.rate = std::atoi(value().c_str());
        else if (a == "--segment") o.segment = std::atoll(value().c_str());
        else if (a == "--hop") o.hop = std::atoll(value().c_str());
        else if (a == "-h" || a == "--help") {
            std::printf("usage: arpipe_decode_compare [--chunk-seconds S] [--rate HZ] [--segment N --hop N] FILE...\n");
            return 0;
        } else o.files.push_back(a);
    }
    if (o.files.empty() || o.chunk_seconds <= 0 || o.rate <= 0 || o.hop <= 0 || o.segment < o.hop) {
        std::fprintf(stderr, "usage: arpipe_decode_compare [--chunk-seconds S] [--rate HZ] [--segment N --hop N] FILE...\n");
        return 2;
    }
    int status = 0;
    for (const auto& f : o.files) {
        try {
            status |= compare(f, o);
        } catch (const arpipe::Failure& e) {
            std::printf("%-40s  error: %s\n", f.c_str(), e.what());
            status = 1;
        }
    }
    return status;
}
