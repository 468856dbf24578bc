// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Config::keep_host_threading: what a load and a run leave of the process's thread settings, with and without
// it. Each case runs tests/hosts/threading_host.cpp (a host linking the shared libarpipe) in fresh processes,
// because these settings are process-wide: one process would carry them from one case to the next.
#include <sys/wait.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "support.h"

namespace {

struct HostRun {
    int code = -1;
    std::string out;                    // the JSON Lines records
    std::map<std::string, int> report;  // the --report line, key=value
};

/// Runs the host on the samples with `args` and --report, 2 threads, the bundled tagger.
HostRun run_host(const std::string& args) {
    testing::TempDir dir;
    const std::string out = dir.file("out.jsonl"), err = dir.file("err.txt");
    const std::string cmd = std::string(ARPIPE_THREADING_HOST_PATH) + " --report -j 2 -m " +
                            testing::repo_path("data/models/tagger.pt") + " " + args + " " +
                            testing::repo_path("data/samples/speech_librivox.flac") + " " +
                            testing::repo_path("data/samples/music_then_speech_8k.wav") + " >" + out + " 2>" + err +
                            " </dev/null";
    const int status = std::system(cmd.c_str());
    HostRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = testing::read_text(out);
    const std::string text = testing::read_text(err);
    const auto line_start = text.rfind("main_intra_op=");
    std::istringstream line(line_start == std::string::npos ? std::string() : text.substr(line_start));
    std::string pair;
    while (line >> pair) {
        const auto eq = pair.find('=');
        if (eq != std::string::npos) r.report[pair.substr(0, eq)] = std::stoi(pair.substr(eq + 1));
    }
    INFO("host stderr: " << text);
    REQUIRE(r.code == 0);
    REQUIRE(r.report.size() == 8);
    return r;
}

}  // namespace

TEST_SUITE("host threading") {
    // Without the flag a run sets at::set_num_threads(1) on every thread it uses, and ATen also keeps that
    // count as the process's default for threads that have not used it yet.
    TEST_CASE("by default a load and a run pin LibTorch to one thread and stop OpenBLAS's pool") {
        for (const char* arena : {"", "--caller-arena"}) {
            CAPTURE(arena);
            HostRun r = run_host(std::string("--host-intra-op 3 ") + arena);
            CHECK(r.report["main_intra_op"] == 1);
            CHECK(r.report["run_intra_op_min"] == 1);
            CHECK(r.report["run_intra_op_max"] == 1);
            CHECK(r.report["new_thread_intra_op"] == 1);
            CHECK(r.report["interop_settable"] == 0);
            if (r.report["openblas_before"] > 1) CHECK(r.report["openblas_after"] == 1);
        }
    }

    TEST_CASE("with keep_host_threading a load and a run leave the host's thread settings as they were") {
        for (const char* arena : {"", "--caller-arena"}) {
            CAPTURE(arena);
            HostRun r = run_host(std::string("--keep-host-threading --host-intra-op 3 ") + arena);
            CHECK(r.report["main_intra_op"] == 3);
            // The run's workers take the host's count (ATen's process default) and nobody changes it.
            CHECK(r.report["run_intra_op_min"] == 3);
            CHECK(r.report["run_intra_op_max"] == 3);
            CHECK(r.report["new_thread_intra_op"] == 3);
            CHECK(r.report["interop_settable"] == 1);
            CHECK(r.report["openblas_after"] == r.report["openblas_before"]);
        }
    }

    TEST_CASE("the records are byte-identical with and without keep_host_threading") {
        const HostRun pinned = run_host("");
        const HostRun kept = run_host("--keep-host-threading");
        CHECK(pinned.out.find("\"type\":\"event\"") != std::string::npos);
        CHECK(pinned.out == kept.out);
    }
}
