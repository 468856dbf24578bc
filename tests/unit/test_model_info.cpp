// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "stages/failure.h"
#include "stages/model_info.h"
#include "unit/description_error.h"

namespace {

nlohmann::json valid() {
    return nlohmann::json::parse(R"({
      "format": "arpipe-model/1", "name": "t", "sample_rate_hz": 16000,
      "input": {"kind": "log_mel", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64,
                "f_min_hz": 0, "f_max_hz": 8000, "mel_scale": "htk", "mel_norm": "none", "power": 2, "log_offset": 1e-6},
      "segment": {"seconds": 1.0, "hop_seconds": 0.5},
      "output": {"kind": "clip", "activation": "softmax"},
      "labels": ["a", "b"]})");
}

std::string error_of(const nlohmann::json& j) { return testing::description_error(j); }

}  // namespace

TEST_SUITE("model description") {
    TEST_CASE("a valid description parses into samples and labels") {
        const arpipe::ModelInfo m = arpipe::parse_model_description(valid().dump());
        CHECK(m.segment_samples == 16000);
        CHECK(m.hop_samples == 8000);
        CHECK(m.labels == std::vector<std::string>{"a", "b"});
        CHECK(m.input_kind == arpipe::InputKind::log_mel);
        CHECK(m.mel_scale == arpipe::MelScale::htk);
        CHECK(m.mel_norm == arpipe::MelNorm::none);
        CHECK(m.output_kind == arpipe::OutputKind::clip);
        CHECK(m.activation == arpipe::Activation::softmax);
        CHECK(m.n_mels == 64);
    }

    TEST_CASE("kinds are parsed once into enums whose names are those of arpipe.json") {
        auto j = valid();
        j["input"]["mel_scale"] = "slaney";
        j["input"]["mel_norm"] = "slaney";
        j["output"] = {{"kind", "frames"}, {"activation", "sigmoid"}, {"frame_hop_seconds", 0.01}};
        const arpipe::ModelInfo m = arpipe::parse_model_description(j.dump());
        CHECK(m.output_kind == arpipe::OutputKind::frames);
        CHECK(m.activation == arpipe::Activation::sigmoid);
        CHECK(m.mel_scale == arpipe::MelScale::slaney);
        CHECK(m.mel_norm == arpipe::MelNorm::slaney);
        CHECK(arpipe::to_string(m.output_kind) == "frames");
        CHECK(arpipe::to_string(m.activation) == "sigmoid");
        CHECK(arpipe::to_string(m.input_kind) == "log_mel");
        CHECK(arpipe::to_string(arpipe::InputKind::waveform) == "waveform");
        CHECK(arpipe::to_string(m.mel_scale) == "slaney");
        CHECK(arpipe::to_string(arpipe::MelNorm::none) == "none");
        CHECK(arpipe::to_string(arpipe::Activation::none) == "none");
        j["output"]["activation"] = "relu";
        CHECK(error_of(j) == "arpipe.json: output.activation = \"relu\" is not one of: softmax, sigmoid, none");
    }

    TEST_CASE("a missing description points to the contract") {
        try {
            (void)arpipe::parse_model_description("");
            FAIL("no error");
        } catch (const arpipe::Failure& f) {
            CHECK(std::string(f.what()).find("docs/model-contract.md") != std::string::npos);
        }
    }

    TEST_CASE("malformed JSON is an error, not a crash") {
        try {
            (void)arpipe::parse_model_description("{\"format\": ");
            FAIL("no error");
        } catch (const arpipe::Failure& f) {
            CHECK(std::string(f.what()).find("not valid JSON") != std::string::npos);
        }
    }

    TEST_CASE("each bad field is named with its value") {
        auto j = valid();
        j["segment"]["hop_seconds"] = 0;
        CHECK(error_of(j).find("segment.hop_seconds = 0 is not in") != std::string::npos);
        j = valid();
        j["segment"]["hop_seconds"] = 2.0;  // longer than the segment
        CHECK(error_of(j).find("segment.hop_seconds = 2.0") != std::string::npos);
        j = valid();
        j["input"]["kind"] = "mfcc";
        CHECK(error_of(j).find("input.kind = \"mfcc\" is not one of: log_mel, waveform") != std::string::npos);
        j = valid();
        j["input"].erase("n_mels");
        CHECK(error_of(j).find("missing field input.n_mels") != std::string::npos);
        j = valid();
        j["labels"] = nlohmann::json::array({"a", "a"});
        CHECK(error_of(j).find("appears twice") != std::string::npos);
        j = valid();
        j["format"] = "other/2";
        CHECK(error_of(j).find("format = \"other/2\"") != std::string::npos);
        j = valid();
        j["sample_rate_hz"] = 10;
        CHECK(error_of(j).find("sample_rate_hz = 10 is not in") != std::string::npos);
        j = valid();
        j["output"] = {{"kind", "frames"}, {"activation", "none"}};
        CHECK(error_of(j).find("missing field output.frame_hop_seconds") != std::string::npos);
    }

    TEST_CASE("a waveform model needs no log-mel fields") {
        auto j = valid();
        j["input"] = {{"kind", "waveform"}};
        const arpipe::ModelInfo m = arpipe::parse_model_description(j.dump());
        CHECK(m.input_kind == arpipe::InputKind::waveform);
    }
}
