// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "infer.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <filesystem>
#include <mutex>
#include <sstream>
#include <span>
#include <string>

#include "failure.h"
#include "model_info.h"
#include "postprocess.h"

namespace arpipe {
namespace {

std::string first_line(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string shape_text(at::IntArrayRef sizes) { return shape_string(std::span(sizes.data(), sizes.size())); }

/// A failure raised inside forward(): a one-line Failure, the whole report (TorchScript traceback, C++
/// backtrace when LibTorch keeps one) to the debug log.
[[noreturn]] void fail_raised(ErrorCode code, const std::string& where, const std::string& text, const std::string& full,
                              const ModelDebugLog& log) {
    if (log) {
        try {
            log(where + "the model raised:\n" + full);
        } catch (...) {
            // The one-line error below is what matters; a logger that fails must not replace it.
        }
    }
    throw Failure(code, where + "the model raised: " + model_error_line(text));
}

/// Runs `body`, which calls the model: a Failure passes as it is, any other exception (c10::Error, the
/// interpreter's own exceptions for a Python `raise`, std::bad_alloc...) becomes a Failure(code).
template <class Body>
void guard_model_call(Body&& body, ErrorCode code, const std::string& where, const ModelDebugLog& log) {
    try {
        body();
    } catch (const Failure&) {
        throw;
    } catch (const c10::Error& e) {
        fail_raised(code, where, e.what_without_backtrace(), e.what(), log);
    } catch (const std::exception& e) {
        fail_raised(code, where, e.what(), e.what(), log);
    }
}

/// The tensor forward() returned (the first element of a tuple), or Failure(code).
at::Tensor output_tensor(c10::IValue r, ErrorCode code, const std::string& where) {
    if (r.isTuple()) {
        const auto& elements = r.toTupleRef().elements();
        if (elements.empty()) throw Failure(code, where + "forward() returns an empty tuple");
        r = elements[0];
    }
    if (!r.isTensor()) throw Failure(code, where + "forward() returns a " + r.tagKind() + ", not a tensor");
    return r.toTensor();
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
    return load_from(path, [&path](torch::jit::ExtraFilesMap& extra) { return torch::jit::load(path, c10::kCPU, extra); });
}

std::unique_ptr<Model> Model::load_bytes(const std::string& bytes, const std::string& name) {
    if (bytes.empty()) throw Failure(ErrorCode::bad_model, name + " is empty (0 bytes)");
    return load_from(name, [&bytes](torch::jit::ExtraFilesMap& extra) {
        std::istringstream in(bytes);
        return torch::jit::load(in, c10::kCPU, extra);
    });
}

template <typename Load>
std::unique_ptr<Model> Model::load_from(const std::string& path, Load&& load) {
    auto impl = std::make_unique<Impl>();
    torch::jit::ExtraFilesMap extra{{"arpipe.json", ""}};
    try {
        impl->module = load(extra);
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
    std::vector<std::int64_t> shape{batch};
    shape.insert(shape.end(), item_shape.begin(), item_shape.end());
    const std::string where = info.path + ": on a silent batch of shape " + shape_string(shape) + ", ";
    for (int round = 0; round < 2; ++round) {
        at::Tensor y;
        guard_model_call([&] {
            c10::InferenceMode guard;
            at::Tensor x = torch::from_blob(zeros.data(), shape, torch::kFloat);
            y = output_tensor(impl_->module.forward({x}), ErrorCode::bad_model, info.path + ": ");
        }, ErrorCode::bad_model, where, debug_log_);
        const auto sizes = y.sizes();
        const std::string got = shape_text(sizes);
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
                                                        "] (" + std::string(to_string(info.output_kind)) + " output, " +
                                                        std::to_string(n_labels) +
                                                        (info.output_kind == OutputKind::ctc ? " tokens)" : " labels)"));
            const double covered = static_cast<double>(sizes[1]) * info.frame_hop_seconds;
            if (std::abs(covered - info.segment_seconds) > info.frame_hop_seconds + 1e-9)
                throw Failure(ErrorCode::bad_model,
                              info.path + ": " + std::to_string(sizes[1]) + " frames of " +
                                  std::to_string(info.frame_hop_seconds) + " s do not cover a segment of " +
                                  std::to_string(info.segment_seconds) + " s");
            steps_ = sizes[1];
        }
        // The values go through the checks every run applies (finite; in [0, 1] after the activation), so
        // that a model breaking them even on silence is refused here rather than failing every input.
        std::vector<float> scores;
        guard_model_call([&] {
            const at::Tensor f = y.to(torch::kFloat).contiguous();
            scores.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
        }, ErrorCode::bad_model, where, debug_log_);
        try {
            score_steps(scores.data(), batch * steps_, n_labels, info.activation, 0);
        } catch (const Failure& f) {
            throw Failure(ErrorCode::bad_model, where + f.what());
        }
    }
    return steps_;
}

void Model::forward(const float* input, int batch, std::vector<float>& out) const {
    std::vector<std::int64_t> shape{batch};
    shape.insert(shape.end(), impl_->item_shape.begin(), impl_->item_shape.end());
    const ModelInfo& info = impl_->info;
    const std::vector<std::int64_t> expected =
        expected_output_shape(info.output_kind, batch, steps_, static_cast<std::int64_t>(info.labels.size()));
    guard_model_call([&] {
        c10::InferenceMode guard;
        // from_blob does not copy; the model never writes to its input.
        at::Tensor x = torch::from_blob(const_cast<float*>(input), shape, torch::kFloat);
        const at::Tensor y = output_tensor(impl_->module.forward({x}), ErrorCode::model_output, "");
        // The whole shape, not just the number of values: [C, B] for [B, C] has as many, in the wrong places.
        check_output_shape(std::span(y.sizes().data(), y.sizes().size()), expected, info.output_kind);
        const at::Tensor f = y.to(torch::kFloat).contiguous();
        out.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }, ErrorCode::model_output, "", debug_log_);
}

}  // namespace arpipe
