// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Shards for array jobs (docs/scale-out.md): `arpipe run --shard K/N` takes part K of N of the expanded input
// list, `--shard auto` reads K and N from the array job's environment (Slurm, Kubernetes Indexed Jobs, AWS
// Batch), and `arpipe plan` prints the part a shard would take.
//
// K is 0-based: shards 0 .. N-1, as `sbatch --array=0-(N-1)`, Kubernetes' JOB_COMPLETION_INDEX and AWS
// Batch's AWS_BATCH_JOB_ARRAY_INDEX number their tasks.
//
// The plan depends only on the input list, the files' headers and sizes, and N: never on timing, threads or
// which shard computes it, so every task of an array computes the same plan on its own. Each input is weighed
// by the audio length its header announces, in whole milliseconds (integers, so the sums are exact); where a
// header gives no length or cannot be read, by its size at the byte rate of the inputs whose headers did give
// one. Inputs are then dealt longest first (ties: the earlier input first) to the shard with the least planned
// audio so far (ties: the one with fewer inputs, then the lower shard). A shard processes its inputs in list
// order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"

namespace CLI {
class App;
}
namespace spdlog {
class logger;
}

namespace arpipe::cli {

/// The environment variable that gives N to `--shard auto` on Kubernetes and AWS Batch, whose index
/// variables come without a count (the flag --shard-count does the same).
inline constexpr const char* kShardCountVariable = "ARPIPE_SHARD_COUNT";

/// The --shard and --shard-count flags as given (empty: not given).
struct ShardFlags {
    std::string spec;   ///< "K/N" or "auto"
    std::string count;  ///< --shard-count N
};

/// Adds --shard and --shard-count to a subcommand.
void add_shard_flags(CLI::App* app, ShardFlags& flags);

/// One part of the input list: shard `index` of `count`, 0-based.
struct Shard {
    std::size_t index = 0;
    std::size_t count = 1;
    std::string origin;  ///< for --shard auto, where K and N came from: "SLURM_ARRAY_TASK_ID=2, ..."
};

/// Looks a variable up in the environment (a parameter so that the resolution can be tested without one).
using GetEnv = std::function<const char*(const char*)>;

/// The shard the flags ask for: nothing when --shard is not given, else K and N from "K/N" or, for "auto",
/// from the environment. An error names the flag or the variables that are missing or disagree.
[[nodiscard]] ParseResult<std::optional<Shard>> resolve_shard(const ShardFlags& flags, const GetEnv& getenv);

/// What an input's planned length was taken from.
enum class PlanBasis {
    header,  ///< the audio length its header announces
    size,    ///< its file size: the header gives no length or could not be read
    none,    ///< nothing to weigh (no such file, not a regular file, a bad path): planned as 0 s
};

/// One input's place in the plan.
struct PlannedInput {
    std::size_t shard = 0;
    std::int64_t milliseconds = 0;  ///< planned audio length
    PlanBasis basis = PlanBasis::none;
};

/// Every input's shard (in list order) and every shard's planned audio.
struct Plan {
    std::vector<PlannedInput> inputs;
    std::vector<std::int64_t> shard_milliseconds;
    std::int64_t bytes_per_second = 0;  ///< the rate that turned sizes into lengths
    double wall_seconds = 0;            ///< time taken to read the headers and deal the inputs
};

/// Plans `inputs` over `count` shards. Headers are read in parallel in an arena of `threads` workers
/// (0 = all hardware threads); .raw/.pcm files are weighed with `raw` when it is given.
[[nodiscard]] Plan make_plan(const std::vector<Input>& inputs, std::size_t count, const std::optional<RawFormat>& raw,
                             int threads);

/// The inputs of `shard`, in list order.
[[nodiscard]] std::vector<Input> select_shard(const std::vector<Input>& inputs, const Plan& plan, std::size_t shard);

/// For `arpipe run --shard`: plans `inputs` (with the run's raw format and thread count) and returns the
/// shard's part, in list order, saying what it took unless `config.log_level` asks for errors only (-q). One
/// shard takes everything without reading a header.
[[nodiscard]] std::vector<Input> take_shard(const std::vector<Input>& inputs, const Shard& shard, const Config& config,
                                            spdlog::logger& log);

/// Says which directories of the walk held no audio (a warning) or skipped files by extension (info), as
/// `arpipe run` does before it starts.
void report_walk(const ExpandReport& walked, spdlog::logger& log);

/// The CLI's logger ("arpipe: LEVEL: message" on stderr), made on first use.
[[nodiscard]] spdlog::logger& cli_log();

/// A command's input paths: `given`, then the lines of `files_from` when it is set (one path per line, "-" =
/// standard input; a trailing CR is dropped and empty lines are skipped), as `run`, `plan` and `merge` take
/// them. Logs why and returns nothing when the list cannot be read, or when there is no path at all (`none`
/// says what to give).
[[nodiscard]] std::optional<std::vector<std::string>> gather_paths(const std::vector<std::string>& given,
                                                                   const std::string& files_from,
                                                                   const std::string& none, spdlog::logger& log);

/// `arpipe plan`: which inputs a shard would take, with their planned lengths.
class PlanCommand {
public:
    explicit PlanCommand(CLI::App& app);
    [[nodiscard]] bool parsed() const;
    /// Runs the command; returns the exit code.
    int run();

private:
    CLI::App* app_ = nullptr;
    ShardFlags shard_;
    std::vector<std::string> inputs_;
    std::string files_from_;
    std::optional<RawFormat> raw_format_;
    int threads_ = 0;
    bool list_ = false;  // --list: names only, in list order, for --files-from
};

}  // namespace arpipe::cli
