// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// A LibTorch-free stand-in for src/stages/infer.cpp, linked only into the ThreadSanitizer build: the
// OpenMP runtime inside LibTorch is not instrumented, so TSan checks the pipeline's own concurrency
// (tokens, pool, per-thread FFTW scratch, serial filters, sink) against this model instead.
//
// The "model file" is the arpipe.json description itself. forward() computes, per segment, logits
// (quiet, loud) from the mean input value, which is deterministic and cheap.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "stages/failure.h"
#include "stages/infer.h"
#include "stages/memory_cap.h"
#include "stages/model_info.h"

namespace arpipe {

void pin_torch_threads() {}

void install_memory_cap(std::int64_t) {}  // no LibTorch allocator to wrap here

struct Model::Impl {
    ModelInfo info;
    std::int64_t item_size = 0;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const noexcept { return impl_->info; }

std::unique_ptr<Model> Model::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Failure(ErrorCode::bad_model, "model file not found: " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return load_bytes(ss.str(), path);
}

std::unique_ptr<Model> Model::load_bytes(const std::string& bytes, const std::string& name) {
    auto impl = std::make_unique<Impl>();
    impl->info = parse_model_description(bytes);
    impl->info.path = name;
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

std::int64_t Model::prepare(const std::vector<std::int64_t>& item_shape, int /*batch*/) {
    impl_->item_size = std::accumulate(item_shape.begin(), item_shape.end(), std::int64_t{1}, std::multiplies<>());
    steps_ = 1;
    return steps_;
}

void Model::forward(const float* input, int batch, std::vector<float>& out) const {
    const auto labels = static_cast<std::int64_t>(impl_->info.labels.size());
    out.assign(static_cast<std::size_t>(batch * labels), 0.0f);
    for (int b = 0; b < batch; ++b) {
        const float* x = input + b * impl_->item_size;
        const double mean = std::accumulate(x, x + impl_->item_size, 0.0) / static_cast<double>(impl_->item_size);
        out[static_cast<std::size_t>(b * labels)] = static_cast<float>(-(mean + 6.0));
        if (labels > 1) out[static_cast<std::size_t>(b * labels + 1)] = static_cast<float>(mean + 6.0);
    }
}

}  // namespace arpipe
