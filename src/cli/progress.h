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
