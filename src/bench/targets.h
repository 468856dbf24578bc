// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The targets the bench checks (docs/performance.md, "Results on this host"): what each one measures and its
// goal, read from a data file, data/bench/targets.json, so that a goal changes without a rebuild. The
// measurements themselves are computed in report.cpp (evaluate_targets), one per target name.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace arpipe::bench {

/// One entry of the targets file.
struct TargetSpec {
    std::string name;
    std::string what;        ///< description; {cores}, {intra_op} and {experiment} are filled in
    std::string comparison;  ///< ">=", "<=", ">" or "<"; "none" for an estimate with no goal
    double value = 0;        ///< the goal's value (unused with "none")
    bool per_core = false;   ///< the goal is `value` x the cores measured
    int decimals = 2;        ///< digits after the point in the printed goal
    std::string note;        ///< printed after the goal in parentheses; may be empty

    /// The goal as printed and recorded: ">= 1.85", "> 1.0 (the margin is the result)", "none (informational)".
    [[nodiscard]] std::string goal_text(int cores) const;
    /// Whether `measured` meets the goal; always true for "none".
    [[nodiscard]] bool met(double measured, int cores) const;
    /// `what` with its placeholders filled in.
    [[nodiscard]] std::string describe(int cores, int intra_op = 0, const std::string& experiment = "") const;
};

/// Every target of one targets file, by name.
class TargetSpecs {
public:
    /// Reads and checks `path`: valid JSON, an object whose "targets" array has exactly the targets that
    /// evaluate_targets computes (target_names()), each with its fields of the right type. Throws
    /// std::runtime_error naming the file and the problem.
    [[nodiscard]] static TargetSpecs load(const std::string& path);

    /// The target called `name`; load() has checked that every known name is there.
    [[nodiscard]] const TargetSpec& at(const std::string& name) const;

private:
    std::map<std::string, TargetSpec> specs_;
};

/// The names of the targets evaluate_targets computes (report.cpp).
[[nodiscard]] const std::vector<std::string>& target_names();

/// Where the bench finds its targets file without --targets, as default_model_path() finds the bundled model:
/// share/arpipe/bench/targets.json beside this program's prefix, the install prefix's, or the source tree's
/// data/bench/targets.json, whichever exists first (the last one when none does, so the error names it).
[[nodiscard]] std::string default_targets_path();

}  // namespace arpipe::bench
