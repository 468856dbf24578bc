// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The `arpipe` command as a user runs it: help, exit codes, --out, --files-from, formats.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "support.h"

using testing::TempDir;

namespace {

using Ran = testing::CliRun;

Ran arpipe_cli(const std::string& args, const TempDir& dir) { return testing::run_cli(args, dir); }

std::string model_flag(const char* fixture) { return "-m " + testing::repo_path(std::string("tests/data/models/") + fixture); }

}  // namespace

TEST_SUITE("cli") {
    TEST_CASE("--help lists the subcommands and the exit codes") {
        TempDir dir;
        const Ran r = arpipe_cli("--help", dir);
        CHECK(r.code == 0);
        CHECK(r.out.find("run") != std::string::npos);
        CHECK(r.out.find("info") != std::string::npos);
        CHECK(r.out.find("Exit codes") != std::string::npos);
        const Ran run = arpipe_cli("run --help", dir);
        CHECK(run.code == 0);
        for (const char* flag : {"--threads", "--tokens", "--batch", "--format", "--out", "--files-from", "--raw-format",
                                 "--threshold", "--min-event", "--min-gap", "--top-k", "--quiet"})
            CHECK_MESSAGE(run.out.find(flag) != std::string::npos, flag);
    }

    TEST_CASE("a good file and a bad one: JSON Lines for both, exit code 1") {
        TempDir dir;
        testing::write_audio(dir.file("good.wav"), testing::noise(2.0, 16000, 0.3f), 16000);
        testing::write_text(dir.file("bad.wav"), "not audio");
        const Ran r = arpipe_cli(model_flag("loudness_clip.pt") + " -q run " + dir.file("good.wav") + " " + dir.file("bad.wav"), dir);
        // CLI11 requires options after the subcommand; the line above puts -m first, which must fail as usage.
        CHECK(r.code == 2);
        const Ran ok = arpipe_cli("run -q " + model_flag("loudness_clip.pt") + " " + dir.file("good.wav") + " " + dir.file("bad.wav"), dir);
        CHECK(ok.code == 1);
        std::istringstream lines(ok.out);
        std::string line;
        std::vector<nlohmann::json> recs;
        while (std::getline(lines, line)) recs.push_back(nlohmann::json::parse(line));
        REQUIRE(recs.size() >= 3);
        CHECK(recs[0]["type"] == "event");
        CHECK(recs[0]["label"] == "loud");
        CHECK(recs[recs.size() - 2]["type"] == "summary");
        CHECK(recs.back()["type"] == "error");
        CHECK(recs.back()["file"] == dir.file("bad.wav"));
        CHECK(recs.back()["code"] == "unsupported_format");
    }

    TEST_CASE("flag ranges are the library's: out of range exits 2 at parse time and --help shows the range") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        const std::string tail = " " + model_flag("loudness_clip.pt") + " " + dir.file("a.wav");
        // --threshold 0 used to pass the CLI and fail only in Config::validate().
        const Ran zero = arpipe_cli("run --threshold 0" + tail, dir);
        CHECK(zero.code == 2);
        CHECK(zero.err.find("0 is not in (0, 1]") != std::string::npos);
        CHECK(zero.out.empty());
        for (const char* bad : {"--batch 0", "-j 1025", "--tokens -1", "--chunk-seconds 0.5", "--top-k 5000",
                                "--min-gap -1", "--min-event 3601", "--threshold nan", "--batch x", "--max-memory 12X",
                                "--max-memory -5G", "--off-threshold nan"}) {
            CAPTURE(bad);
            const Ran r = arpipe_cli(std::string("run ") + bad + tail, dir);
            CHECK(r.code == 2);
            CHECK(r.out.empty());
        }
        CHECK(arpipe_cli("run -q --threshold 1 --batch 1024 --chunk-seconds 1" + tail, dir).code == 0);
        // A rule between two settings is Config::validate()'s, reached through Engine::load.
        const Ran off = arpipe_cli("run --threshold 0.5 --off-threshold 0.7" + tail, dir);
        CHECK(off.code == 2);
        CHECK(off.err.find("post.off_threshold = 0.7") != std::string::npos);
        const Ran fmt = arpipe_cli("run -f xml" + tail, dir);
        CHECK(fmt.code == 2);
        CHECK(fmt.err.find("output format \"xml\" is not one of: jsonl, csv, table") != std::string::npos);
        const Ran raw = arpipe_cli("run --raw-format s16le:10:1" + tail, dir);
        CHECK(raw.code == 2);
        CHECK(raw.err.find("raw_format.sample_rate_hz = 10 is not in [1000, 768000]") != std::string::npos);
        const Ran help = arpipe_cli("run --help", dir);
        CHECK(help.out.find("(0, 1]") != std::string::npos);
        CHECK(help.out.find("[1, 1024]") != std::string::npos);
    }

    TEST_CASE("a model that cannot load exits 2 and says why") {
        TempDir dir;
        const Ran r = arpipe_cli("run " + model_flag("no_description.pt") + " " + dir.file("x.wav"), dir);
        CHECK(r.code == 2);
        CHECK(r.err.find("no arpipe.json") != std::string::npos);
        const Ran none = arpipe_cli("run " + model_flag("loudness_clip.pt"), dir);
        CHECK(none.code == 2);
        CHECK(none.err.find("no inputs") != std::string::npos);
    }

    // run, plan and merge gather their inputs in one place (gather_paths): each names a list it cannot read, and
    // says what to give when there is nothing.
    TEST_CASE("run, plan and merge name an unreadable --files-from list and refuse an empty input set") {
        TempDir dir;
        testing::write_text(dir.file("empty.txt"), "\n\r\n");
        const std::string model = model_flag("loudness_clip.pt");
        for (const std::string& command : std::vector<std::string>{"run " + model, "plan --shard 1/2", "merge -o " + dir.file("m.jsonl") + " x.jsonl"}) {
            CAPTURE(command);
            const Ran missing = arpipe_cli(command + " --files-from " + dir.file("nope.txt"), dir);
            CHECK(missing.code == 2);
            CHECK(missing.err.find("cannot read the list file " + dir.file("nope.txt")) != std::string::npos);
            const Ran empty = arpipe_cli(command + " --files-from " + dir.file("empty.txt"), dir);
            CHECK(empty.code == 2);
            CHECK(empty.err.find("--files-from LIST") != std::string::npos);  // what to give instead
        }
    }

    TEST_CASE("--out writes the whole file under its name and leaves no temporary behind") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        testing::write_text(dir.file("list.txt"), dir.file("a.wav") + "\n" + dir.file("a.wav") + "\n");
        const Ran r = arpipe_cli("run -q -f csv " + model_flag("loudness_clip.pt") + " --files-from " + dir.file("list.txt") +
                                     " --out " + dir.file("result.csv"),
                                 dir);
        CHECK(r.code == 0);
        CHECK(r.out.empty());
        const std::string csv = testing::read_text(dir.file("result.csv"));
        CHECK(csv.rfind("type,file,label", 0) == 0);
        std::size_t summaries = 0;
        for (std::size_t p = csv.find("\nsummary,"); p != std::string::npos; p = csv.find("\nsummary,", p + 1)) ++summaries;
        CHECK(summaries == 2);
        std::size_t entries = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
        CHECK(entries == 5);  // a.wav, list.txt, result.csv, stdout.txt, stderr.txt
    }

    TEST_CASE("info prints the model's description") {
        TempDir dir;
        const Ran r = arpipe_cli("info " + testing::repo_path("tests/data/models/loudness_frames.pt"), dir);
        CHECK(r.code == 0);
        CHECK(r.out.find("waveform") != std::string::npos);
        CHECK(r.out.find("frame hop 0.05 s") != std::string::npos);
        const Ran j = arpipe_cli("info --json " + testing::repo_path("tests/data/models/loudness_frames.pt"), dir);
        CHECK(nlohmann::json::parse(j.out)["labels"][0] == "loud");
    }
}

TEST_SUITE("cli") {
    /// Runs the CLI over 200 copies of a 30 s file and, once the first file's summary is out, stops it and
    /// sends `signals` (several are delivered together when it resumes). Returns stdout lines, stderr, status.
    struct Interrupted {
        std::vector<std::string> lines;
        std::string err;
        int status = 0;
        bool signalled = false;
    };
    Interrupted interrupt_run(const TempDir& dir, std::initializer_list<int> signals) {
        testing::write_audio(dir.file("a.wav"), testing::noise(30.0, 16000, 0.3f), 16000);
        std::string list;
        for (int i = 0; i < 200; ++i) list += dir.file("a.wav") + "\n";
        testing::write_text(dir.file("list.txt"), list);
        int out_pipe[2];
        REQUIRE(::pipe(out_pipe) == 0);
        const std::string err_path = dir.file("err.txt");
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::dup2(out_pipe[1], STDOUT_FILENO);
            ::close(out_pipe[0]);
            std::freopen(err_path.c_str(), "w", stderr);
            const std::string model = testing::repo_path("tests/data/models/loudness_clip.pt");
            const std::string files = dir.file("list.txt");
            ::execl(ARPIPE_CLI_PATH, "arpipe", "run", "-j", "1", "--batch", "1", "-m", model.c_str(), "--files-from",
                    files.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out_pipe[1]);
        FILE* out = ::fdopen(out_pipe[0], "r");
        Interrupted r;
        char buf[4096];
        while (std::fgets(buf, sizeof buf, out) != nullptr) {
            r.lines.emplace_back(buf);
            if (!r.signalled && r.lines.back().find("\"type\":\"summary\"") != std::string::npos) {
                ::kill(pid, SIGSTOP);
                for (int sig : signals) ::kill(pid, sig);
                ::kill(pid, SIGCONT);
                r.signalled = true;
            }
        }
        std::fclose(out);
        ::waitpid(pid, &r.status, 0);
        r.err = testing::read_text(err_path);
        return r;
    }

    TEST_CASE("SIGINT, SIGTERM or SIGHUP stops the run, keeps complete records, lists what was not processed and exits 130") {
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
            CAPTURE(sig);
            TempDir dir;
            const Interrupted r = interrupt_run(dir, {sig});
            REQUIRE(r.signalled);
            CHECK(WIFEXITED(r.status));
            CHECK(WEXITSTATUS(r.status) == 130);
            std::size_t summaries = 0, cancelled = 0;
            for (const auto& l : r.lines) {
                const auto j = nlohmann::json::parse(l);  // every line is complete JSON
                summaries += j["type"] == "summary";
                cancelled += j["type"] == "error" && j["code"] == "cancelled";
            }
            CHECK(summaries >= 1);
            CHECK(summaries < 200);
            CHECK(summaries + cancelled == 200);  // nothing lost
            CHECK(r.err.find("interrupted") != std::string::npos);
            CHECK(r.err.find("not processed") != std::string::npos);
        }
    }

    TEST_CASE("a second signal exits at once, without the orderly wind-down") {
        // SIGINT and SIGTERM are sent while the process is stopped, so both are delivered the moment it
        // resumes: the first starts the orderly stop, the second must end the process before that stop
        // gets to list the unprocessed inputs.
        TempDir dir;
        const Interrupted r = interrupt_run(dir, {SIGINT, SIGTERM});
        REQUIRE(r.signalled);
        CHECK(WIFEXITED(r.status));
        CHECK(WEXITSTATUS(r.status) == 130);
        CHECK(r.lines.size() < 200);
        CHECK(r.err.find("not processed") == std::string::npos);
    }
}

TEST_SUITE("cli") {
    TEST_CASE("--out to a FIFO writes into it instead of replacing it with a file") {
        // Regression: --out /dev/null, run as root, renamed a regular file over /dev/null.
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        const std::string fifo = dir.file("pipe");
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        std::string got;
        std::thread reader([&] { got = testing::read_text(fifo); });
        const Ran r = arpipe_cli("run -q " + model_flag("loudness_clip.pt") + " -o " + fifo + " " + dir.file("a.wav"), dir);
        reader.join();
        CHECK(r.code == 0);
        CHECK(got.find("\"type\":\"summary\"") != std::string::npos);
        struct stat st {};
        REQUIRE(::stat(fifo.c_str(), &st) == 0);
        CHECK(S_ISFIFO(st.st_mode));
    }
}

TEST_SUITE("cli") {
    /// Runs `command` with bash; returns the exit status of its first pipeline element (PIPESTATUS[0]).
    int bash_status(const TempDir& dir, const std::string& command) {
        const std::string script = dir.file("cmd.sh");
        testing::write_text(script, "set -o pipefail\n" + command + "\necho ${PIPESTATUS[0]} >" + dir.file("status.txt") + "\n");
        const int rc = std::system(("bash " + script).c_str());
        REQUIRE(WIFEXITED(rc));
        return std::stoi(testing::read_text(dir.file("status.txt")));
    }

    TEST_CASE("standard output that fails ends with exit 3 and a message; a reader that leaves ends it quietly") {
        TempDir dir;
        testing::write_audio(dir.file("good.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        const std::string run = std::string(ARPIPE_CLI_PATH) + " run -q " + model_flag("loudness_clip.pt") + " ";
        const std::string err = dir.file("err.txt");
        // A full device: every record would be lost.
        CHECK(bash_status(dir, run + dir.file("good.wav") + " >/dev/full 2>" + err) == 3);
        CHECK(testing::read_text(err).find("cannot write standard output: No space left on device") != std::string::npos);
        // Standard output closed.
        CHECK(bash_status(dir, run + dir.file("good.wav") + " >&- 2>" + err) == 3);
        CHECK(testing::read_text(err).find("cannot write standard output: Bad file descriptor") != std::string::npos);
        // A reader that closes the pipe after one byte: exit 3, no message, no SIGPIPE death (141). With
        // --scores the records outgrow the pipe's 64 KiB buffer, so some write comes after the reader has gone,
        // however late it is scheduled.
        std::string list;
        for (int i = 0; i < 300; ++i) list += dir.file("good.wav") + "\n";
        testing::write_text(dir.file("list.txt"), list);
        CHECK(bash_status(dir, run + "--scores --files-from " + dir.file("list.txt") + " 2>" + err + " | head -c 1 >/dev/null") == 3);
        CHECK(testing::read_text(err).empty());
        // --out onto a full device names it and gives the reason.
        const Ran full = arpipe_cli("run -q " + model_flag("loudness_clip.pt") + " -o /dev/full " + dir.file("good.wav"), dir);
        CHECK(full.code == 3);
        CHECK(full.err.find("cannot write /dev/full: No space left on device") != std::string::npos);
        // --memory-csv onto a full device: the records are still written, then exit 3 naming the CSV.
        const Ran csv_full = arpipe_cli("run -q " + model_flag("loudness_clip.pt") + " --memory-csv /dev/full " + dir.file("good.wav"), dir);
        CHECK(csv_full.code == 3);
        CHECK(csv_full.out.find("\"type\":\"summary\"") != std::string::npos);
        CHECK(csv_full.err.find("cannot write /dev/full") != std::string::npos);
    }

    TEST_CASE("--out and --memory-csv may not name an input, each other or a directory") {
        TempDir dir;
        testing::write_audio(dir.file("v.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        const std::string before = testing::read_text(dir.file("v.wav"));
        const std::string run = "run -q " + model_flag("loudness_clip.pt") + " ";
        const Ran same = arpipe_cli(run + dir.file("v.wav") + " -o " + dir.file("v.wav"), dir);
        CHECK(same.code == 2);
        CHECK(same.err.find("--out " + dir.file("v.wav") + " is one of the inputs") != std::string::npos);
        // The same file reached by another path, and an input found by walking a directory.
        const Ran dotted = arpipe_cli(run + dir.path().string() + " -o " + dir.path().string() + "/./v.wav", dir);
        CHECK(dotted.code == 2);
        const Ran csv = arpipe_cli(run + dir.file("v.wav") + " --memory-csv " + dir.file("v.wav"), dir);
        CHECK(csv.code == 2);
        CHECK(csv.err.find("--memory-csv") != std::string::npos);
        CHECK(testing::read_text(dir.file("v.wav")) == before);
        const Ran both = arpipe_cli(run + dir.file("v.wav") + " -o " + dir.file("x.jsonl") + " --memory-csv " + dir.file("x.jsonl"), dir);
        CHECK(both.code == 2);
        CHECK(both.err.find("names the same file as the other output") != std::string::npos);
        const Ran folder = arpipe_cli(run + dir.file("v.wav") + " -o " + dir.path().string(), dir);
        CHECK(folder.code == 2);
        CHECK(folder.err.find("is a directory") != std::string::npos);
        CHECK(arpipe_cli(run + dir.file("v.wav") + " -o /dev/null", dir).code == 0);
    }

    TEST_CASE("--out that cannot be written in full names the file and the reason, and leaves nothing behind") {
        // A file-size limit stands in for a full disk: past 2 KiB every write fails (EFBIG).
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        std::string list;
        for (int i = 0; i < 100; ++i) list += dir.file("a.wav") + "\n";
        testing::write_text(dir.file("list.txt"), list);
        const std::string err = dir.file("err.txt");
        const int code = bash_status(dir, "ulimit -f 2; " + std::string(ARPIPE_CLI_PATH) + " run -q " + model_flag("loudness_clip.pt") +
                                              " --files-from " + dir.file("list.txt") + " -o " + dir.file("out.jsonl") + " 2>" + err);
        CHECK(code == 3);
        CHECK(testing::read_text(err).find("cannot write " + dir.file("out.jsonl") + ": File too large") != std::string::npos);
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        CHECK(names == std::vector<std::string>{"a.wav", "cmd.sh", "err.txt", "list.txt", "status.txt"});
    }

    TEST_CASE("--out leaves no temporary name, even when the process is killed") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(30.0, 16000, 0.3f), 16000);
        std::string list;
        for (int i = 0; i < 200; ++i) list += dir.file("a.wav") + "\n";
        testing::write_text(dir.file("list.txt"), list);
        testing::write_text(dir.file("out.jsonl"), "old contents\n");
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            std::freopen("/dev/null", "w", stderr);
            const std::string model = testing::repo_path("tests/data/models/loudness_clip.pt");
            const std::string files = dir.file("list.txt"), out = dir.file("out.jsonl");
            ::execl(ARPIPE_CLI_PATH, "arpipe", "run", "-j", "1", "-m", model.c_str(), "--files-from", files.c_str(), "-o",
                    out.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // well into the run: model loaded, records written
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        CHECK(names == std::vector<std::string>{"a.wav", "list.txt", "out.jsonl"});
        CHECK(testing::read_text(dir.file("out.jsonl")) == "old contents\n");  // untouched: no partial file
    }
}

TEST_SUITE("cli") {
    TEST_CASE("a directory without audio is named with what was skipped, and a run with nothing to do exits 1") {
        TempDir dir;
        std::filesystem::create_directories(dir.file("empty"));
        std::filesystem::create_directories(dir.file("other"));
        testing::write_text(dir.file("other/a.m4a"), "x");
        testing::write_text(dir.file("other/b.m4a"), "x");
        testing::write_text(dir.file("other/notes.txt"), "x");
        const std::string run = "run -q " + model_flag("loudness_clip.pt") + " ";
        const Ran r = arpipe_cli(run + dir.file("empty") + " " + dir.file("other"), dir);
        CHECK(r.code == 1);
        CHECK(r.out.empty());
        CHECK(r.err.find(dir.file("empty") + " holds no audio files (it is empty)") != std::string::npos);
        CHECK(r.err.find(dir.file("other") + " holds no audio files; 3 file(s) skipped by extension: .m4a .txt") !=
              std::string::npos);
        CHECK(r.err.find("nothing to process") != std::string::npos);
        // With audio beside it, the run goes on; the empty directory is still named.
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        const Ran some = arpipe_cli(run + dir.file("empty") + " " + dir.file("a.wav"), dir);
        CHECK(some.code == 0);
        CHECK(some.err.find("holds no audio files") != std::string::npos);
    }

    TEST_CASE("a --files-from line holding a NUL byte gets its own error record, not the file before the NUL") {
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::noise(1.0, 16000, 0.3f), 16000);
        std::string list = dir.file("a.wav") + "\n" + dir.file("a.wav") + std::string(1, '\0') + "junk\n";
        testing::write_text(dir.file("list.txt"), list);
        const Ran r = arpipe_cli("run -q " + model_flag("loudness_clip.pt") + " --files-from " + dir.file("list.txt"), dir);
        CHECK(r.code == 1);
        std::istringstream lines(r.out);
        std::string line;
        std::vector<nlohmann::json> recs;
        while (std::getline(lines, line)) recs.push_back(nlohmann::json::parse(line));
        REQUIRE(recs.size() >= 2);
        CHECK(recs[recs.size() - 2]["type"] == "summary");
        CHECK(recs.back()["type"] == "error");
        CHECK(recs.back()["code"] == "bad_path");
        CHECK(recs.back()["file"] == dir.file("a.wav") + std::string(1, '\0') + "junk");
        CHECK(recs.back()["message"] == "the path holds a NUL byte at offset " + std::to_string(dir.file("a.wav").size()) +
                                            ", so it names no file");
    }
}
