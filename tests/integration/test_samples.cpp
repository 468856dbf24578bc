// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// End to end on the bundled real recordings with the bundled default tagger: the tags listed in
// data/samples/expected.json must come out (the samples are held out of the tagger's training).
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "support.h"

TEST_SUITE("samples") {
    TEST_CASE("the default tagger gives the expected tags on every bundled sample") {
        const auto expected = nlohmann::json::parse(testing::read_text(testing::repo_path("data/samples/expected.json")));
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
}
