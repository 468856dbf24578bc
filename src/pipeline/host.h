// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// What the library reads about the process it runs in: its CPU time and where arpipe's data files are.
// Internal: the pipeline and arpipe-bench use these; hosts use memory_stats() and default_model_path().
#pragma once

#include <string>

namespace arpipe {

/// User + system CPU seconds of this process so far, all threads (getrusage).
[[nodiscard]] double process_cpu_seconds();

/// The first existing file `relative` (e.g. "models/tagger.pt") under arpipe's data folders, searched in
/// this order: share/arpipe/ relative to the binary that holds this code (libarpipe.so, or a program linking
/// the library statically: <prefix>/lib/../share, <prefix>/lib/<triplet>/../../share, or the build tree's
/// own share/ link to data/), then the configured install prefix. Never the source tree by a compiled-in
/// path: an installed library must not fall back to it. When none exists, the last candidate, so that an
/// error message names a path.
[[nodiscard]] std::string find_data_file(const std::string& relative);

}  // namespace arpipe
