// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// A ceiling on the memory LibTorch's CPU tensors may hold at once, so that a model asking for an absurd tensor
// (torch.ones(1 << 40), a 16 GiB buffer inside forward()) gets a C++ exception instead of sending the process
// to the kernel's OOM killer. The cap is process-wide: it bounds the sum of every live CPU tensor storage
// allocated after the first install_memory_cap() call, on any thread, for every engine in the process.
//
// How: memory_cap.cpp wraps the CPU allocator LibTorch uses (c10::GetCPUAllocator()) in a counting one. An
// allocation that would take the live total past the cap throws c10::OutOfMemoryError (a c10::Error) before
// any memory is asked for, let alone touched. Called straight from C++ (at::empty, torch::ones), that is what
// the caller gets. Raised inside a TorchScript forward(), it does not come out as a c10::Error: LibTorch
// 1.13's interpreter catches it and throws a plain std::runtime_error whose what() is its preamble ("The
// following operation failed in the TorchScript interpreter."), the TorchScript traceback, and last the line
// "RuntimeError: the model asked for ...", the line the inference stage reports (model_error_line).
// Torch-free header: memory_cap.cpp alone includes torch.
//
// What the cap does not see: memory LibTorch or its libraries take without the CPU allocator (tensor
// metadata, the TorchScript interpreter's frames, std::vector scratch inside some kernels, OpenBLAS buffers,
// oneDNN's primitive caches) and tensors allocated before the first install. These are small next to the
// tensors a model computes with; the cap is a guard against runaway tensors, not an exact RSS limit.
#pragma once

#include <cstdint>
#include <string>

namespace arpipe {

/// Sets the cap on live LibTorch CPU tensor memory, in bytes; 0 lifts it. The first call with a cap > 0
/// installs the counting allocator (once per process; it is never taken out again, so later calls only
/// change the number and are cheap and safe while inferences run). A first call with 0 installs nothing.
/// Call it before the model is used (Engine::load), not while another thread is first installing it.
/// Throws std::invalid_argument for a negative cap.
void install_memory_cap(std::int64_t bytes);

/// A default cap for this machine: 3/4 of the memory the process may use, which is the smaller of MemTotal
/// (/proc/meminfo) and the tightest cgroup limit of the process and its ancestors (v2 memory.max, or v1
/// memory.limit_in_bytes). A quarter is
/// left for what the cap does not count (decoded audio, features, the model's weights if loaded before the
/// install, other processes). Returns 0 (no cap) when neither figure can be read.
[[nodiscard]] std::int64_t default_memory_cap_bytes();

/// A byte count for people: "512 B", "3.0 MiB", "6.0 GiB", "4096.0 GiB".
[[nodiscard]] std::string format_bytes(std::int64_t bytes);

}  // namespace arpipe
