// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Inference: the TorchScript model. This header is torch-free; infer.cpp is the only translation unit of the
// library that includes LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arpipe/engine.h"

namespace arpipe {

/// Holds LibTorch's pools at one thread: intra-op for the calling thread (OpenMP's thread count is per
/// thread, so every worker must call this), inter-op once for the process. Cheap to call again. The engine
/// calls it only through Engine::Impl::pin_threads (src/pipeline/engine_impl.h), which honours
/// Config::keep_host_threading; loading a Model does not call it (the caller decides).
void pin_torch_threads();

/// Sets LibTorch's intra-op thread count to `n` (>= 1) with at::set_num_threads, on the calling thread only.
/// Used by the bench's naive engine to reproduce the case study's setup; the pipeline never calls it.
void set_torch_intra_op_threads(int n);

/// Receives the full text of an error raised inside the model (the TorchScript traceback behind a one-line
/// Failure message), for the debug log. Called from any worker thread.
using ModelDebugLog = std::function<void(const std::string&)>;

class Model {
public:
    /// Loads a TorchScript file and its arpipe.json description. Throws Failure(bad_model).
    static std::unique_ptr<Model> load(const std::string& path);
    /// The same from the bytes of such a file; `name` stands for the path in messages and ModelInfo::path.
    static std::unique_ptr<Model> load_bytes(const std::string& bytes, const std::string& name);
    ~Model();
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    [[nodiscard]] const ModelInfo& info() const noexcept;

    /// Where the full text of errors raised inside forward() goes (set before prepare(), never during a
    /// run); none by default.
    void set_debug_log(ModelDebugLog log) { debug_log_ = std::move(log); }

    /// Fixes the input shape of one item ({n_mels, frames} or {samples}) and the batch size, runs the model
    /// twice on a silent batch (TorchScript specialises on the first calls) and checks the output's shape
    /// against the description and its values (finite; in [0, 1] with activation none). Returns the score
    /// steps per segment (1 for clip models). Throws Failure(bad_model), with a one-line message also when
    /// forward() raises.
    std::int64_t prepare(const std::vector<std::int64_t>& item_shape, int batch);

    /// Runs one batch of `batch` items (the shape given to prepare) and writes raw scores
    /// [batch][steps][labels] to `out`. Safe to call from many threads at once.
    /// Throws Failure(model_output) when the output is not a tensor of exactly that shape
    /// (check_output_shape) or when forward() raises (a one-line message; the whole report goes to the debug
    /// log).
    void forward(const float* input, int batch, std::vector<float>& out) const;

    [[nodiscard]] std::int64_t steps() const noexcept { return steps_; }

private:
    struct Impl;
    explicit Model(std::unique_ptr<Impl> impl);
    template <typename Load>
    static std::unique_ptr<Model> load_from(const std::string& path, Load&& load);
    std::unique_ptr<Impl> impl_;
    std::int64_t steps_ = 0;
    ModelDebugLog debug_log_;
};

}  // namespace arpipe
