// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `arpipe run --out FILE --resume`: the records go to a journal, FILE.partial, appended to in place as inputs
// complete (Output::to_journal, with its fsync policy). A rerun with --resume reads the journal, keeps it up
// to the last complete terminal record (summary or error) and runs only the inputs after it.
//
// The pipeline writes records in input order and each input's records end with its one terminal record, so
// the journal's k-th terminal record is input k's: k terminal records mean the first k inputs are done. The
// records carry names, not indices, so the names are checked against the list: a journal of another input
// list is refused. Everything after the last complete terminal record (a torn line, the first records of an
// input that did not finish, the `cancelled` records of an interrupted run) is cut off: repaired, not trusted.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "arpipe/engine.h"
#include "output.h"

namespace arpipe::cli {

/// The journal of --out `path`.
[[nodiscard]] inline std::string journal_path(const std::string& out_path) { return out_path + ".partial"; }

struct Journal {
    std::unique_ptr<Output> output;  // the journal, locked, cut after its last complete input, open at its end
    std::size_t done = 0;            // inputs that already have their terminal record
    std::size_t failed = 0;          // ... of which error records
    std::size_t dropped_bytes = 0;   // bytes cut off after the last complete input
    std::string error;               // when `output` is null: why (names the journal)
    int exit_code = 0;               // when `output` is null: 2 (another list or settings, in use) or 3 (I/O)
};

/// Opens (creating it when there is none) and locks the journal of `out_path` for `inputs`, written in
/// `csv` or JSON Lines; `header` is what the writer writes before any record (the CSV header, or empty).
/// When the journal already holds the header, the writer's copy is dropped (Output::drop_next).
[[nodiscard]] Journal open_journal(const std::string& out_path, bool csv, const std::string& header,
                                   const std::vector<Input>& inputs);

}  // namespace arpipe::cli
