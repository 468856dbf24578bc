// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `arpipe merge`: the outputs of `arpipe run --shard K/N` (JSON Lines or CSV) joined into the bytes one
// `arpipe run` over the whole input list writes (docs/scale-out.md).
//
// How merge learns the order: it is given the same inputs as the shards (`-i PATH`, `--files-from LIST`) and
// expands them as `arpipe run` does, so it knows every input's place in the list. A shard output is cut into
// its inputs' record groups (an input's events and scores, then its one summary or error); each group goes to
// the place of the input it names. The shard outputs themselves are plain `arpipe run` outputs, so they need
// no plan, no sidecar and no shard number: any split of the list into files merges, in any order of the files.
//
// Before anything is written, every input must have exactly one group with its terminal record: missing
// inputs (a lost or unfinished shard), inputs in two outputs, records of files that are not inputs, and
// inputs cancelled in their shard (an interrupted run: a time limit) are all named, and no output appears.
// A group's bytes are copied as they are, so the merged output is byte-identical to one run's.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace arpipe::cli {

/// Exit code of `arpipe merge` when the shard outputs do not account for the input list exactly (or one is
/// damaged): nothing was written.
inline constexpr int kExitMergeIncomplete = 4;

/// What one record of `arpipe run` says about itself. Shared by merge and the --resume journal (resume.h).
struct Record {
    std::string type;        // event, scores, transcript, summary or error
    std::string name;        // the input's name, as bytes
    bool cancelled = false;  // an error record of code `cancelled`: the input was not processed
};

/// Whether `type` is a record type of arpipe run: event, scores, transcript (these precede an input's
/// terminal record), summary or error (terminal).
[[nodiscard]] inline bool is_record_type(std::string_view type) noexcept {
    return type == "event" || type == "scores" || type == "transcript" || type == "summary" || type == "error";
}

/// One JSON Lines record (a line without its newline); nullopt and `*why` when it is not one of arpipe run's.
std::optional<Record> parse_jsonl(std::string_view line, std::string* why);

/// The fields of one CSV row (RFC 4180, as the writer quotes them) starting at `s[i]`; returns the index after
/// the row's newline, or npos when the text ends first (a quoted newline does not end a row).
std::size_t split_csv_row(std::string_view s, std::size_t i, std::vector<std::string>& fields);

class MergeCommand {
public:
    explicit MergeCommand(CLI::App& app);
    [[nodiscard]] bool parsed() const;
    /// Runs the command; returns the exit code.
    int run();

private:
    CLI::App* app_ = nullptr;
    std::vector<std::string> parts_;   // the shard outputs
    std::vector<std::string> inputs_;  // -i: the inputs given to the shards
    std::string files_from_;
    std::string out_;
    bool quiet_ = false;
};

}  // namespace arpipe::cli
