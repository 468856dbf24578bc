// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "ctc.h"

#include <algorithm>

namespace arpipe {

int argmax(const float* values, std::int64_t n) noexcept {
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < n; ++i)
        if (values[i] > values[best]) best = i;  // strictly greater: ties keep the lower index
    return static_cast<int>(best);
}

CtcDecoder::CtcDecoder(const ModelInfo& info, double utterance_gap_seconds)
    : labels_(info.labels), blank_(info.blank), gap_(utterance_gap_seconds) {
    if (!info.word_separator.empty()) {
        const auto at = std::find(labels_.begin(), labels_.end(), info.word_separator);
        if (at != labels_.end()) separator_ = static_cast<int>(at - labels_.begin());
    }
}

void CtcDecoder::reset() {
    previous_ = token_ = -1;
    token_start_ = token_end_ = token_sum_ = 0;
    token_frames_ = 0;
    word_ = Word{};
    word_sum_ = 0;
    word_frames_ = 0;
    words_.clear();
    last_end_ = 0;
}

void CtcDecoder::close_token() {
    if (token_ < 0) return;
    if (word_.word.empty()) word_.start_seconds = token_start_;
    word_.word += labels_[static_cast<std::size_t>(token_)];
    word_.end_seconds = token_end_;
    word_sum_ += token_sum_;
    word_frames_ += token_frames_;
    token_ = -1;
    token_sum_ = 0;
    token_frames_ = 0;
    if (separator_ < 0) close_word();  // no separator: every token is a word
}

void CtcDecoder::close_word() {
    close_token();
    if (word_.word.empty()) return;
    word_.confidence = static_cast<float>(word_sum_ / static_cast<double>(word_frames_));
    words_.push_back(std::move(word_));
    word_ = Word{};
    word_sum_ = 0;
    word_frames_ = 0;
}

void CtcDecoder::close_utterance(std::vector<Transcript>& ready) {
    close_word();
    if (words_.empty()) return;
    Transcript t;
    t.start_seconds = words_.front().start_seconds;
    t.end_seconds = words_.back().end_seconds;
    for (const Word& w : words_) t.text += (t.text.empty() ? "" : " ") + w.word;
    t.words = std::move(words_);
    words_.clear();
    ready.push_back(std::move(t));
}

void CtcDecoder::push(double t0, double t1, const float* posteriors, std::vector<Transcript>& ready) {
    const int best = argmax(posteriors, static_cast<std::int64_t>(labels_.size()));
    const double p = posteriors[best];
    const bool repeat = best == previous_;
    previous_ = best;
    if (best == blank_ || best == separator_) {
        close_token();
        if (best == separator_) close_word();
        // No token can start before t1 now: once that is past the gap, the utterance is over. Deciding here
        // rather than at the next token gives the same split, and sends the utterance without waiting.
        if (has_content() && t1 - last_end_ > gap_) close_utterance(ready);
        return;
    }
    if (repeat) {  // the same token over consecutive frames is one token
        token_end_ = t1;
        token_sum_ += p;
        ++token_frames_;
        last_end_ = t1;
        return;
    }
    close_token();
    if (has_content() && t0 - last_end_ > gap_) close_utterance(ready);
    token_ = best;
    token_start_ = t0;
    token_end_ = t1;
    token_sum_ = p;
    token_frames_ = 1;
    last_end_ = t1;
}

void CtcDecoder::finish(std::vector<Transcript>& ready) {
    close_utterance(ready);
    previous_ = -1;
}

}  // namespace arpipe
