// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The one exception type thrown inside the library. Stages throw it; the pipeline catches it per input and
// turns it into a FileError record, and Engine::load turns it into a LoadResult message.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include "arpipe/result.h"

namespace arpipe {

class Failure : public std::runtime_error {
public:
    Failure(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    [[nodiscard]] ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

/// Runs `body`; a Failure, or any other exception (as ErrorCode::internal), is handed to
/// `on_error(code, message)` instead of propagating. The one place where per-input errors are caught.
template <class Body, class OnError>
void catch_failure(Body&& body, OnError&& on_error) {
    try {
        body();
    } catch (const Failure& f) {
        on_error(f.code(), std::string(f.what()));
    } catch (const std::exception& ex) {
        on_error(ErrorCode::internal, std::string(ex.what()));
    }
}

}  // namespace arpipe
