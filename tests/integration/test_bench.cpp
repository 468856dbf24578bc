// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `arpipe-bench` works: it runs every engine and experiment of a quick sweep and writes a CSV and a JSON
// with the expected rows and sane values, and reads its targets from data/bench/targets.json or --targets.
// Nothing here checks a timing: those are the bench's own results.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support.h"

using testing::TempDir;

namespace {

using Ran = testing::CliRun;

/// Runs the built `arpipe-bench` with `args` (stdin from /dev/null), as testing::run_cli runs `arpipe`.
Ran arpipe_bench(const std::string& args, const TempDir& dir) {
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    const std::string cmd = std::string(ARPIPE_BENCH_PATH) + " " + args + " >" + out + " 2>" + err + " </dev/null";
    const int status = std::system(cmd.c_str());
    Ran r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = testing::read_text(out);
    r.err = testing::read_text(err);
    return r;
}

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

/// The five stage shares of a CSV row, input (arpipe's serial input filter) included.
double share_sum(const std::map<std::string, std::string>& row) {
    return num(row, "share_input") + num(row, "share_decode") + num(row, "share_features") + num(row, "share_infer") +
           num(row, "share_output");
}

/// A short paired-only bench (arpipe -j 1 and -j 2, and with `multiproc` two processes) of 10 s of synthetic
/// audio in 4 files of the format `extra` names, then the checks every format must pass: the files decode in
/// every engine, the stage shares (input included) add up, and the Amdahl estimate is there and sane.
nlohmann::json quick_format_bench(const std::string& extra, bool multiproc, const TempDir& dir) {
    const std::string out = dir.file("out");
    const Ran r = arpipe_bench(std::string("--quick -q --cores 2 --experiments paired --engines ") +
                                   (multiproc ? "arpipe,multiproc" : "arpipe") +
                                   " --synthetic 10s --synthetic-files 4 --keep-workload -m " +
                                   testing::repo_path("tests/data/models/loudness_clip.pt") + " " + extra +
                                   " --out-dir " + out,
                               dir);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("Amdahl bound at 16 cores from measured stage times: ") != std::string::npos);

    const auto rows = read_csv(testing::read_text(out + "/bench.csv"));
    CHECK(rows.size() == (multiproc ? 3u : 2u));
    for (const auto& row : rows) {
        const std::string key = row.at("engine") + " " + row.at("threads");
        INFO(key);
        CHECK(num(row, "files_failed") == 0);
        CHECK(num(row, "segments") > 0);
        CHECK(num(row, "audio_s") == doctest::Approx(10.0).epsilon(0.02));
        CHECK(share_sum(row) == doctest::Approx(1.0).epsilon(0.01));
        CHECK(num(row, "share_input") > 0);  // arpipe opens, validates and plans each file in its input filter
        CHECK(num(row, "share_decode") > 0);
    }

    auto doc = nlohmann::json::parse(testing::read_text(out + "/bench.json"));
    CHECK(doc["events_agree"] == true);
    for (const auto& p : doc["points"]) {
        const auto& share = p["median"]["stage_share"];
        CHECK(share["input"].get<double>() + share["decode"].get<double>() + share["features"].get<double>() +
                  share["infer"].get<double>() + share["output"].get<double>() ==
              doctest::Approx(1.0).epsilon(0.01));
        for (const auto& sample : p["samples"]) CHECK(sample["stage_s"]["input"].get<double>() > 0);
    }
    const nlohmann::json* amdahl = nullptr;
    for (const auto& t : doc["targets"])
        if (t["name"] == "amdahl_16") amdahl = &t;
    REQUIRE(amdahl != nullptr);
    const double bound = (*amdahl)["measured"].get<double>(), f = (*amdahl)["serial_share"].get<double>();
    CHECK((*amdahl)["informational"] == true);
    CHECK((*amdahl)["cores"] == 16);
    CHECK(bound > 1.0);
    CHECK(bound <= 16.0);
    CHECK(f > 0.0);
    CHECK(f < 1.0);
    CHECK(bound == doctest::Approx(1.0 / (f + (1.0 - f) / 16.0)).epsilon(0.01));

    // The files are what the workload section says: decode one with `arpipe run` and read its summary.
    const std::string marker = "workload kept in ";
    const auto at = r.out.find(marker);
    REQUIRE(at != std::string::npos);
    const std::string kept = r.out.substr(at + marker.size(), r.out.find('\n', at) - at - marker.size());
    const std::string first = kept + "/synthetic-000." + doc["workload"]["format"].get<std::string>();
    const Ran run = testing::run_cli("run -q -m " + testing::repo_path("tests/data/models/loudness_clip.pt") + " " +
                                         first,
                                     dir);
    std::error_code ec;
    std::filesystem::remove_all(kept, ec);
    INFO(run.err);
    CHECK(run.code == 0);
    const auto summary = nlohmann::json::parse(run.out.substr(run.out.rfind("{\"type\":\"summary\"")));
    CHECK(summary["source_rate"] == doc["workload"]["sample_rate_hz"]);
    CHECK(summary["source_channels"] == doc["workload"]["channels"]);
    return doc;
}

}  // namespace

TEST_SUITE("bench") {
    TEST_CASE("arpipe-bench --help names every sweep, engine and output") {
        TempDir dir;
        const Ran r = arpipe_bench("--help", dir);
        CHECK(r.code == 0);
        for (const char* word : {"--synthetic", "--synthetic-format", "--synthetic-rate", "--synthetic-channels",
                                 "mp3", "opus", "flac", "Amdahl", "--in-memory", "--threads", "--intra-op", "--batches", "--tokens",
                                 "--engines", "--experiments", "--repeats", "--pairs", "--quick", "--out-dir", "naive",
                                 "--naive-model-per-thread",
                                 "multiproc", "bench.csv", "bench.json", "--targets", "targets.json", "Exit codes",
                                 "arpipe-bench --quick"})
            CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
        CHECK(r.out.find("--worker") == std::string::npos);  // internal, hidden
    }

    TEST_CASE("arpipe-bench --quick runs every engine and writes rows with sane values") {
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
            CHECK(share_sum(row) == doctest::Approx(1.0).epsilon(0.01));
            // The naive engine opens and decodes inside its own threads: all of it is decode time.
            if (row.at("engine") == "naive") CHECK(num(row, "share_input") == 0);
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
        CHECK(doc["workload"]["format"] == "wav");
        CHECK(doc["workload"]["sample_rate_hz"] == 16000);
        CHECK(doc["workload"]["channels"] == 1);
        std::set<std::string> targets;
        for (const auto& t : doc["targets"]) {
            targets.insert(t["name"].get<std::string>());
            CHECK(t["measured"].get<double>() > 0);
            CHECK(t["rounds"].size() == 1);
        }
        for (const char* name : {"scaling", "cpu_per_audio", "vs_multiproc_throughput", "vs_multiproc_rss", "vs_naive",
                                 "vs_naive_intra_1", "pipeline_overhead", "features_in_pipeline", "amdahl_16"})
            CHECK_MESSAGE(targets.count(name) == 1, name);
        // The goals and descriptions read from data/bench/targets.json are the ones the bench printed when they
        // were compiled in.
        const std::map<std::string, std::string> goals{{"scaling", ">= 1.85"},
                                                       {"cpu_per_audio", "<= 1.05"},
                                                       {"vs_multiproc_throughput", ">= 1.0"},
                                                       {"vs_multiproc_rss", "<= 0.60"},
                                                       {"vs_naive", "> 1.0 (the margin is the result)"},
                                                       {"vs_naive_intra_1", "> 1.0 (the margin is the result)"},
                                                       {"pipeline_overhead", ">= 0.90"},
                                                       {"features_in_pipeline", ">= 3000"},
                                                       {"amdahl_16", "none (informational)"}};
        for (const auto& t : doc["targets"]) {
            const std::string name = t["name"].get<std::string>();
            INFO(name);
            CHECK(t["goal"] == goals.at(name));
            CHECK(t["what"].get<std::string>().find('{') == std::string::npos);  // placeholders filled in
        }
        for (const auto& t : doc["targets"])
            if (t["name"] == "vs_naive_intra_1")
                CHECK(t["what"] == "arpipe -j 2 throughput over the naive engine with 2 threads and intra-op 1 (set on "
                                   "the main thread only)");
        CHECK(r.out.find("goal >= 1.85") != std::string::npos);
        CHECK(doc["recommendation"]["threads"].get<int>() >= 1);
    }

    // The naive engine post-processes with the same InputRecords as the pipeline: a ctc model's transcripts are
    // decoded and counted by both engines, and they agree.
    TEST_CASE("arpipe-bench with a ctc model: the naive engine and arpipe count the same transcripts") {
        TempDir dir;
        const std::string out = dir.file("out");
        const Ran r = arpipe_bench("--quick -q --cores 2 --experiments paired --engines arpipe,naive --synthetic 20s "
                                   "--synthetic-files 4 -m " + testing::repo_path("tests/data/models/ctc_energy.pt") +
                                       " --out-dir " + out,
                                   dir);
        INFO(r.err);
        REQUIRE(r.code == 0);
        const auto doc = nlohmann::json::parse(testing::read_text(out + "/bench.json"));
        CHECK(doc["events_agree"] == true);
        REQUIRE(doc["event_counts"].size() == 1);
        CHECK(doc["event_counts"][0].get<std::int64_t>() > 0);  // transcripts, counted alike
        std::set<std::string> engines;
        for (const auto& p : doc["points"]) engines.insert(p["engine"].get<std::string>());
        CHECK(engines == std::set<std::string>{"arpipe", "naive"});
    }

    TEST_CASE("arpipe-bench rejects bad options with exit code 2 and says why") {
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

    TEST_CASE("arpipe-bench decodes a 44.1 kHz stereo MP3 workload and reports the input stage and Amdahl's bound") {
        TempDir dir;
        // With the multi-process engine: the paired experiment compares it with arpipe on MP3 files too.
        const auto doc =
            quick_format_bench("--synthetic-format mp3 --synthetic-rate 44100 --synthetic-channels 2", true, dir);
        CHECK(doc["workload"]["format"] == "mp3");
        CHECK(doc["workload"]["synthetic"]["format"] == "mp3");
        CHECK(doc["workload"]["sample_rate_hz"] == 44100);
        CHECK(doc["workload"]["channels"] == 2);
        CHECK(doc["workload"]["bytes"].get<double>() > 0);
    }

    TEST_CASE("arpipe-bench decodes a 48 kHz Opus workload") {
        TempDir dir;
        const auto doc = quick_format_bench("--synthetic-format opus --synthetic-rate 48000", false, dir);
        CHECK(doc["workload"]["format"] == "opus");
        CHECK(doc["workload"]["sample_rate_hz"] == 48000);
        CHECK(doc["workload"]["channels"] == 1);
    }

    TEST_CASE("arpipe-bench rejects synthetic formats it cannot make, naming the flag") {
        TempDir dir;
        const Ran opus = arpipe_bench("--quick --synthetic-format opus --synthetic-rate 44100 --out-dir " + dir.file("o"), dir);
        CHECK(opus.code == 2);
        CHECK(opus.err.find("--synthetic-format opus") != std::string::npos);
        CHECK(opus.err.find("--synthetic-rate") != std::string::npos);
        CHECK(opus.err.find("44100") != std::string::npos);
        const Ran memory = arpipe_bench("--quick --synthetic-format mp3 --in-memory --out-dir " + dir.file("o"), dir);
        CHECK(memory.code == 2);
        CHECK(memory.err.find("--in-memory") != std::string::npos);
        CHECK(memory.err.find("--synthetic-format mp3") != std::string::npos);
        const Ran channels = arpipe_bench("--quick --synthetic-format mp3 --synthetic-channels 3 --out-dir " + dir.file("o"), dir);
        CHECK(channels.code == 2);
        CHECK(channels.err.find("--synthetic-channels") != std::string::npos);
        const Ran unknown = arpipe_bench("--quick --synthetic-format aac --out-dir " + dir.file("o"), dir);
        CHECK(unknown.code == 2);
        CHECK(unknown.err.find("--synthetic-format aac is not one of wav, flac, mp3, opus") != std::string::npos);
        CHECK(!std::filesystem::exists(dir.file("o")));  // rejected before anything ran
    }

    TEST_CASE("the lab is its own program: arpipe has no bench subcommand, arpipe-bench has the help") {
        // Pins the split of the lab out of the product binary: `arpipe bench` is gone, `arpipe-bench` answers.
        TempDir dir;
        const Ran help = testing::run_cli("--help", dir);
        CHECK(help.code == 0);
        CHECK(help.out.find("run") != std::string::npos);
        CHECK(help.out.find("info") != std::string::npos);
        CHECK(help.out.find("bench") == std::string::npos);
        const Ran old = testing::run_cli("bench --quick", dir);
        CHECK(old.code == 2);
        const Ran bench = arpipe_bench("--help", dir);
        CHECK(bench.code == 0);
        CHECK(bench.out.find("arpipe-bench") != std::string::npos);
        CHECK(bench.out.find("--quick") != std::string::npos);
    }

    TEST_CASE("arpipe-bench exits 2 naming the targets file when it is missing or invalid, before any run") {
        TempDir dir;
        const std::string model = " -m " + testing::repo_path("tests/data/models/loudness_clip.pt");
        const Ran missing = arpipe_bench("--quick" + model + " --targets " + dir.file("none.json") + " --out-dir " +
                                             dir.file("o"),
                                         dir);
        CHECK(missing.code == 2);
        CHECK(missing.err.find("none.json") != std::string::npos);

        testing::write_text(dir.file("bad.json"), "{\"targets\": [");
        const Ran bad =
            arpipe_bench("--quick" + model + " --targets " + dir.file("bad.json") + " --out-dir " + dir.file("o"), dir);
        CHECK(bad.code == 2);
        CHECK(bad.err.find("bad.json is not valid JSON") != std::string::npos);

        // A file without one of the targets the bench measures names that target.
        auto doc = nlohmann::json::parse(testing::read_text(testing::repo_path("data/bench/targets.json")));
        auto& list = doc["targets"];
        for (std::size_t i = 0; i < list.size(); ++i)
            if (list[i]["name"] == "vs_multiproc_rss") list.erase(i);
        testing::write_text(dir.file("short.json"), doc.dump());
        const Ran short_file = arpipe_bench("--quick" + model + " --targets " + dir.file("short.json") + " --out-dir " +
                                                dir.file("o"),
                                            dir);
        CHECK(short_file.code == 2);
        CHECK(short_file.err.find("vs_multiproc_rss is missing") != std::string::npos);

        // A comparison the bench does not know is named with the target.
        doc = nlohmann::json::parse(testing::read_text(testing::repo_path("data/bench/targets.json")));
        doc["targets"][0]["comparison"] = "=>";
        testing::write_text(dir.file("typo.json"), doc.dump());
        const Ran typo = arpipe_bench("--quick" + model + " --targets " + dir.file("typo.json") + " --out-dir " +
                                          dir.file("o"),
                                      dir);
        CHECK(typo.code == 2);
        CHECK(typo.err.find("comparison \"=>\"") != std::string::npos);
        CHECK(!std::filesystem::exists(dir.file("o")));  // rejected before anything ran
    }

    TEST_CASE("arpipe-bench takes its goals and descriptions from --targets") {
        TempDir dir;
        auto doc = nlohmann::json::parse(testing::read_text(testing::repo_path("data/bench/targets.json")));
        for (auto& t : doc["targets"]) {
            if (t["name"] != "scaling") continue;
            t["value"] = 50.0;  // x 2 cores: a goal no run meets
            t["what"] = "scaling from the test's file at {cores} cores";
        }
        testing::write_text(dir.file("targets.json"), doc.dump());
        const std::string out = dir.file("out");
        const Ran r = arpipe_bench("--quick -q --cores 2 --experiments paired --engines arpipe --synthetic 4s "
                                   "--synthetic-files 2 -m " +
                                       testing::repo_path("tests/data/models/loudness_clip.pt") + " --targets " +
                                       dir.file("targets.json") + " --out-dir " + out,
                                   dir);
        INFO(r.err);
        REQUIRE(r.code == 0);
        CHECK(r.out.find("goal >= 100.00") != std::string::npos);
        CHECK(r.out.find("scaling from the test's file at 2 cores") != std::string::npos);
        const auto result = nlohmann::json::parse(testing::read_text(out + "/bench.json"));
        bool seen = false;
        for (const auto& t : result["targets"]) {
            if (t["name"] != "scaling") continue;
            seen = true;
            CHECK(t["goal"] == ">= 100.00");
            CHECK(t["met"] == false);
        }
        CHECK(seen);
    }
}
