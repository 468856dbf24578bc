// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// A model ready to run: the TorchScript module and its description, the feature plan its input needs, the
// features of a silent window (to pad short batches) and the activation, warmed up at a fixed batch size.
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
    Activation activation = Activation::none;
    std::int64_t steps = 1;                  ///< score steps per segment (1 for clip models)
    std::vector<std::int64_t> item_shape;    ///< one segment's model input: {n_mels, frames} or {samples}
    std::size_t item_size = 0;               ///< floats per segment of model input
    std::vector<float> silent_features;      ///< a silent window's features (log_mel models)

    /// Loads `path`, plans its features and warms it up at `batch` rows. Throws Failure.
    static PreparedModel load(const std::string& path, int batch);
};

}  // namespace arpipe
