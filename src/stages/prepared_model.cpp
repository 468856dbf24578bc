// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "prepared_model.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "failure.h"
#include "memory_cap.h"  // format_bytes
#include "model_info.h"

namespace arpipe {
namespace {

/// What one window of the model holds, in floats, by buffer; from the description alone.
struct WindowFloats {
    double frames = 0;  ///< log-mel frames (log_mel models)
    double input = 0;   ///< model input: n_mels x frames, or the samples
    double audio = 0;   ///< samples the window reads
    double steps = 1;   ///< score steps: 1, or the frames a frame model outputs (the contract allows one more)
    double scores = 0;  ///< steps x labels
};

WindowFloats window_floats(const ModelInfo& info) {
    WindowFloats w;
    const auto S = static_cast<double>(info.segment_samples);
    w.audio = S;
    if (info.input_kind == InputKind::log_mel) {
        w.frames = 1.0 + std::floor(S / info.hop_length);  // LogMel::frames
        w.input = static_cast<double>(info.n_mels) * w.frames;
    } else {
        w.input = S;
    }
    if (info.output_kind != OutputKind::clip) w.steps = std::ceil(info.segment_seconds / info.frame_hop_seconds) + 1.0;
    w.scores = w.steps * static_cast<double>(info.labels.size());
    return w;
}

std::string number(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

std::string count(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
}

}  // namespace

double window_buffer_bytes(const ModelInfo& info, std::int64_t windows) {
    const WindowFloats w = window_floats(info);
    return static_cast<double>(windows) * (w.input + w.audio + w.scores) * sizeof(float);
}

void check_buffer_sizes(const ModelInfo& info, int batch) {
    const double bytes = window_buffer_bytes(info, batch);
    if (bytes <= kMaxBatchBytes) return;
    const WindowFloats w = window_floats(info);
    const std::string samples = "segment.seconds " + number(info.segment_seconds) + " at sample_rate_hz " +
                                std::to_string(info.sample_rate_hz) + " is " + count(w.audio) + " samples";
    // Name the buffer that dominates, and the settings that make it large.
    std::string why;
    if (w.scores >= w.input && w.scores >= w.audio)
        why = "one window has " + count(w.steps) + " frames x " + std::to_string(info.labels.size()) +
              " labels of scores (segment.seconds " + number(info.segment_seconds) + " / output.frame_hop_seconds " +
              number(info.frame_hop_seconds) + ")";
    else if (info.input_kind == InputKind::log_mel)
        why = "one window has input.n_mels " + std::to_string(info.n_mels) + " x " + count(w.frames) +
              " frames of features (" + samples + ", one frame every input.hop_length " +
              std::to_string(info.hop_length) + ")";
    else
        why = "one window has " + count(w.audio) + " samples (" + samples + ")";
    throw Failure(ErrorCode::bad_model, info.path + ": too large to run: " + why + "; a batch of " + std::to_string(batch) +
                                            " needs " + count(bytes) + " bytes (" + format_bytes(static_cast<std::int64_t>(bytes)) +
                                            "), more than the " + format_bytes(static_cast<std::int64_t>(kMaxBatchBytes)) +
                                            " arpipe allows");
}

PreparedModel PreparedModel::load(const std::string& path, int batch, ModelDebugLog debug_log) {
    return prepare(Model::load(path), batch, std::move(debug_log));
}

PreparedModel PreparedModel::prepare(std::unique_ptr<Model> model, int batch, ModelDebugLog debug_log) {
    PreparedModel p;
    p.model = std::move(model);
    p.model->set_debug_log(std::move(debug_log));
    const ModelInfo& info = p.model->info();
    check_buffer_sizes(info, batch);  // before the features of a silent window and the warm-up batch exist
    if (info.input_kind == InputKind::log_mel) {
        p.logmel = std::make_unique<LogMel>(log_mel_params(info));
        const std::int64_t frames = p.logmel->frames(info.segment_samples);
        p.item_shape = {info.n_mels, frames};
        // Short batches are padded with the features of silence, not with zeros (log(0 + offset) is not 0).
        const std::vector<float> zeros(static_cast<std::size_t>(info.segment_samples), 0.0f);
        p.silent_features.resize(static_cast<std::size_t>(info.n_mels * frames));
        auto scratch = p.logmel->make_scratch();
        p.logmel->compute(zeros.data(), info.segment_samples, p.silent_features.data(), *scratch);
    } else {
        p.item_shape = {info.segment_samples};
    }
    p.item_size = 1;
    for (const auto d : p.item_shape) p.item_size *= static_cast<std::size_t>(d);
    p.steps = p.model->prepare(p.item_shape, batch);
    return p;
}

}  // namespace arpipe
