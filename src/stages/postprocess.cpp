// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "postprocess.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

#include "ctc.h"
#include "failure.h"

namespace arpipe {
namespace {

/// The shortest text that reads back as `x` ("7", "1.0000001", "-0.25").
std::string float_text(float x) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

int effective_top_k(const ModelInfo& info, const PostConfig& post) noexcept {
    return lexicon_in_use(info, post) != nullptr ? 0 : post.top_k;
}

void score_steps(float* scores, std::int64_t steps, std::int64_t labels, Activation activation, int top_k) {
    for (std::int64_t s = 0; s < steps; ++s) {
        float* row = scores + s * labels;
        for (std::int64_t c = 0; c < labels; ++c)
            if (!std::isfinite(row[c]))
                throw Failure(ErrorCode::model_output, "model output has a non-finite value (" + std::to_string(row[c]) +
                                                           ") at step " + std::to_string(s) + ", label " + std::to_string(c));
        if (activation == Activation::softmax) {
            const float mx = *std::max_element(row, row + labels);
            double sum = 0;
            for (std::int64_t c = 0; c < labels; ++c) sum += (row[c] = std::exp(row[c] - mx));
            for (std::int64_t c = 0; c < labels; ++c) row[c] = static_cast<float>(row[c] / sum);
        } else if (activation == Activation::sigmoid) {
            for (std::int64_t c = 0; c < labels; ++c) row[c] = 1.0f / (1.0f + std::exp(-row[c]));
        }
        // Softmax and sigmoid land in [0, 1] by construction (in float too); with `none` the model's own
        // numbers are the scores, and a 7 is no probability.
        for (std::int64_t c = 0; c < labels; ++c)
            if (!(row[c] >= 0.0f && row[c] <= 1.0f))
                throw Failure(ErrorCode::model_output,
                              "model score " + float_text(row[c]) + " at step " + std::to_string(s) + ", label " +
                                  std::to_string(c) + " is outside [0, 1] (activation " +
                                  std::string(to_string(activation)) + ")");
    }
    keep_top_k(scores, steps, labels, top_k);
}

void score_steps(float* scores, std::int64_t steps, std::int64_t labels, Activation activation, int top_k,
                 std::vector<float>* all) {
    if (all == nullptr) return score_steps(scores, steps, labels, activation, top_k);
    score_steps(scores, steps, labels, activation, 0);
    all->assign(scores, scores + steps * labels);
    keep_top_k(scores, steps, labels, top_k);
}

void keep_top_k(float* scores, std::int64_t steps, std::int64_t labels, int top_k) {
    if (top_k <= 0 || top_k >= labels) return;
    std::vector<int> order(static_cast<std::size_t>(labels));
    for (std::int64_t s = 0; s < steps; ++s) {
        float* row = scores + s * labels;
        std::iota(order.begin(), order.end(), 0);
        // Ties go to the lower label index, so the choice never depends on anything but the scores.
        std::stable_sort(order.begin(), order.end(), [row](int a, int b) { return row[a] > row[b]; });
        for (std::int64_t k = top_k; k < labels; ++k) row[order[static_cast<std::size_t>(k)]] = 0.0f;
    }
}

std::vector<std::int64_t> expected_output_shape(OutputKind kind, std::int64_t batch, std::int64_t steps,
                                                std::int64_t labels) {
    if (kind == OutputKind::clip) return {batch, labels};
    return {batch, steps, labels};
}

std::string shape_string(std::span<const std::int64_t> dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

void check_output_shape(std::span<const std::int64_t> got, std::span<const std::int64_t> expected, OutputKind kind) {
    if (std::equal(got.begin(), got.end(), expected.begin(), expected.end())) return;
    const char* layout = kind == OutputKind::clip     ? " (clip output: batch, labels)"
                         : kind == OutputKind::frames ? " (frames output: batch, frames, labels)"
                                                      : " (ctc output: batch, frames, tokens)";
    throw Failure(ErrorCode::model_output,
                  "model output shape " + shape_string(got) + " does not match " + shape_string(expected) + layout);
}

std::string model_error_line(std::string_view what) {
    constexpr std::string_view kPreamble = "The following operation failed in the TorchScript interpreter.";
    std::vector<std::string_view> lines;
    for (std::size_t at = 0; at <= what.size();) {
        const std::size_t nl = std::min(what.find('\n', at), what.size());
        lines.push_back(what.substr(at, nl - at));
        at = nl + 1;
    }
    std::string_view pick;
    if (!lines.empty() && lines.front().starts_with(kPreamble)) {
        // The interpreter's traceback: "Traceback of TorchScript..." headings and indented code, then the
        // error itself on the first line that is neither.
        for (std::size_t i = 1; i < lines.size() && pick.empty(); ++i) {
            const std::string_view l = lines[i];
            if (l.empty() || l.front() == ' ' || l.front() == '\t' || l.starts_with("Traceback of TorchScript")) continue;
            pick = trim(l);
        }
    }
    for (std::size_t i = 0; i < lines.size() && pick.empty(); ++i) pick = trim(lines[i]);
    if (pick.starts_with("builtins.")) pick.remove_prefix(9);  // "builtins.ValueError: ..." from a Python raise
    constexpr std::size_t kMax = 300;
    std::string out(pick.substr(0, kMax));
    if (pick.size() > kMax) {
        // Cut before the character the limit falls in, never inside its UTF-8 bytes.
        std::size_t n = kMax;
        while (n > 0 && (static_cast<unsigned char>(pick[n]) & 0xC0) == 0x80) --n;
        out.resize(n);
        out += "...";
    }
    for (char& ch : out)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = ' ';
    return out.empty() ? "(no message)" : out;
}

EventTracker::EventTracker(std::size_t n_labels, const PostConfig& config)
    : config_(config), on_(config.threshold), off_(config.effective_off_threshold()), open_(n_labels), pending_(n_labels) {}

void EventTracker::finalize(int label, Open& p) {
    const TrackedEvent e{label, p.start, p.end, static_cast<float>(p.sum / p.count), p.peak};
    // An event shorter than a millisecond, such as all of a 1-sample file or a sliver of a step cut by the
    // end of the audio, would be written with start == end: it is not emitted.
    const bool visible = std::round(e.end * kTimeTicksPerSecond) > std::round(e.start * kTimeTicksPerSecond);
    if (visible && e.end - e.start >= config_.min_event_seconds) done_.push_back(e);
    p = Open{};
}

void EventTracker::close(int label) {
    Open& o = open_[static_cast<std::size_t>(label)];
    Open& p = pending_[static_cast<std::size_t>(label)];
    if (p.active) finalize(label, p);  // only reached when the pending event could not be bridged
    p = o;
    o = Open{};
}

void EventTracker::push(double t0, double t1, const float* scores, std::vector<TrackedEvent>& ready) {
    for (std::size_t c = 0; c < open_.size(); ++c) {
        const float s = scores[c];
        Open& o = open_[c];
        Open& p = pending_[c];
        if (o.active) {
            if (s >= off_) {
                o.end = t1;
                o.sum += s;
                ++o.count;
                o.peak = std::max(o.peak, s);
            } else {
                close(static_cast<int>(c));
            }
        } else if (s >= on_) {
            if (p.active && t0 - p.end < config_.min_gap_seconds) {
                o = p;  // bridge the short gap: the pending event goes on
                p = Open{};
                o.end = t1;
            } else {
                o = Open{true, t0, t1, 0.0, 0, 0.0f};
            }
            o.sum += s;
            ++o.count;
            o.peak = std::max(o.peak, s);
        }
        // A pending event whose gap can no longer be bridged is final.
        if (p.active && !o.active && t1 - p.end >= config_.min_gap_seconds) finalize(static_cast<int>(c), p);
    }
    // Events may be released once no open or pending event starts before them.
    double horizon = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < open_.size(); ++c) {
        if (open_[c].active) horizon = std::min(horizon, open_[c].start);
        if (pending_[c].active) horizon = std::min(horizon, pending_[c].start);
    }
    release(horizon, ready);
}

void EventTracker::finish(std::vector<TrackedEvent>& ready) {
    for (std::size_t c = 0; c < open_.size(); ++c) {
        if (open_[c].active) close(static_cast<int>(c));
        if (pending_[c].active) finalize(static_cast<int>(c), pending_[c]);
    }
    release(std::numeric_limits<double>::infinity(), ready);
}

void EventTracker::release(double horizon, std::vector<TrackedEvent>& ready) {
    if (done_.empty()) return;
    std::stable_sort(done_.begin(), done_.end(), [](const TrackedEvent& a, const TrackedEvent& b) {
        return a.start != b.start ? a.start < b.start : a.label < b.label;
    });
    std::size_t n = 0;
    while (n < done_.size() && done_[n].start <= horizon) ready.push_back(done_[n++]);
    done_.erase(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(n));
}

void track_segment(const ModelInfo& info, std::int64_t steps, const SegmentInfo& seg, const float* scores,
                   EventTracker& tracker, std::vector<TrackedEvent>& ready) {
    for_each_step(info, steps, seg, scores,
                  [&](double t0, double t1, const float* row) { tracker.push(t0, t1, row, ready); });
}

void for_each_step(const ModelInfo& info, std::int64_t steps, const SegmentInfo& seg, const float* scores,
                   const std::function<void(double, double, const float*)>& step) {
    const double rate = info.sample_rate_hz;
    const double S = static_cast<double>(info.segment_samples);
    const double H = static_cast<double>(info.hop_samples);
    const double start = static_cast<double>(seg.start_sample) / rate;
    const double audio_end = static_cast<double>(seg.start_sample + seg.valid_samples) / rate;
    if (info.output_kind == OutputKind::clip) {
        const double t0 = seg.index == 0 ? 0.0 : start + (S - H) / 2.0 / rate;
        const double t1 = seg.last ? audio_end : start + (S + H) / 2.0 / rate;
        if (t1 > t0) step(t0, t1, scores);
        return;
    }
    const auto n_labels = static_cast<std::int64_t>(info.labels.size());
    const double fh = info.frame_hop_seconds;
    if (info.output_kind == OutputKind::ctc) {
        // The window-middle rule (docs/model-contract.md, "CTC output"): window i owns the frames that start in
        // [i * H + (S - H) / 2, i * H + (S + H) / 2), in samples; the first also owns its start and the last its
        // end. The bounds are exact in doubles (sums of integers and halves), the same whichever window computes
        // them, so every frame time belongs to exactly one window.
        constexpr double kInf = std::numeric_limits<double>::infinity();
        const double first = static_cast<double>(seg.start_sample);
        const double lo = seg.index == 0 ? -kInf : first + (S - H) / 2.0;
        const double hi = seg.last ? kInf : first + (S + H) / 2.0;
        const double frame_samples = fh * rate;
        const auto tick = [](double t) { return std::round(t * kCtcTimeTicksPerSecond) / kCtcTimeTicksPerSecond; };
        for (std::int64_t j = 0; j < steps; ++j) {
            const double x = first + static_cast<double>(j) * frame_samples;
            if (x < lo - 1e-6) continue;
            if (x >= hi - 1e-6) break;
            const double f0 = tick(x / rate);
            if (seg.last && f0 >= audio_end - 1e-9) break;  // past the end of the audio
            step(f0, tick(f0 + fh), scores + j * n_labels);
        }
        return;
    }
    const double context_end = seg.index == 0 ? start : start + (S - H) / rate;
    for (std::int64_t j = 0; j < steps; ++j) {
        const double f0 = start + static_cast<double>(j) * fh;
        if (f0 + 1e-9 < context_end) continue;  // warm-up context, scored by the previous segment
        if (seg.last && f0 >= audio_end - 1e-9) break;
        const double f1 = seg.last ? std::min(f0 + fh, audio_end) : f0 + fh;
        step(f0, f1, scores + j * n_labels);
    }
}

InputRecords::InputRecords(const ModelInfo& info, std::int64_t steps, const PostConfig& post, bool scores)
    : info_(info),
      steps_(steps),
      post_(post),
      scores_(scores),
      tracker_(info.labels.size(), post),
      decoder_(info, post.utterance_gap_seconds, lexicon_in_use(info, post), word_penalty_in_use(info, post),
               language_model_in_use(info, post), lm_weight_in_use(info, post), static_cast<std::size_t>(post.beam_width)) {}

void InputRecords::start(std::size_t index, const std::string& name) {
    index_ = index;
    name_ = name;
    tracker_ = EventTracker(info_.labels.size(), post_);
    decoder_.reset();
    segments_ = events_ = transcripts_ = 0;
}

void InputRecords::segment(const SegmentInfo& seg, const float* top, const float* all, Sink& sink) {
    ++segments_;
    const auto n_labels = static_cast<std::int64_t>(info_.labels.size());
    if (scores_) {
        for_each_step(info_, steps_, seg, all, [&](double t0, double t1, const float* row) {
            record_.file_index = index_;
            record_.file = name_;
            record_.start_seconds = t0;
            record_.end_seconds = t1;
            record_.values.assign(row, row + n_labels);
            sink.on_scores(record_);
        });
    }
    if (info_.output_kind == OutputKind::ctc) {
        // The argmax and its posterior are the same before and after top-k (k >= 1 keeps the best, ties to the
        // lower index as argmax); lexicon decoding reads every posterior, and effective_top_k keeps them all.
        utterances_.clear();
        for_each_step(info_, steps_, seg, top,
                      [&](double t0, double t1, const float* row) { decoder_.push(t0, t1, row, utterances_); });
        emit_transcripts(sink, false);
        return;
    }
    ready_.clear();
    track_segment(info_, steps_, seg, top, tracker_, ready_);
    emit(sink, false);
}

void InputRecords::close(Sink& sink, bool cut) {
    if (info_.output_kind == OutputKind::ctc) {
        utterances_.clear();
        decoder_.finish(utterances_);
        emit_transcripts(sink, cut);
        return;
    }
    ready_.clear();
    tracker_.finish(ready_);
    emit(sink, cut);
}

void InputRecords::emit_transcripts(Sink& sink, bool cut) {
    for (Transcript& t : utterances_) {
        t.file_index = index_;
        t.file = name_;
        t.cut = cut;
        ++transcripts_;
        sink.on_transcript(t);
    }
}

FileSummary InputRecords::summary(double duration, int rate, int channels) const {
    FileSummary s{index_, name_, duration, segments_, events_, rate, channels, std::nullopt};
    if (info_.output_kind == OutputKind::ctc) s.transcripts = transcripts_;
    return s;
}

double InputRecords::analysed_seconds() const noexcept {
    return static_cast<double>(segments_ * info_.hop_samples) / info_.sample_rate_hz;
}

void InputRecords::emit(Sink& sink, bool cut) {
    for (const TrackedEvent& t : ready_) {
        const Event ev{index_,  name_, info_.labels[static_cast<std::size_t>(t.label)], t.label, t.start,
                       t.end,   t.score, t.peak, cut};
        ++events_;
        sink.on_event(ev);
    }
}

}  // namespace arpipe
