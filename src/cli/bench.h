// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The `arpipe bench` subcommand: flags in, arpipe::bench::run out (src/bench/bench.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace arpipe::cli {

struct BenchFlags;

/// The registered subcommand and the flags it fills; keep it alive until the command has run.
struct BenchCommand {
    CLI::App* app = nullptr;
    std::unique_ptr<BenchFlags> flags;
    BenchCommand();
    ~BenchCommand();
};

/// Adds `bench` to `app`.
[[nodiscard]] std::unique_ptr<BenchCommand> add_bench_command(CLI::App& app);

/// Runs the parsed bench command; returns the process exit code. `argc`/`argv` are recorded in bench.json.
int run_bench_command(const BenchCommand& command, int argc, char** argv);

}  // namespace arpipe::cli
