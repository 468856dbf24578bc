// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `arpipe bench` works: it runs every engine and experiment of a quick sweep and writes a CSV and a JSON
// with the expected rows and sane values. Nothing here checks a timing: those are the bench's own results.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support.h"

using testing::TempDir;

namespace {

using Ran = testing::CliRun;

Ran arpipe_bench(const std::string& args, const TempDir& dir) { return testing::run_cli("bench " + args, dir); }

/// bench.csv as one map per row, keyed by the header's column names.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> header;
    std::vector<std::map<std::string, std::string>> rows;
    auto split = [](const std::string& l) {
        std::vector<std::string> cells;
        std::stringstream ss(l);
        std::string cell;
        while (std::getline(ss, cell, ',')) cells.push_back(cell);
        return cells;
    };
    if (std::getline(in, line)) header = split(line);
    while (std::getline(in, line)) {
        const auto cells = split(line);
        REQUIRE(cells.size() == header.size());
        std::map<std::string, std::string> row;
        for (std::size_t i = 0; i < cells.size(); ++i) row[header[i]] = cells[i];
        rows.push_back(row);
    }
    return rows;
}

double num(const std::map<std::string, std::string>& row, const std::string& key) { return std::stod(row.at(key)); }

}  // namespace

TEST_SUITE("bench") {
    TEST_CASE("bench --help names every sweep, engine and output") {
        TempDir dir;
        const Ran r = arpipe_bench("--help", dir);
        CHECK(r.code == 0);
        for (const char* word : {"--synthetic", "--in-memory", "--threads", "--intra-op", "--batches", "--tokens",
                                 "--engines", "--experiments", "--repeats", "--pairs", "--quick", "--out-dir", "naive",
                                 "--naive-model-per-thread",
                                 "multiproc", "bench.csv", "bench.json", "Exit codes"})
            CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
        CHECK(r.out.find("--worker") == std::string::npos);  // internal, hidden
    }

    TEST_CASE("bench --quick runs every engine and writes rows with sane values") {
        TempDir dir;
        const std::string out = dir.file("out");
        const Ran r = arpipe_bench("--quick -q --cores 2 -m " + testing::repo_path("tests/data/models/loudness_clip.pt") +
                                       " --out-dir " + out,
                                   dir);
        INFO(r.err);
        REQUIRE(r.code == 0);
        CHECK(r.out.find("recommendation for this host: arpipe run -j ") != std::string::npos);

        const auto rows = read_csv(testing::read_text(out + "/bench.csv"));
        std::set<std::string> seen;
        for (const auto& row : rows) {
            const std::string key = row.at("experiment") + " " + row.at("engine") + " " + row.at("threads") + " " +
                                    row.at("intra_op");
            seen.insert(key);
            INFO(key);
            CHECK(num(row, "files_failed") == 0);
            CHECK(num(row, "audio_s") == doctest::Approx(20.0).epsilon(0.01));
            CHECK(num(row, "throughput_x") > 0);
            CHECK(num(row, "wall_s") > 0);
            CHECK(num(row, "cpu_util") > 0);
            CHECK(num(row, "peak_rss_mib") > 10);
            CHECK(num(row, "threads_seen") >= 1);
            CHECK(num(row, "segments") > 0);
            CHECK(num(row, "share_decode") + num(row, "share_features") + num(row, "share_infer") + num(row, "share_output") ==
                  doctest::Approx(1.0).epsilon(0.01));
            if (row.at("engine") == "arpipe") {
                // One arena owns every thread: at most the arena's threads plus the caller.
                CHECK(num(row, "threads_seen") <= num(row, "threads") + 1);
                CHECK(num(row, "cpu_util") < 1.3);
            }
            if (row.at("engine") == "multiproc") CHECK(num(row, "processes") == num(row, "threads"));
        }
        for (const char* key : {"scaling arpipe 1 1", "scaling arpipe 2 1", "scaling naive 1 1", "scaling naive 1 2",
                                "scaling naive 2 1", "scaling naive 2 2", "scaling multiproc 1 1",
                                "scaling multiproc 2 1", "paired arpipe 1 1", "paired arpipe 2 1",
                                "paired multiproc 2 1", "paired naive 2 2", "paired naive 2 1"})
            CHECK_MESSAGE(seen.count(key) == 1, key);
        CHECK(rows.size() == seen.size());

        const auto doc = nlohmann::json::parse(testing::read_text(out + "/bench.json"));
        CHECK(doc["points"].size() == rows.size());
        CHECK(doc["events_agree"] == true);  // every engine emits the same events from the same audio
        CHECK(doc["model"]["name"] == "loudness_clip");
        CHECK(doc["workload"]["synthetic"]["files"] == 8);
        std::set<std::string> targets;
        for (const auto& t : doc["targets"]) {
            targets.insert(t["name"].get<std::string>());
            CHECK(t["measured"].get<double>() > 0);
            CHECK(t["rounds"].size() == 1);
        }
        for (const char* name : {"scaling", "cpu_per_audio", "vs_multiproc_throughput", "vs_multiproc_rss", "vs_naive",
                                 "vs_naive_intra_1", "pipeline_overhead", "features_in_pipeline"})
            CHECK_MESSAGE(targets.count(name) == 1, name);
        CHECK(doc["recommendation"]["threads"].get<int>() >= 1);
    }

    TEST_CASE("bench rejects bad options with exit code 2 and says why") {
        TempDir dir;
        const Ran engines = arpipe_bench("--engines arpipe,gpu --out-dir " + dir.file("o"), dir);
        CHECK(engines.code == 2);
        CHECK(engines.err.find("gpu is not one of arpipe, naive, multiproc") != std::string::npos);
        const Ran duration = arpipe_bench("--synthetic ten --out-dir " + dir.file("o"), dir);
        CHECK(duration.code == 2);
        CHECK(duration.err.find("--synthetic ten is not a duration") != std::string::npos);
        const Ran model = arpipe_bench("--quick -m " + dir.file("missing.pt") + " --out-dir " + dir.file("o"), dir);
        CHECK(model.code == 2);
        CHECK(model.err.find("missing.pt") != std::string::npos);
    }
}
