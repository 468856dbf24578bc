// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Parses and validates a model's arpipe.json description (docs/model-contract.md). Kept apart from the
// torch code so that it builds and tests quickly.
#pragma once

#include <string>

#include "arpipe/engine.h"
#include "features.h"

namespace arpipe {

/// Parses `json_text` into a ModelInfo; throws Failure(bad_model) naming the field, its value and the range.
[[nodiscard]] ModelInfo parse_model_description(const std::string& json_text);

/// The log-mel parameters a log_mel model asks for.
[[nodiscard]] LogMelParams log_mel_params(const ModelInfo& info);


}  // namespace arpipe
