// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "infer.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "failure.h"
#include "model_info.h"

namespace arpipe {
namespace {

std::string first_line(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string shape_string(at::IntArrayRef sizes) {
    std::string s = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + "]";
}

}  // namespace

void pin_torch_threads() {
    static std::once_flag interop_once;
    std::call_once(interop_once, [] {
        try {
            at::set_num_interop_threads(1);
        } catch (const c10::Error&) {
            // Already fixed by someone else in this process (a host that uses torch too); nothing to do.
        }
    });
    if (at::get_num_threads() != 1) at::set_num_threads(1);
}

void set_torch_intra_op_threads(int n) { at::set_num_threads(n); }

struct Model::Impl {
    // Module::forward is not marked const, but running a loaded module for inference from many threads at
    // once is safe; the handle itself is never modified after prepare().
    mutable torch::jit::Module module;
    ModelInfo info;
    std::vector<std::int64_t> item_shape;
    std::int64_t item_size = 0;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const noexcept { return impl_->info; }

std::unique_ptr<Model> Model::load(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Failure(ErrorCode::bad_model, "model file not found: " + path);
    if (!fs::is_regular_file(path, ec)) throw Failure(ErrorCode::bad_model, "model path is not a file: " + path);
    pin_torch_threads();

    auto impl = std::make_unique<Impl>();
    torch::jit::ExtraFilesMap extra{{"arpipe.json", ""}};
    try {
        impl->module = torch::jit::load(path, c10::kCPU, extra);
    } catch (const c10::Error& e) {
        throw Failure(ErrorCode::bad_model,
                      "cannot load " + path + " as TorchScript: " + first_line(e.what_without_backtrace()));
    } catch (const std::exception& e) {
        throw Failure(ErrorCode::bad_model, "cannot load " + path + " as TorchScript: " + first_line(e.what()));
    }
    impl->module.eval();
    try {
        impl->info = parse_model_description(extra["arpipe.json"]);
    } catch (const Failure& f) {
        throw Failure(f.code(), path + ": " + f.what());
    }
    impl->info.path = path;
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

std::int64_t Model::prepare(const std::vector<std::int64_t>& item_shape, int batch) {
    impl_->item_shape = item_shape;
    impl_->item_size = 1;
    for (auto d : item_shape) impl_->item_size *= d;
    const ModelInfo& info = impl_->info;
    const auto n_labels = static_cast<std::int64_t>(info.labels.size());

    std::vector<float> zeros(static_cast<std::size_t>(impl_->item_size * batch), 0.0f);
    if (info.input_kind == InputKind::log_mel)  // a silent window's features, not raw zeros
        std::fill(zeros.begin(), zeros.end(), static_cast<float>(std::log(info.log_offset)));
    std::vector<float> out;
    std::vector<std::int64_t> shape{batch};
    shape.insert(shape.end(), item_shape.begin(), item_shape.end());
    for (int round = 0; round < 2; ++round) {
        at::Tensor y;
        try {
            c10::InferenceMode guard;
            at::Tensor x = torch::from_blob(zeros.data(), shape, torch::kFloat);
            c10::IValue r = impl_->module.forward({x});
            if (r.isTuple()) r = r.toTupleRef().elements().at(0);
            if (!r.isTensor()) throw Failure(ErrorCode::bad_model, info.path + ": forward() does not return a tensor");
            y = r.toTensor();
        } catch (const c10::Error& e) {
            throw Failure(ErrorCode::bad_model, info.path + ": forward() fails on an input of shape " +
                                                    shape_string(shape) + ": " + first_line(e.what_without_backtrace()));
        }
        const auto sizes = y.sizes();
        const std::string got = shape_string(sizes);
        if (info.output_kind == OutputKind::clip) {
            if (sizes.size() != 2 || sizes[0] != batch || sizes[1] != n_labels)
                throw Failure(ErrorCode::bad_model, info.path + ": output shape " + got + " does not match [" +
                                                        std::to_string(batch) + ", " + std::to_string(n_labels) +
                                                        "] (clip output, " + std::to_string(n_labels) + " labels)");
            steps_ = 1;
        } else {
            if (sizes.size() != 3 || sizes[0] != batch || sizes[2] != n_labels || sizes[1] < 1)
                throw Failure(ErrorCode::bad_model, info.path + ": output shape " + got + " does not match [" +
                                                        std::to_string(batch) + ", T, " + std::to_string(n_labels) +
                                                        "] (frames output, " + std::to_string(n_labels) + " labels)");
            const double covered = static_cast<double>(sizes[1]) * info.frame_hop_seconds;
            if (std::abs(covered - info.segment_seconds) > info.frame_hop_seconds + 1e-9)
                throw Failure(ErrorCode::bad_model,
                              info.path + ": " + std::to_string(sizes[1]) + " frames of " +
                                  std::to_string(info.frame_hop_seconds) + " s do not cover a segment of " +
                                  std::to_string(info.segment_seconds) + " s");
            steps_ = sizes[1];
        }
    }
    return steps_;
}

void Model::forward(const float* input, int batch, std::vector<float>& out) const {
    std::vector<std::int64_t> shape{batch};
    shape.insert(shape.end(), impl_->item_shape.begin(), impl_->item_shape.end());
    const auto n_labels = static_cast<std::int64_t>(impl_->info.labels.size());
    const std::int64_t expected = batch * steps_ * n_labels;
    try {
        c10::InferenceMode guard;
        // from_blob does not copy; the model never writes to its input.
        at::Tensor x = torch::from_blob(const_cast<float*>(input), shape, torch::kFloat);
        c10::IValue r = impl_->module.forward({x});
        if (r.isTuple()) r = r.toTupleRef().elements().at(0);
        at::Tensor y = r.toTensor().to(torch::kFloat).contiguous();
        if (y.numel() != expected)
            throw Failure(ErrorCode::model_output, "model output has shape " + shape_string(y.sizes()) + ", expected " +
                                                       std::to_string(expected) + " values");
        out.assign(y.data_ptr<float>(), y.data_ptr<float>() + expected);
    } catch (const c10::Error& e) {
        throw Failure(ErrorCode::model_output, std::string("model call failed: ") + first_line(e.what_without_backtrace()));
    }
}

}  // namespace arpipe
