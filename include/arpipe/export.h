// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// ARPIPE_API marks what libarpipe.so exports. The library is compiled with -fvisibility=hidden and linked with
// cmake/arpipe.map, so a host sees the declarations of include/arpipe/ that carry this macro and nothing else:
// the copies of LibTorch, TBB, spdlog, fmt and nlohmann code inside the library stay private, and a host that
// uses other versions of them neither picks up arpipe's nor lends arpipe its own.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define ARPIPE_API __attribute__((visibility("default")))
#else
#define ARPIPE_API
#endif
