// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// End to end on the bundled real recordings with the bundled models: the tagger's tags listed in
// data/expected_tags.json must come out (the samples are held out of the tagger's training), Silero VAD
// must find the spoken stretches listed in data/expected_vad.json, and both give the same bytes at -j 1
// and -j 2.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "stages/decode.h"
#include "stages/features.h"
#include "stages/infer.h"
#include "stages/model_info.h"
#include "stages/postprocess.h"
#include "stages/segment.h"
#include "support.h"

namespace {

nlohmann::json read_json(const std::string& repo_relative) {
    return nlohmann::json::parse(testing::read_text(testing::repo_path(repo_relative)));
}

/// Runs `model` over data/samples and calls `check(expectation, events)` for every sample that `expected`
/// lists (keys starting with "_" are notes); requires that every listed sample was found.
template <class Check>
void check_samples(const std::string& model, const nlohmann::json& expected, Check check) {
    auto engine = testing::load_engine(model, 2, 4);
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
        check(expected[name], sink.events_for(i));
    }
    std::size_t listed = 0;
    for (const auto& [key, value] : expected.items()) listed += key.rfind('_', 0) != 0;
    CHECK(checked == listed);
}

}  // namespace

TEST_SUITE("samples") {
    TEST_CASE("the default tagger gives the expected tags on every bundled sample") {
        const auto expected = read_json("data/expected_tags.json");
        check_samples("data/models/tagger.pt", expected, [](const nlohmann::json& want, const std::vector<arpipe::Event>& events) {
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
        });
    }

    TEST_CASE("Silero VAD finds the spoken stretches of the bundled samples, and nothing else") {
        const auto expected = read_json("data/expected_vad.json");
        check_samples("data/models/silero_vad.pt", expected, [](const nlohmann::json& stretches, const std::vector<arpipe::Event>& events) {
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
        });
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

    // The tagger was trained on torchaudio's MelSpectrogram; arpipe computes log-mel with FFTW. Here the same
    // 16 kHz recordings go through arpipe's own decoder, segmenter, log-mel and model, window by window, and
    // must give the top label torchaudio's features give (tests/data/tagger_torchaudio_golden.json, written
    // by tools/models/tagger_reference.py), with scores within 1e-4 (seen: 1.3e-6).
    TEST_CASE("the tagger says the same on arpipe's log-mel as on torchaudio's, window by window") {
        const auto golden = read_json("tests/data/tagger_torchaudio_golden.json");
        auto model = arpipe::Model::load(testing::repo_path("data/models/tagger.pt"));
        const arpipe::ModelInfo& info = model->info();
        REQUIRE(golden["labels"].get<std::vector<std::string>>() == info.labels);
        arpipe::LogMel mel(arpipe::log_mel_params(info));
        auto scratch = mel.make_scratch();
        const std::int64_t frames = mel.frames(info.segment_samples);
        REQUIRE(model->prepare({info.n_mels, frames}, 1) == 1);
        const auto n_labels = static_cast<std::int64_t>(info.labels.size());
        const arpipe::Activation activation = info.activation;
        std::size_t windows = 0;
        double max_diff = 0;
        for (const auto& [path, rows] : golden["files"].items()) {
            CAPTURE(path);
            arpipe::Segmenter segmenter(std::make_unique<arpipe::Decoder>(arpipe::Input::file(testing::repo_path(path)),
                                                                          info.sample_rate_hz, std::nullopt),
                                        info.segment_samples, info.hop_samples);
            std::vector<float> audio(static_cast<std::size_t>(info.segment_samples));
            std::vector<float> features(static_cast<std::size_t>(info.n_mels * frames));
            std::vector<float> scores;
            arpipe::SegmentInfo seg;
            std::size_t w = 0;
            for (; segmenter.next(audio.data(), &seg); ++w) {
                REQUIRE(w < rows.size());
                mel.compute(audio.data(), info.segment_samples, features.data(), *scratch);
                model->forward(features.data(), 1, scores);
                arpipe::score_steps(scores.data(), 1, n_labels, activation, 0);
                const auto want = rows[w].get<std::vector<float>>();
                const auto got_top = std::max_element(scores.begin(), scores.begin() + n_labels) - scores.begin();
                const auto want_top = std::max_element(want.begin(), want.end()) - want.begin();
                CAPTURE(w);
                CHECK(info.labels[static_cast<std::size_t>(got_top)] == info.labels[static_cast<std::size_t>(want_top)]);
                for (std::int64_t k = 0; k < n_labels; ++k)
                    max_diff = std::max(max_diff, static_cast<double>(std::abs(scores[static_cast<std::size_t>(k)] - want[static_cast<std::size_t>(k)])));
            }
            CHECK(w == rows.size());
            windows += w;
        }
        MESSAGE(windows << " windows, largest score difference " << max_diff);
        CHECK(windows == 41);
        CHECK(max_diff < 1e-4);
    }

    // Sink::on_scores reports, per window, the scores the model gives for that window after the activation:
    // the same numbers the torchaudio golden file holds for the same windows (within 1e-4, as above), one
    // record per window, in time order, every label, even with --top-k 1 in force for the events.
    TEST_CASE("the scores records equal the model's scores for the same windows") {
        const auto golden = read_json("tests/data/tagger_torchaudio_golden.json");
        arpipe::Config c;
        c.model_path = testing::repo_path("data/models/tagger.pt");
        c.parallel = {2, 0, 4};
        auto loaded = arpipe::Engine::load(c);
        REQUIRE_MESSAGE(loaded.engine, loaded.error);
        std::vector<arpipe::Input> inputs;
        for (const auto& [path, rows] : golden["files"].items()) inputs.push_back(arpipe::Input::file(testing::repo_path(path)));
        struct ScoresSink : testing::CollectSink {
            std::vector<arpipe::Scores> got;
            void on_scores(const arpipe::Scores& s) override { got.push_back(s); }
        } sink;
        arpipe::RunOptions opt;
        opt.scores = true;
        (void)loaded.engine->run(inputs, sink, opt);
        std::size_t at = 0;
        double max_diff = 0;
        std::size_t index = 0;
        for (const auto& [path, rows] : golden["files"].items()) {
            CAPTURE(path);
            double last_end = 0;
            for (const auto& row : rows) {
                REQUIRE(at < sink.got.size());
                const arpipe::Scores& s = sink.got[at++];
                CHECK(s.file_index == index);
                CHECK(s.start_seconds == doctest::Approx(last_end));  // contiguous spans, in time order
                CHECK(s.end_seconds > s.start_seconds);
                last_end = s.end_seconds;
                const auto want = row.get<std::vector<float>>();
                REQUIRE(s.values.size() == want.size());
                for (std::size_t k = 0; k < want.size(); ++k)
                    max_diff = std::max(max_diff, static_cast<double>(std::abs(s.values[k] - want[k])));
            }
            ++index;
        }
        CHECK(at == sink.got.size());
        MESSAGE(at << " scores records, largest difference from the golden scores " << max_diff);
        CHECK(max_diff < 1e-4);
        // Asking for scores changes no event.
        testing::CollectSink plain;
        (void)loaded.engine->run(inputs, plain);
        REQUIRE(plain.events.size() == sink.events.size());
        for (std::size_t i = 0; i < plain.events.size(); ++i) {
            CHECK(plain.events[i].start_seconds == sink.events[i].start_seconds);
            CHECK(plain.events[i].label == sink.events[i].label);
            CHECK(plain.events[i].score == sink.events[i].score);
        }
    }
}
