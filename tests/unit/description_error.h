// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// For the model-description tests: the bad_model message a description gives, "" when it is accepted.
#pragma once

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "stages/failure.h"
#include "stages/model_info.h"

namespace testing {

inline std::string description_error(const nlohmann::json& j) {
    try {
        (void)arpipe::parse_model_description(j.dump());
    } catch (const arpipe::Failure& f) {
        CHECK(f.code() == arpipe::ErrorCode::bad_model);
        return f.what();
    }
    return "";
}

}  // namespace testing
