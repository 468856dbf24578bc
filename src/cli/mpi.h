// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `mpirun -np P arpipe run --mpi INPUTS -o FILE` (docs/scale-out.md#open-mpi): one run over many nodes.
//
// Rank 0 is the coordinator. It expands the inputs, weighs them by the audio length their headers announce
// (the shard planner's weights), sends the list to every rank, and then hands out work as ranks ask for it:
// longest inputs first, in chunks that shrink as the work left shrinks (guided self-scheduling), so that a
// rank that drew a long file is not given more while others idle. Ranks 1 .. P-1 are workers: each runs the
// ordinary pipeline on its chunk with all its threads, formats the records with the run's writer and sends
// them back cut into one group per input. Rank 0 writes the groups in input order, so the output is the
// bytes one `arpipe run` over the whole list writes; groups that arrive ahead of their turn wait in memory,
// and past a budget in a temporary file, so rank 0's memory does not grow with the output.
//
// With --resume the output goes through the run's journal (resume.h): when a rank dies, Open MPI ends the
// job, and the same command with --resume gives the ranks only the inputs the journal lacks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/result.h"

namespace arpipe::cli {

/// What `arpipe run --mpi` was asked to do (the flags of `arpipe run` it honours).
struct MpiJob {
    Config config;
    std::vector<std::string> paths;  ///< inputs and --files-from lines, as given
    OutputFormat format = OutputFormat::jsonl;
    bool scores = false;
    bool resume = false;
    bool quiet = false;
    std::string out;                          ///< --out (empty: standard output)
    const std::atomic<bool>* cancel = nullptr;  ///< set by a signal: hand out no more work
};

/// True when this arpipe was built with Open MPI (CMake option ARPIPE_MPI).
[[nodiscard]] bool mpi_built() noexcept;

/// Runs the job as one rank of an MPI job; returns this rank's exit code. Every rank returns 0 but rank 0,
/// whose code is the run's (0, 1, 2, 3 or 130 as for `arpipe run`). nullopt when the job has one rank only:
/// the caller then runs it in-process as a plain `arpipe run`.
[[nodiscard]] std::optional<int> run_mpi(const MpiJob& job);

/// Guided self-scheduling over inputs weighed in milliseconds: the order in which they are handed out
/// (heaviest first; ties: the earlier input) and the size of each chunk (at least one input, and inputs until
/// the chunk holds 1/(2 x workers) of the work left, at most kMaxChunkInputs). Independent of MPI so that
/// it can be tested alone.
class Dispatcher {
public:
    static constexpr std::size_t kMaxChunkInputs = 256;

    /// `weights[i]` is input i's planned milliseconds; inputs before `first` are done already (--resume).
    Dispatcher(const std::vector<std::int64_t>& weights, std::size_t first, std::size_t workers);

    /// The next chunk's input indices (empty when everything has been handed out).
    [[nodiscard]] std::vector<std::uint64_t> next_chunk();
    [[nodiscard]] bool empty() const noexcept { return next_ >= order_.size(); }

private:
    std::vector<std::uint64_t> order_;
    std::vector<std::int64_t> weights_;
    std::size_t next_ = 0;
    std::int64_t left_ms_ = 0;
    std::size_t workers_ = 1;
};

}  // namespace arpipe::cli
