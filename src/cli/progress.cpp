// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "progress.h"

namespace arpipe::cli {

void ProgressSink::clear_line() {
    if (!line_shown_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    line_shown_ = false;
}

void ProgressSink::on_event(const Event& e) {
    clear_line();
    inner_.on_event(e);
}

void ProgressSink::on_scores(const Scores& s) {
    clear_line();
    inner_.on_scores(s);
}

void ProgressSink::on_transcript(const Transcript& t) {
    clear_line();
    inner_.on_transcript(t);
}

void ProgressSink::on_summary(const FileSummary& s) {
    clear_line();
    inner_.on_summary(s);
}

void ProgressSink::on_error(const FileError& e) {
    clear_line();
    ++failed_;
    if (e.code == ErrorCode::cancelled) not_processed_.push_back(e.file);
    inner_.on_error(e);
}

void ProgressSink::on_progress(const Progress& p) {
    inner_.on_progress(p);
    if (!show_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    const double speed = p.wall_seconds > 0 ? p.audio_seconds_done / p.wall_seconds : 0.0;
    char file_part[64] = "";
    if (p.file_segments_total > 0 && p.file_segments_done < p.file_segments_total)
        std::snprintf(file_part, sizeof file_part, ", this file %.0f%%",
                      100.0 * static_cast<double>(p.file_segments_done) / static_cast<double>(p.file_segments_total));
    std::fprintf(stderr, "\r\033[K[%zu/%zu files] %.1f s of audio, %.1fx real time%s", p.files_done, p.files_total,
                 p.audio_seconds_done, speed, file_part);
    std::fflush(stderr);
    line_shown_ = true;
}

void ProgressSink::on_finish() {
    clear_line();
    inner_.on_finish();
}

}  // namespace arpipe::cli

#include "arpipe/engine.h"

namespace arpipe::cli {

MemorySampler::MemorySampler(Sink& inner, std::FILE* csv, int interval_ms) : inner_(inner), csv_(csv), interval_ms_(interval_ms) {
    std::fputs("wall_seconds,audio_seconds,rss_mb,peak_rss_mb,anon_rss_mb,jemalloc_allocated_mb,jemalloc_active_mb,jemalloc_resident_mb\n", csv_);
    sample(0.0, 0.0);
}

void MemorySampler::sample(double wall_seconds, double audio_seconds) {
    const MemoryStats m = memory_stats();
    std::fprintf(csv_, "%.3f,%.1f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", wall_seconds, audio_seconds, m.rss_mb, m.peak_rss_mb,
                 m.anon_rss_mb, m.allocated_mb, m.active_mb, m.resident_mb);
}

void MemorySampler::on_progress(const Progress& p) {
    inner_.on_progress(p);
    audio_seconds_ = p.audio_seconds_done;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(interval_ms_)) return;
    last_ = now;
    sample(std::chrono::duration<double>(now - start_).count(), p.audio_seconds_done);
}

void MemorySampler::on_finish() {
    sample(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(), audio_seconds_);
    std::fflush(csv_);
    inner_.on_finish();
}

}  // namespace arpipe::cli
