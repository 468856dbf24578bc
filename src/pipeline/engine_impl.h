// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What a loaded engine holds, shared by engine.cpp (loading) and run.cpp (the pipeline).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arpipe/engine.h"
#include "stages/features.h"
#include "stages/infer.h"
#include "stages/postprocess.h"

namespace spdlog {
class logger;
}

namespace arpipe {

struct Engine::Impl {
    Config config;
    std::shared_ptr<spdlog::logger> log;
    std::unique_ptr<Model> model;
    std::unique_ptr<LogMel> logmel;  // log_mel models only
    Activation activation = Activation::none;
    std::int64_t steps = 1;
    std::size_t item_size = 0;  // model input floats per segment
    std::vector<float> silent_features;  // one zero window's features, to pad batches
};

/// Runs one pipeline over `inputs` (run.cpp).
RunStats run_pipeline(const Engine::Impl& engine, const std::vector<Input>& inputs, Sink& sink, const RunOptions& options);

/// Which BLAS the process has loaded, from /proc/self/maps.
std::string blas_in_use();

}  // namespace arpipe
