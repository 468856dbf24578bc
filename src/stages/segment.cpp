// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "segment.h"

#include <algorithm>
#include <cmath>

namespace arpipe {

Segmenter::Segmenter(std::unique_ptr<Decoder> decoder, std::int64_t length, std::int64_t hop)
    : decoder_(std::move(decoder)), length_(length), hop_(hop) {}

std::int64_t Segmenter::count_for(std::int64_t samples, std::int64_t length, std::int64_t hop) noexcept {
    if (samples < 0) return -1;
    if (samples == 0) return 0;
    if (samples <= length) return 1;
    return 1 + (samples - length + hop - 1) / hop;  // window i starts at i * hop while samples remain after it
}

std::int64_t describe_segments(std::int64_t first, std::int64_t count, std::int64_t samples, std::int64_t length,
                               std::int64_t hop, SegmentInfo* out) noexcept {
    const std::int64_t total = Segmenter::count_for(samples, length, hop);
    const std::int64_t n = std::clamp<std::int64_t>(total - first, 0, count);
    for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t i = first + j;
        out[j].index = i;
        out[j].start_sample = i * hop;
        out[j].valid_samples = std::min(length, samples - i * hop);
        out[j].last = i == total - 1;
    }
    return n;
}

std::int64_t ChunkPlan::segments() const noexcept { return Segmenter::count_for(samples, length, hop); }

std::int64_t ChunkPlan::chunks() const noexcept { return std::max<std::int64_t>(1, (segments() + per_chunk - 1) / per_chunk); }

std::int64_t ChunkPlan::end_sample(std::int64_t chunk) const noexcept {
    const std::int64_t last_segment = std::min(segments(), first_segment(chunk) + per_chunk) - 1;
    return std::clamp<std::int64_t>(last_segment * hop + length, 0, samples);
}

std::int64_t segments_per_chunk(double chunk_seconds, std::int64_t hop, int sample_rate_hz) noexcept {
    const double per = chunk_seconds * sample_rate_hz / static_cast<double>(hop);
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(per)));
}

void Segmenter::fill(std::size_t want) {
    while (!eof_ && buf_.size() < want) {
        if (!decoder_->read_chunk(buf_)) eof_ = true;
    }
}

bool Segmenter::next(float* dst, SegmentInfo* info) {
    if (done_) return false;
    const std::int64_t seg_start = index_ * hop_;
    // The window starts at buf_[0] (samples before it were dropped); one sample more than the window tells
    // whether another window follows.
    fill(static_cast<std::size_t>(length_ + 1));
    const auto have = static_cast<std::int64_t>(buf_.size());
    if (have == 0) {
        // fill() only stops short at the end of the stream: the previous window reached the end, or the
        // input has no audio at all.
        done_ = true;
        return false;
    }
    const std::int64_t valid = std::min(length_, have);
    std::copy_n(buf_.begin(), valid, dst);
    std::fill(dst + valid, dst + length_, 0.0f);
    info->index = index_;
    info->start_sample = seg_start;
    info->valid_samples = valid;
    info->last = eof_ && have <= length_;
    if (info->last) done_ = true;

    // Drop what the next window no longer needs.
    const std::int64_t drop = std::min<std::int64_t>(hop_, have);
    buf_.erase(buf_.begin(), buf_.begin() + drop);
    start_ += drop;
    ++index_;
    return true;
}

}  // namespace arpipe
