// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What travels through the pipeline: one chunk of an input (up to `rows` consecutive segments, read from one
// contiguous span of audio), with the buffers every stage fills. Tokens are recycled through a pool, so a long run allocates them once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arpipe/result.h"
#include "stages/decode.h"
#include "stages/segment.h"

namespace arpipe {

struct Token {
    /// What the decode filter has to do with the token.
    enum class Job {
        none,    ///< a record-only token (an input that failed before any audio, or was cancelled)
        decode,  ///< decode the planned span of the input (a chunk) from the decode filter's own handle
        filled,  ///< the input filter already filled it (an input read start to end, see PipelineRun)
    };

    std::size_t file_index = 0;
    Job job = Job::none;

    // The plan, for Job::decode: segments [first_segment, first_segment + per_chunk) of the input, which read
    // the model-rate samples [first_sample, end_sample) of a stream the header says is `stream_samples` long
    // and ends at source frame `end_frame`.
    std::int64_t first_segment = 0;
    std::int64_t first_sample = 0, end_sample = 0;
    std::int64_t stream_samples = 0, end_frame = 0;
    std::unique_ptr<AudioSource> source;     ///< the input filter's open handle, handed to the first chunk

    int count = 0;                      ///< segments in this token (0 for a record-only token)
    std::vector<SegmentInfo> segments;  ///< `rows` entries, the first `count` used
    std::vector<float> audio;           ///< the contiguous model-rate samples the windows read; window i at i * hop
    std::vector<float> features;        ///< [rows][n_mels][frames] (log_mel models only)
    std::vector<float> scores;          ///< [rows][steps][labels] after activation and top-k
    std::vector<float> all_scores;      ///< the same before top-k, when the run reports scores (RunOptions::scores)
    bool closes_file = false;           ///< the input's last token: a summary (or the error) follows it
    double source_seconds = 0;          ///< decoded duration, set on the closing token
    int source_rate_hz = 0, source_channels = 0;
    std::int64_t file_segments_announced = -1;  ///< from the input's header, for progress; -1 if unknown

    bool failed = false;                ///< the input failed; `error_*` say why
    bool scores_valid = true;           ///< false when inference failed for this token
    ErrorCode error_code = ErrorCode::internal;
    std::string error_message;

    double decode_seconds = 0, features_seconds = 0, infer_seconds = 0;

    void fail(ErrorCode code, std::string message) {
        failed = true;
        closes_file = true;
        error_code = code;
        error_message = std::move(message);
    }
    void reset(std::size_t file) {
        file_index = file;
        job = Job::none;
        first_segment = first_sample = end_sample = stream_samples = end_frame = 0;
        source.reset();
        count = 0;
        closes_file = failed = false;
        scores_valid = true;
        source_seconds = 0;
        source_rate_hz = source_channels = 0;
        file_segments_announced = -1;
        error_message.clear();
        decode_seconds = features_seconds = infer_seconds = 0;
    }
};

/// A token as it travels between filters. TBB moves items through buffers inside libtbb, whose
/// synchronisation ThreadSanitizer cannot see; every access to the pointer here is atomic (GCC builtins on a
/// plain member, so not even construction is a plain write), so TSan never mistakes a hand-off for a race.
/// On x86 these compile to ordinary loads and stores.
class TokenRef {
public:
    TokenRef() { __atomic_store_n(&p_, nullptr, __ATOMIC_RELAXED); }
    explicit TokenRef(std::unique_ptr<Token> t) { __atomic_store_n(&p_, t.release(), __ATOMIC_RELEASE); }
    TokenRef(TokenRef&& other) noexcept { __atomic_store_n(&p_, other.release(), __ATOMIC_RELEASE); }
    TokenRef& operator=(TokenRef&& other) noexcept {
        if (this != &other) delete __atomic_exchange_n(&p_, other.release(), __ATOMIC_ACQ_REL);
        return *this;
    }
    TokenRef(const TokenRef&) = delete;
    TokenRef& operator=(const TokenRef&) = delete;
    ~TokenRef() { delete __atomic_load_n(&p_, __ATOMIC_ACQUIRE); }

    Token& operator*() const { return *__atomic_load_n(&p_, __ATOMIC_ACQUIRE); }
    std::unique_ptr<Token> take() { return std::unique_ptr<Token>(release()); }

private:
    Token* release() { return __atomic_exchange_n(&p_, nullptr, __ATOMIC_ACQ_REL); }
    Token* p_;
};

/// Recycles tokens and counts how many are alive, to prove the live-token bound.
class TokenPool {
public:
    /// Tokens of `rows` segment rows, `audio_size` contiguous samples and `feature_size` floats of features
    /// per row.
    TokenPool(int rows, std::size_t audio_size, std::size_t feature_size) : rows_(rows), audio_(audio_size), features_(feature_size) {}

    std::unique_ptr<Token> acquire(std::size_t file) {
        std::unique_ptr<Token> t;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!free_.empty()) {
                t = std::move(free_.back());
                free_.pop_back();
            }
            max_live_ = std::max(max_live_, ++live_);
        }
        // The big buffers are sized by the parallel filters that fill them (ensure_buffers), not here: this
        // runs in the serial input filter, and zero-filling megabytes there would be serial time.
        if (!t) {
            t = std::make_unique<Token>();
            t->segments.resize(static_cast<std::size_t>(rows_));
        }
        t->reset(file);
        return t;
    }

    /// Sizes a token's audio and feature buffers; a no-op for a recycled token. Called from parallel filters.
    void ensure_buffers(Token& t) const {
        if (t.audio.capacity() < audio_) t.audio.reserve(audio_);
        const std::size_t features = features_ * static_cast<std::size_t>(rows_);
        if (t.features.size() < features) t.features.resize(features);
    }

    void release(std::unique_ptr<Token> t) {
        std::lock_guard<std::mutex> lock(mutex_);
        --live_;
        free_.push_back(std::move(t));
    }

    [[nodiscard]] int max_live() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return max_live_;
    }

private:
    int rows_;
    std::size_t audio_, features_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Token>> free_;
    int live_ = 0, max_live_ = 0;
};

}  // namespace arpipe
