// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Shards for array jobs, through the built `arpipe` command: `plan` and `run --shard` split the input list
// into parts that cover it exactly once, `--shard auto` reads K and N from Slurm, Kubernetes and AWS Batch
// variables, and `merge` gives back the bytes of one run over the whole list or names what is missing.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "support.h"

using testing::TempDir;

namespace {

using Ran = testing::CliRun;

/// Every variable `--shard auto` reads, cleared so that a test run inside a real array job sees only its own.
const char* const kShardVariables[] = {"SLURM_ARRAY_TASK_ID",  "SLURM_ARRAY_TASK_COUNT",    "SLURM_ARRAY_TASK_MIN",
                                       "SLURM_ARRAY_TASK_MAX", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX",
                                       "ARPIPE_SHARD_COUNT"};

/// Runs `arpipe ARGS` with exactly the shard variables in `env` ("NAME=value ..."), capturing its output.
Ran cli(const std::string& args, const TempDir& dir, const std::string& env = "") {
    std::string cmd = "env";
    for (const char* name : kShardVariables) cmd += std::string(" -u ") + name;
    cmd += " " + env + " " + ARPIPE_CLI_PATH + " " + args;
    return testing::run_shell(cmd, dir);
}

std::string model() { return "-m " + testing::repo_path("tests/data/models/loudness_clip.pt"); }

/// A corpus with audio of different lengths (loud parts give events), a file that is not audio, and a name
/// that CSV must quote and JSON must escape (a quote, a comma, a byte that is not UTF-8); plus a path that
/// does not exist. Returns the inputs as `arpipe run` is given them.
std::string make_corpus(const TempDir& dir) {
    const std::string in = dir.file("in");
    std::filesystem::create_directory(in);
    const double lengths[] = {3.5, 1.0, 6.0, 2.0, 2.0, 4.5, 1.5, 5.0};
    for (std::size_t i = 0; i < std::size(lengths); ++i) {
        const double s = lengths[i];
        const auto audio = i % 2 == 0 ? testing::concat({testing::silence(s / 2, 16000), testing::noise(s / 2, 16000, 0.5f, 7 + i)})
                                      : testing::noise(s, 16000, 0.02f * static_cast<float>(i), 3 + i);
        testing::write_audio(in + "/a" + std::to_string(i) + ".wav", audio, 16000);
    }
    testing::write_audio(in + "/we\"ird,name\xe9.wav", testing::noise(2.5, 16000, 0.5f, 99), 16000);
    testing::write_text(in + "/corrupt.wav", "RIFF but not really a wave file");
    return in + " " + dir.file("missing.wav");
}

/// One line of `arpipe plan`: the input's index in the whole list, its planned seconds, its name.
struct PlanLine {
    std::size_t index = 0;
    double seconds = 0;
    std::string name;
};

std::vector<PlanLine> plan_lines(const std::string& out) {
    std::vector<PlanLine> lines;
    std::istringstream in(out);
    std::string line;
    std::getline(in, line);
    CHECK(line == "index\tseconds\tfrom\tfile");
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        PlanLine p;
        std::string from;
        fields >> p.index >> p.seconds >> from;
        std::getline(fields >> std::ws, p.name);
        lines.push_back(p);
    }
    return lines;
}

/// Runs every shard of N into `prefix`K.`ext` and returns their paths; each exits as a run would (0 or 1).
std::vector<std::string> run_shards(const TempDir& dir, const std::string& inputs, std::size_t n, const std::string& format,
                                    const std::string& prefix) {
    std::vector<std::string> outs;
    for (std::size_t k = 0; k < n; ++k) {
        const std::string out = dir.file(prefix + std::to_string(k) + "." + format);
        const Ran r = cli("run -q -j 2 " + model() + " -f " + format + " --shard " + std::to_string(k) + "/" +
                                 std::to_string(n) + " -o " + out + " " + inputs,
                             dir);
        CHECK_MESSAGE((r.code == 0 || r.code == 1), r.err);
        outs.push_back(out);
    }
    return outs;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += " " + x;
    return s;
}

/// The -i flags that give merge the same inputs as the runs.
std::string merge_inputs(const std::string& inputs) {
    std::istringstream in(inputs);
    std::string s, path;
    while (in >> path) s += " -i " + path;
    return s;
}

void merge_equals_one_run(const std::string& format) {
    TempDir dir;
    const std::string inputs = make_corpus(dir);
    const Ran whole = cli("run -q -j 2 " + model() + " -f " + format + " " + inputs, dir);
    REQUIRE(whole.code == 1);  // the corrupt and the missing file
    REQUIRE(whole.out.find("ird,name") != std::string::npos);  // the odd name was found, so it is compared too
    for (std::size_t n : {1, 2, 3, 5}) {
        CAPTURE(n);
        const auto outs = run_shards(dir, inputs, n, format, "n" + std::to_string(n) + "-shard-");
        const std::string merged = dir.file("merged-" + std::to_string(n) + "." + format);
        // The outputs in reverse order: merge must not depend on the order it is given them.
        std::vector<std::string> reversed(outs.rbegin(), outs.rend());
        const Ran m = cli("merge -q -o " + merged + merge_inputs(inputs) + joined(reversed), dir);
        CHECK_MESSAGE(m.code == 1, m.err);  // as the whole run: some inputs failed
        CHECK(testing::read_text(merged) == whole.out);
    }
}

}  // namespace

TEST_SUITE("shard") {
    TEST_CASE("for N in 1, 2, 3, 5 the shards' plans cover the whole list once, in list order, whatever the threads") {
        TempDir dir;
        const std::string inputs = make_corpus(dir);
        const Ran all = cli("plan --shard 0/1 " + inputs, dir);
        REQUIRE(all.code == 0);
        const auto whole = plan_lines(all.out);
        REQUIRE(whole.size() == 11);  // 9 audio files, the corrupt one and the missing path
        for (std::size_t i = 0; i < whole.size(); ++i) CHECK(whole[i].index == i);
        double longest = 0;
        for (const PlanLine& p : whole) longest = std::max(longest, p.seconds);
        CHECK(longest == doctest::Approx(6.0));

        for (std::size_t n : {1, 2, 3, 5}) {
            CAPTURE(n);
            std::map<std::size_t, std::size_t> owner;  // index -> shard
            std::vector<double> load(n, 0.0);
            for (std::size_t k = 0; k < n; ++k) {
                const std::string spec = std::to_string(k) + "/" + std::to_string(n);
                const Ran one = cli("plan -j 1 --shard " + spec + " " + inputs, dir);
                REQUIRE(one.code == 0);
                if (n == 3) CHECK(cli("plan -j 2 --shard " + spec + " " + inputs, dir).out == one.out);
                std::size_t previous = 0;
                bool first = true;
                for (const PlanLine& p : plan_lines(one.out)) {
                    CHECK_MESSAGE(owner.count(p.index) == 0, "input ", p.index, " in two shards");
                    owner[p.index] = k;
                    REQUIRE(p.index < whole.size());
                    CHECK(p.name == whole[p.index].name);
                    CHECK((first || p.index > previous));  // list order within a shard
                    previous = p.index;
                    first = false;
                    load[k] += p.seconds;
                }
            }
            CHECK(owner.size() == whole.size());
            // Longest first into the lightest shard: no shard exceeds another by more than the longest input.
            const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
            CHECK(*hi - *lo <= longest + 1e-9);
        }
    }

    TEST_CASE("merging the JSON Lines of the shards gives the bytes of one run, with a corrupt and a missing file") {
        merge_equals_one_run("jsonl");
    }

    TEST_CASE("merging the CSV of the shards gives the bytes of one run, with a corrupt and a missing file") {
        merge_equals_one_run("csv");
    }

    TEST_CASE("plan --list gives each shard's names for --files-from; runs over those lists merge into one run's bytes") {
        // The "shards of shards" recipe of docs/scale-out.md: a list per group, any run per list (there an MPI
        // job), one merge over the whole list.
        TempDir dir;
        const std::string inputs = make_corpus(dir);
        const Ran whole = cli("run -q -j 2 " + model() + " " + inputs, dir);
        REQUIRE(whole.code == 1);
        std::vector<std::string> outs;
        std::size_t listed = 0;
        for (std::size_t k = 0; k < 3; ++k) {
            const std::string spec = std::to_string(k) + "/3";
            const Ran list = cli("plan --list --shard " + spec + " " + inputs, dir);
            REQUIRE_MESSAGE(list.code == 0, list.err);
            // The same inputs as the table, in the same order, raw (the odd name keeps its quote, comma and byte).
            std::vector<std::string> names;
            std::istringstream lines(list.out);
            for (std::string line; std::getline(lines, line);) names.push_back(line);
            const auto table = plan_lines(cli("plan --shard " + spec + " " + inputs, dir).out);
            REQUIRE(names.size() == table.size());
            for (std::size_t i = 0; i < names.size(); ++i) {
                // The table escapes the byte that is not UTF-8; the list keeps the name as it is.
                if (table[i].name.find("ird,name") != std::string::npos)
                    CHECK(names[i] == dir.file("in") + "/we\"ird,name\xe9.wav");
                else
                    CHECK(names[i] == table[i].name);
            }
            listed += names.size();
            const std::string path = dir.file("part-" + std::to_string(k) + ".txt");
            testing::write_text(path, list.out);
            outs.push_back(dir.file("part-" + std::to_string(k) + ".jsonl"));
            const Ran r = cli("run -q -j 2 " + model() + " --files-from " + path + " -o " + outs.back(), dir);
            CHECK_MESSAGE((r.code == 0 || r.code == 1), r.err);
        }
        CHECK(listed == 11);
        CHECK(whole.out.find("we\"ird,name") == std::string::npos);  // JSON escapes the quote...
        CHECK(whole.out.find("ird,name") != std::string::npos);       // ...and the odd name is in the run
        const Ran m = cli("merge -q -o " + dir.file("all.jsonl") + merge_inputs(inputs) + joined(outs), dir);
        CHECK_MESSAGE(m.code == 1, m.err);
        CHECK(testing::read_text(dir.file("all.jsonl")) == whole.out);
    }

    TEST_CASE("a shard with no inputs writes an empty output (CSV: the header), and merging still works") {
        TempDir dir;
        const std::string in = dir.file("two");
        std::filesystem::create_directory(in);
        testing::write_audio(in + "/x.wav", testing::noise(1.0, 16000, 0.5f), 16000);
        testing::write_audio(in + "/y.wav", testing::noise(2.0, 16000, 0.5f), 16000);
        const Ran whole = cli("run -q " + model() + " -f csv " + in, dir);
        REQUIRE(whole.code == 0);
        const auto outs = run_shards(dir, in, 3, "csv", "s");
        CHECK(testing::read_text(outs[2]) == "type,file,label,start,end,score,peak,detail\n");
        const Ran m = cli("merge -q -i " + in + " -o " + dir.file("all.csv") + joined(outs), dir);
        CHECK_MESSAGE(m.code == 0, m.err);
        CHECK(testing::read_text(dir.file("all.csv")) == whole.out);
    }

    TEST_CASE("a missing, duplicated, unfinished or cancelled shard output makes merge fail naming the inputs, writing nothing") {
        TempDir dir;
        const std::string inputs = make_corpus(dir);
        const auto outs = run_shards(dir, inputs, 3, "jsonl", "s");
        const std::string merged = dir.file("all.jsonl");
        const std::string merge = "merge -o " + merged + merge_inputs(inputs);
        std::vector<std::string> names_of_1;
        for (const PlanLine& p : plan_lines(cli("plan --shard 1/3 " + inputs, dir).out)) names_of_1.push_back(p.name);
        REQUIRE(!names_of_1.empty());

        SUBCASE("missing") {
            const Ran m = cli(merge + " " + outs[0] + " " + outs[2], dir);
            CHECK(m.code == 4);
            CHECK(m.err.find(std::to_string(names_of_1.size()) + " input(s) have no records") != std::string::npos);
            for (const std::string& name : names_of_1) CHECK_MESSAGE(m.err.find("\n  " + name + "\n") != std::string::npos, name);
        }
        SUBCASE("duplicated") {
            const Ran m = cli(merge + joined(outs) + " " + outs[1], dir);
            CHECK(m.code == 4);
            CHECK(m.err.find("in more than one place") != std::string::npos);
            for (const std::string& name : names_of_1) CHECK_MESSAGE(m.err.find("  " + name + " (" + outs[1]) != std::string::npos, name);
        }
        SUBCASE("unfinished: cut inside its last line") {
            std::string text = testing::read_text(outs[1]);
            const std::string cut = dir.file("cut.jsonl");
            testing::write_text(cut, text.substr(0, text.size() - 5));
            const Ran m = cli(merge + " " + outs[0] + " " + cut + " " + outs[2], dir);
            CHECK(m.code == 4);
            CHECK(m.err.find(cut + " line ") != std::string::npos);
            CHECK(m.err.find("has no newline") != std::string::npos);
        }
        SUBCASE("cancelled: an interrupted shard's error records do not count as done") {
            // Shard 1 as an interrupted run writes it: its last input ends in a `cancelled` error (the file name
            // is copied as the writer escaped it).
            std::string text = testing::read_text(outs[1]);
            text.pop_back();
            const std::size_t last = text.rfind('\n') + 1;
            const std::size_t name_at = text.find("\"file\":", last), name_end = text.find(",\"status\"", last);
            REQUIRE(name_end != std::string::npos);
            const std::string file = text.substr(name_at, name_end - name_at);
            text = text.substr(0, last) + "{\"type\":\"error\"," + file +
                   ",\"status\":\"error\",\"code\":\"cancelled\",\"message\":\"the run was cancelled\"}\n";
            const std::string interrupted = dir.file("interrupted.jsonl");
            testing::write_text(interrupted, text);
            const Ran m = cli(merge + " " + outs[0] + " " + interrupted + " " + outs[2], dir);
            CHECK_MESSAGE(m.code == 4, m.err);
            CHECK(m.err.find("1 input(s) were cancelled") != std::string::npos);
            CHECK(m.err.find("  " + names_of_1.back() + " (in " + interrupted + ")") != std::string::npos);
        }
        SUBCASE("records of a file that is not an input") {
            const Ran m = cli("merge -o " + merged + " -i " + dir.file("in") + joined(outs), dir);  // without missing.wav
            CHECK(m.code == 4);
            CHECK(m.err.find("not among the inputs") != std::string::npos);
            CHECK(m.err.find(dir.file("missing.wav")) != std::string::npos);
        }
        SUBCASE("a table, or JSON Lines mixed with CSV") {
            const Ran table = cli("run -q " + model() + " -f table -o " + dir.file("t.txt") + " " + dir.file("in"), dir);
            REQUIRE(table.code == 1);
            const Ran m = cli(merge + " " + dir.file("t.txt"), dir);
            CHECK(m.code == 4);
            CHECK(m.err.find("the table format cannot be merged") != std::string::npos);
            const auto csv = run_shards(dir, inputs, 1, "csv", "c");
            const Ran mixed = cli(merge + " " + outs[0] + " " + csv[0], dir);
            CHECK(mixed.code == 4);
            CHECK(mixed.err.find("must all write one format") != std::string::npos);
        }
        CHECK(!std::filesystem::exists(merged));
        for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
            CHECK_MESSAGE(entry.path().filename().string().find(".tmp.") == std::string::npos, entry.path());
    }

    TEST_CASE("--shard auto takes K and N from Slurm, Kubernetes and AWS Batch variables") {
        TempDir dir;
        const std::string inputs = make_corpus(dir);
        const std::string expected = cli("plan --shard 2/4 " + inputs, dir).out;
        REQUIRE(plan_lines(expected).size() > 0);
        for (const auto& [env, flags] : std::vector<std::pair<std::string, std::string>>{
                 {"SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=3", ""},
                 {"SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4", ""},
                 {"SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=4", ""},  // --array=1-4
                 // One task of the array submitted again (sbatch --array=2): the stated count makes the id the shard.
                 {"SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=1 SLURM_ARRAY_TASK_MIN=2 SLURM_ARRAY_TASK_MAX=2", "--shard-count 4"},
                 {"SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=2 SLURM_ARRAY_TASK_MAX=5 ARPIPE_SHARD_COUNT=4", ""},
                 {"JOB_COMPLETION_INDEX=2", "--shard-count 4"},
                 {"JOB_COMPLETION_INDEX=2 ARPIPE_SHARD_COUNT=4", ""},
                 {"AWS_BATCH_JOB_ARRAY_INDEX=2", "--shard-count 4"},
                 {"AWS_BATCH_JOB_ARRAY_INDEX=2 ARPIPE_SHARD_COUNT=4", "--shard-count 4"},
             }) {
            CAPTURE(env);
            const Ran r = cli("plan --shard auto " + flags + " " + inputs, dir, env);
            CHECK_MESSAGE(r.code == 0, r.err);
            CHECK(r.out == expected);
            CHECK(r.err.find("shard 2/4") != std::string::npos);
        }
        // And `run` takes the same part: its records are those of the planned inputs.
        const Ran run = cli("run -q " + model() + " --shard auto " + inputs, dir,
                               "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4");
        CHECK(run.code <= 1);
        std::size_t terminal = 0;
        for (std::size_t at = run.out.find("\"status\":"); at != std::string::npos; at = run.out.find("\"status\":", at + 1))
            ++terminal;
        CHECK(terminal == plan_lines(expected).size());
    }

    TEST_CASE("--shard auto with missing or inconsistent variables is a usage error naming them") {
        TempDir dir;
        const std::string inputs = make_corpus(dir);
        for (const auto& [env, flags, named] : std::vector<std::tuple<std::string, std::string, std::string>>{
                 {"", "", "SLURM_ARRAY_TASK_ID"},
                 {"SLURM_ARRAY_TASK_ID=1", "", "SLURM_ARRAY_TASK_COUNT"},
                 {"SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=4", "", "outside the array"},
                 {"SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=8", "",
                  "SLURM_ARRAY_TASK_MAX=8"},  // --array=0-8:4
                 {"SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0", "", "SLURM_ARRAY_TASK_MAX"},
                 {"SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=4", "--shard-count 3", "SLURM_ARRAY_TASK_ID=3"},
                 {"SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 ARPIPE_SHARD_COUNT=4", "--shard-count 3", "--shard-count 3"},
                 {"SLURM_ARRAY_TASK_ID=one SLURM_ARRAY_TASK_COUNT=4", "", "SLURM_ARRAY_TASK_ID=\"one\""},
                 {"JOB_COMPLETION_INDEX=1", "", "ARPIPE_SHARD_COUNT"},
                 {"JOB_COMPLETION_INDEX=3", "--shard-count 3", "JOB_COMPLETION_INDEX=3"},
                 {"JOB_COMPLETION_INDEX=1 ARPIPE_SHARD_COUNT=4", "--shard-count 3", "ARPIPE_SHARD_COUNT=4"},
                 {"AWS_BATCH_JOB_ARRAY_INDEX=0", "", "--shard-count"},
                 {"AWS_BATCH_JOB_ARRAY_INDEX=0 SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=2", "",
                  "SLURM_ARRAY_TASK_ID and AWS_BATCH_JOB_ARRAY_INDEX"},
             }) {
            CAPTURE(env);
            CAPTURE(flags);
            for (const std::string& command : {std::string("plan"), "run -q " + model()}) {
                const Ran r = cli(command + " --shard auto " + flags + " " + inputs, dir, env);
                CHECK(r.code == 2);
                CHECK(r.out.empty());
                CHECK_MESSAGE(r.err.find(named) != std::string::npos, r.err);
            }
        }
        for (const char* bad : {"4/4", "1/0", "-1/3", "a/b", "2", "1/3/4"}) {
            const Ran r = cli(std::string("run -q ") + model() + " --shard " + bad + " " + inputs, dir);
            CHECK(r.code == 2);
            CHECK_MESSAGE(r.err.find("is not K/N") != std::string::npos, bad);
        }
    }
}
