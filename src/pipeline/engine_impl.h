// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What a loaded engine holds, shared by engine.cpp (loading) and run.cpp (the pipeline).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arpipe/engine.h"
#include "stages/prepared_model.h"

namespace spdlog {
class logger;
}

namespace arpipe {

struct Engine::Impl : PreparedModel {
    Config config;
    std::shared_ptr<spdlog::logger> log;

    /// Sets LibTorch's thread counts for the calling thread before it runs this engine's model: intra-op 1 on
    /// this thread and inter-op 1 once per process (pin_torch_threads), or nothing at all when
    /// `config.keep_host_threading` is set. The only way engine code pins threads: every thread that calls
    /// the model (load, run workers, the caller of a run, a host's arena workers, a stream's caller) calls
    /// this, never pin_torch_threads() or at::set_num_threads directly. Cheap to call again.
    void pin_threads() const {
        if (!config.keep_host_threading) pin_torch_threads();
    }
};

/// Runs one pipeline over `inputs` (run.cpp).
RunStats run_pipeline(const Engine::Impl& engine, const std::vector<Input>& inputs, Sink& sink, const RunOptions& options);

/// Which BLAS the process has loaded, from /proc/self/maps.
std::string blas_in_use();

}  // namespace arpipe
