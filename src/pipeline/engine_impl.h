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
};

/// Runs one pipeline over `inputs` (run.cpp).
RunStats run_pipeline(const Engine::Impl& engine, const std::vector<Input>& inputs, Sink& sink, const RunOptions& options);

/// Which BLAS the process has loaded, from /proc/self/maps.
std::string blas_in_use();

}  // namespace arpipe
