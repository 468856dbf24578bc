// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "segment.h"

#include <algorithm>

namespace arpipe {

Segmenter::Segmenter(Decoder& decoder, std::int64_t length, std::int64_t hop)
    : decoder_(decoder), length_(length), hop_(hop) {}

std::int64_t Segmenter::count_for(std::int64_t samples, std::int64_t length, std::int64_t hop) noexcept {
    if (samples < 0) return -1;
    if (samples == 0) return 0;
    if (samples <= length) return 1;
    return 1 + (samples - length + hop - 1) / hop;  // window i starts at i * hop while samples remain after it
}

void Segmenter::fill(std::size_t want) {
    while (!eof_ && buf_.size() < want) {
        if (!decoder_.read_chunk(buf_)) eof_ = true;
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
