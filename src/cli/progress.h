// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The CLI's sink decorator: forwards records to a writer, keeps the tally the exit code needs, and draws a
// one-line progress display on stderr when it is a terminal.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "arpipe/result.h"

namespace arpipe::cli {

class ProgressSink final : public Sink {
public:
    ProgressSink(Sink& inner, bool show_progress) : inner_(inner), show_(show_progress) {}

    void on_event(const Event& e) override;
    void on_summary(const FileSummary& s) override;
    void on_error(const FileError& e) override;
    void on_progress(const Progress& p) override;
    void on_scores(const Scores& s) override;
    void on_transcript(const Transcript& t) override;
    void on_finish() override;

    [[nodiscard]] const std::vector<std::string>& not_processed() const { return not_processed_; }
    [[nodiscard]] std::size_t failed() const { return failed_; }

private:
    void clear_line();
    Sink& inner_;
    bool show_;
    bool line_shown_ = false;
    std::chrono::steady_clock::time_point last_draw_{};
    std::vector<std::string> not_processed_;
    std::size_t failed_ = 0;
};

}  // namespace arpipe::cli

namespace arpipe::cli {

/// Samples the process's memory at most every `interval_ms` (from the output filter's progress calls, so no
/// thread of its own) and writes one CSV row per sample: the memory-over-time figure of docs/memory.md.
class MemorySampler final : public Sink {
public:
    MemorySampler(Sink& inner, std::FILE* csv, int interval_ms);

    void on_event(const Event& e) override { inner_.on_event(e); }
    void on_summary(const FileSummary& s) override { inner_.on_summary(s); }
    void on_error(const FileError& e) override { inner_.on_error(e); }
    void on_scores(const Scores& s) override { inner_.on_scores(s); }
    void on_transcript(const Transcript& t) override { inner_.on_transcript(t); }
    void on_progress(const Progress& p) override;
    void on_finish() override;

private:
    void sample(double wall_seconds, double audio_seconds);
    Sink& inner_;
    std::FILE* csv_;
    int interval_ms_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_{};
    double audio_seconds_ = 0;
};

}  // namespace arpipe::cli
