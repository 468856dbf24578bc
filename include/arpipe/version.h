// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#define ARPIPE_VERSION_MAJOR 0
#define ARPIPE_VERSION_MINOR 1
#define ARPIPE_VERSION_PATCH 0

namespace arpipe {

/// The library's version as "MAJOR.MINOR.PATCH" (of the library actually linked, not of this header).
const char* version_string() noexcept;

}  // namespace arpipe
