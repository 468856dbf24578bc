// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// A model ready to run: the TorchScript module and its description, the feature plan its input needs, the
// features of a silent window (to pad short batches), warmed up at a fixed batch size.
// The one place where the pipeline's engine and the bench's naive engine set a model up.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "features.h"
#include "infer.h"
#include "postprocess.h"

namespace arpipe {

struct PreparedModel {
    std::unique_ptr<Model> model;
    std::unique_ptr<LogMel> logmel;          ///< log_mel models only
    std::int64_t steps = 1;                  ///< score steps per segment (1 for clip models)
    std::vector<std::int64_t> item_shape;    ///< one segment's model input: {n_mels, frames} or {samples}
    std::size_t item_size = 0;               ///< floats per segment of model input
    std::vector<float> silent_features;      ///< a silent window's features (log_mel models)

    /// Loads `path`, checks that its buffers fit (check_buffer_sizes), plans its features and warms it up at
    /// `batch` rows. `debug_log` receives the full report of an error raised inside the model, at load and
    /// in every later forward() (see Model::set_debug_log). Throws Failure.
    static PreparedModel load(const std::string& path, int batch, ModelDebugLog debug_log = {});
    /// The same for a model already loaded (e.g. from bytes with Model::load_bytes).
    static PreparedModel prepare(std::unique_ptr<Model> model, int batch, ModelDebugLog debug_log = {});
};

/// The most memory one batch of windows may need in the buffers arpipe sizes from a model's description.
inline constexpr double kMaxBatchBytes = 4.0 * 1024 * 1024 * 1024;

/// Bytes the buffers of `windows` windows of this model take, estimated from its description alone: per
/// window, the model input (n_mels x frames features, or the samples), the samples it reads and its scores
/// (steps x labels). A token holds at least one batch of windows.
[[nodiscard]] double window_buffer_bytes(const ModelInfo& info, std::int64_t windows);

/// Throws Failure(bad_model) when a batch of `batch` windows needs more than kMaxBatchBytes, naming the
/// settings that make one window large and the bytes. Called before anything of that size is allocated.
void check_buffer_sizes(const ModelInfo& info, int batch);

}  // namespace arpipe
