// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "prepared_model.h"

#include "model_info.h"

namespace arpipe {

PreparedModel PreparedModel::load(const std::string& path, int batch) {
    PreparedModel p;
    p.model = Model::load(path);
    const ModelInfo& info = p.model->info();
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
    p.activation = info.activation;
    return p;
}

}  // namespace arpipe
