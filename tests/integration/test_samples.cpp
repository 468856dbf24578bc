// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// End to end on the bundled real recordings with the bundled models: the tagger's tags listed in
// data/expected_tags.json must come out (the samples are held out of the tagger's training), Silero VAD
// must find the spoken stretches listed in data/expected_vad.json, and both give the same bytes at -j 1
// and -j 2.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "support.h"

TEST_SUITE("samples") {
    TEST_CASE("the default tagger gives the expected tags on every bundled sample") {
        const auto expected = nlohmann::json::parse(testing::read_text(testing::repo_path("data/expected_tags.json")));
        auto engine = testing::load_engine("data/models/tagger.pt", 2, 4);
        const auto inputs = arpipe::expand_paths({testing::repo_path("data/samples")});
        testing::CollectSink sink;
        const auto stats = engine->run(inputs, sink);
        REQUIRE(stats.files_failed == 0);
        std::size_t checked = 0;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const std::string name = std::filesystem::path(inputs[i].name).filename().string();
            if (!expected.contains(name)) continue;
            ++checked;
            CAPTURE(name);
            const auto& want = expected[name];
            const auto events = sink.events_for(i);
            std::map<std::string, double> seconds;
            for (const auto& e : events) seconds[e.label] += e.end_seconds - e.start_seconds;
            for (const auto& label : want["must_include"]) CHECK_MESSAGE(seconds.count(label.get<std::string>()) == 1, label);
            const auto dominant = std::max_element(seconds.begin(), seconds.end(),
                                                   [](const auto& a, const auto& b) { return a.second < b.second; });
            REQUIRE(dominant != seconds.end());
            CHECK(dominant->first == want["dominant"].get<std::string>());
            // Every 1 s window lying inside a range speaks for its centre: the centre must be in an event
            // of the range's label.
            for (const auto& range : want["segments"]) {
                const double from = range["from"], to = range["to"];
                const std::string label = range["label"];
                for (double s = std::ceil(from * 2.0) / 2.0; s + 1.0 <= to + 1e-9; s += 0.5) {
                    const double centre = s + 0.5;
                    const bool covered = std::any_of(events.begin(), events.end(), [&](const arpipe::Event& e) {
                        return e.label == label && e.start_seconds <= centre && centre < e.end_seconds + 1e-9;
                    });
                    CHECK_MESSAGE(covered, label << " at " << centre << " s");
                }
            }
        }
        CHECK(checked == expected.size() - (expected.contains("_format") ? 1 : 0));
    }

    TEST_CASE("Silero VAD finds the spoken stretches of the bundled samples, and nothing else") {
        const auto expected = nlohmann::json::parse(testing::read_text(testing::repo_path("data/expected_vad.json")));
        auto engine = testing::load_engine("data/models/silero_vad.pt", 2, 4);
        const auto inputs = arpipe::expand_paths({testing::repo_path("data/samples")});
        testing::CollectSink sink;
        const auto stats = engine->run(inputs, sink);
        REQUIRE(stats.files_failed == 0);
        std::size_t checked = 0;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const std::string name = std::filesystem::path(inputs[i].name).filename().string();
            if (!expected.contains(name)) continue;
            ++checked;
            CAPTURE(name);
            const auto events = sink.events_for(i);
            const auto& stretches = expected[name];
            for (const auto& e : events) {
                CHECK(e.label == "speech");
                const bool inside = std::any_of(stretches.begin(), stretches.end(), [&](const auto& r) {
                    return e.start_seconds >= r[0].template get<double>() - 0.3 && e.end_seconds <= r[1].template get<double>() + 0.3;
                });
                CHECK_MESSAGE(inside, "speech event " << e.start_seconds << "-" << e.end_seconds << " s outside the spoken stretches");
            }
            for (const auto& r : stretches) {
                const double from = r[0], to = r[1];
                double covered = 0;
                for (const auto& e : events) covered += std::max(0.0, std::min(e.end_seconds, to) - std::max(e.start_seconds, from));
                CHECK_MESSAGE(covered >= 0.75 * (to - from), "speech found in " << covered << " of " << (to - from) << " s");
            }
            if (stretches.empty()) CHECK(events.empty());
        }
        CHECK(checked == expected.size() - 1);
    }

    TEST_CASE("the CLI writes the same bytes at -j 1 and -j 2 on the samples, with both bundled models") {
        for (const char* model : {"data/models/tagger.pt", "data/models/silero_vad.pt"}) {
            CAPTURE(model);
            std::string out[2];
            const testing::TempDir dir;
            for (int k = 0; k < 2; ++k) {
                const std::string args = std::string("run -q ") + (k == 0 ? "-j 1 --tokens 2" : "-j 2 --tokens 7") + " -m " +
                                         testing::repo_path(model) + " " + testing::repo_path("data/samples");
                const auto r = testing::run_cli(args, dir);
                REQUIRE(r.code == 0);
                out[k] = r.out;
            }
            CHECK(std::count(out[0].begin(), out[0].end(), '\n') > 5);
            CHECK(out[0] == out[1]);
        }
    }
}
