// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Resumable runs, through the built `arpipe` command: `run --out F --resume` killed with SIGKILL at random
// moments and resumed gives F byte-identical to an uninterrupted run (JSON Lines and CSV); a torn journal is
// repaired; a journal of another input list is refused.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

using testing::TempDir;

namespace {

using Ran = testing::CliRun;

std::string model_path() { return testing::repo_path("tests/data/models/loudness_clip.pt"); }

/// Eight inputs of 6 to 20 s (loud parts give events), one of them not audio; returned in list order.
std::vector<std::string> make_corpus(const TempDir& dir) {
    std::vector<std::string> inputs;
    for (int i = 0; i < 8; ++i) {
        const std::string path = dir.file("in" + std::to_string(i) + ".wav");
        if (i == 5) {
            testing::write_text(path, "RIFF but not really a wave file");
        } else {
            const double s = 6.0 + 2.0 * i;
            testing::write_audio(path, testing::concat({testing::silence(s / 2, 16000), testing::noise(s / 2, 16000, 0.5f, 11 + i)}),
                                 16000);
        }
        inputs.push_back(path);
    }
    return inputs;
}

std::vector<std::string> run_args(const std::vector<std::string>& inputs, const std::string& format, const std::string& out,
                                  bool resume) {
    std::vector<std::string> a = {"run", "-q", "-j", "2", "--batch", "1", "-m", model_path(), "-f", format, "-o", out};
    if (resume) a.emplace_back("--resume");
    a.insert(a.end(), inputs.begin(), inputs.end());
    return a;
}

Ran cli(const std::vector<std::string>& args, const TempDir& dir) {
    std::string joined;
    for (const std::string& a : args) joined += " '" + a + "'";
    return testing::run_cli(joined, dir);
}

pid_t start(const std::vector<std::string>& args) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        std::vector<char*> argv;
        std::string cli = ARPIPE_CLI_PATH;
        argv.push_back(cli.data());
        std::vector<std::string> copy = args;
        for (std::string& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(cli.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}

/// The number of lines that start a terminal record (a cheap count, for deciding when to kill).
std::size_t terminal_lines(const std::string& bytes, const std::string& format) {
    const std::string a = format == "csv" ? "\nsummary," : "\n{\"type\":\"summary\"";
    const std::string b = format == "csv" ? "\nerror," : "\n{\"type\":\"error\"";
    std::size_t n = 0;
    const std::string s = "\n" + bytes;
    for (const std::string& key : {a, b})
        for (std::size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + 1)) ++n;
    return n;
}

/// When run_and_kill sends its SIGKILL.
struct KillAt {
    std::size_t journal_bytes = 0;     // once the journal holds at least this many bytes (0: not this rule)
    std::chrono::microseconds delay{};  // then (or from the start) after this long
    bool after_last = false;           // as soon as the journal holds every input's terminal record
};

/// Runs --resume and SIGKILLs it as `at` says; returns whether the kill landed before the run ended.
bool run_and_kill(const std::vector<std::string>& args, const std::string& journal, const std::string& format, KillAt at,
                  std::size_t inputs) {
    const pid_t pid = start(args);
    if (at.after_last || at.journal_bytes > 0) {
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < limit) {
            const std::string bytes = testing::read_text(journal);
            if (at.after_last ? terminal_lines(bytes, format) >= inputs : bytes.size() >= at.journal_bytes) break;
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) return false;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    if (!at.after_last) std::this_thread::sleep_for(at.delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
}

void killed_runs_resume_to_the_same_bytes(const std::string& format, std::uint32_t seed) {
    TempDir dir;
    const std::vector<std::string> inputs = make_corpus(dir);
    const std::string ref = dir.file("ref." + format);
    const auto t0 = std::chrono::steady_clock::now();
    const Ran clean = cli(run_args(inputs, format, ref, false), dir);
    const auto wall = std::chrono::steady_clock::now() - t0;
    REQUIRE_MESSAGE(clean.code == 1, clean.err);  // the corrupt input's error record
    const std::string reference = testing::read_text(ref);
    REQUIRE(terminal_lines(reference, format) == inputs.size());

    std::mt19937 rng(seed);
    const auto span = std::chrono::duration_cast<std::chrono::microseconds>(wall);
    std::uniform_int_distribution<long> pick(0, span.count());               // from the start: often in start-up
    std::uniform_int_distribution<std::size_t> bytes(1, reference.size() - 1);  // part way through the inputs
    std::uniform_int_distribution<long> soon(0, 20000);                         // and then up to 20 ms more
    constexpr int kTrials = 12;
    int killed = 0;
    int part_way = 0;  // kills that left a journal holding some inputs but not all
    for (int trial = 0; trial < kTrials; ++trial) {
        CAPTURE(trial);
        const std::string out = dir.file("out" + std::to_string(trial) + "." + format);
        const std::string journal = out + ".partial";
        const bool last = trial == kTrials - 1;
        // One or two kills per trial (the first once the journal reaches a random size, the second at a random
        // time from the start; the last trial's last kill right after the last input), then a --resume to
        // completion.
        const int kills = 1 + trial % 2;
        for (int k = 0; k < kills; ++k) {
            KillAt at;
            if (last && k == kills - 1) {
                at.after_last = true;
            } else if (k == 0) {
                at.journal_bytes = bytes(rng);
                at.delay = std::chrono::microseconds(soon(rng));
            } else {
                at.delay = std::chrono::microseconds(pick(rng));
            }
            killed += run_and_kill(run_args(inputs, format, out, true), journal, format, at, inputs.size());
            const std::size_t done = terminal_lines(testing::read_text(journal), format);
            part_way += done > 0 && done < inputs.size();
        }
        const Ran resumed = cli(run_args(inputs, format, out, true), dir);
        CHECK_MESSAGE(resumed.code == 1, resumed.err);
        CHECK(testing::read_text(out) == reference);
        CHECK_FALSE(std::filesystem::exists(journal));
    }
    // The test means something only if most kills landed inside a run.
    MESSAGE(format << ": " << killed << " kill(s) landed inside a run over " << kTrials << " trials, " << part_way
                   << " of them with some but not all inputs in the journal");
    CHECK(killed >= kTrials / 2);
    CHECK(part_way >= 3);
}

}  // namespace

TEST_SUITE("resume") {
// A run killed at any moment, even around its final rename, must resume to the bytes of an uninterrupted run.
TEST_CASE("a JSON Lines run killed with SIGKILL at random moments resumes to the bytes of a clean run") {
    killed_runs_resume_to_the_same_bytes("jsonl", 14);
}

TEST_CASE("a CSV run killed with SIGKILL at random moments resumes to the bytes of a clean run, with one header") {
    killed_runs_resume_to_the_same_bytes("csv", 41);
}

// A torn last line (a write cut short) must be cut off and its input redone, not trusted.
TEST_CASE("a journal with a torn last record is repaired and resumed to the clean bytes") {
    TempDir dir;
    const std::vector<std::string> inputs = make_corpus(dir);
    for (const std::string format : {"jsonl", "csv"}) {
        CAPTURE(format);
        const std::string ref = dir.file("ref." + format), out = dir.file("out." + format);
        REQUIRE(cli(run_args(inputs, format, ref, false), dir).code == 1);
        const std::string reference = testing::read_text(ref);
        // Three inputs complete, then half of the fourth input's first record.
        std::size_t cut = 0;
        const std::string key = format == "csv" ? "\nsummary," : "\n{\"type\":\"summary\"";
        for (int i = 0; i < 3; ++i) cut = reference.find(key, cut + 1);
        cut = reference.find('\n', cut + 1) + 1;
        const std::size_t next_end = reference.find('\n', cut);
        testing::write_text(out + ".partial", reference.substr(0, cut + (next_end - cut) / 2));
        const Ran r = cli(run_args(inputs, format, out, true), dir);
        CHECK_MESSAGE(r.code == 1, r.err);
        CHECK(testing::read_text(out) == reference);
        CHECK(r.err.find("cut ") != std::string::npos);
    }
}

// A journal written for another input list must not be completed with this list's inputs.
TEST_CASE("a journal of another input list is refused with exit 2 and kept") {
    TempDir dir;
    const std::vector<std::string> inputs = make_corpus(dir);
    const std::string out = dir.file("out.jsonl");
    REQUIRE(cli(run_args(inputs, "jsonl", out, true), dir).code == 1);
    std::filesystem::rename(out, out + ".partial");
    std::vector<std::string> other = inputs;
    std::swap(other[1], other[2]);
    const Ran r = cli(run_args(other, "jsonl", out, true), dir);
    CHECK(r.code == 2);
    CHECK(r.err.find(out + ".partial") != std::string::npos);
    CHECK(r.err.find("input 2") != std::string::npos);
    CHECK(std::filesystem::exists(out + ".partial"));
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("--resume is refused without --out and for the table format") {
    TempDir dir;
    const std::vector<std::string> inputs = make_corpus(dir);
    std::vector<std::string> args = run_args(inputs, "table", dir.file("t.txt"), true);
    CHECK(cli(args, dir).code == 2);
    const Ran r = cli({"run", "-q", "-m", model_path(), "--resume", inputs[0]}, dir);
    CHECK(r.code == 2);
    CHECK(r.err.find("--resume needs --out") != std::string::npos);
}

// A plain --out run must not take or delete an interrupted --resume run's journal.
TEST_CASE("a run without --resume warns about a leftover journal and leaves it") {
    TempDir dir;
    const std::vector<std::string> inputs = make_corpus(dir);
    const std::string out = dir.file("out.jsonl");
    testing::write_text(out + ".partial", "{\"type\":\"su");
    const Ran r = cli(run_args(inputs, "jsonl", out, false), dir);
    CHECK(r.code == 1);
    CHECK(r.err.find(out + ".partial exists") != std::string::npos);
    CHECK(testing::read_text(out + ".partial") == "{\"type\":\"su");
}
}
