// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Hostile models, torch-free: the checks applied to what a model returns (shape, text of an exception it
// raises) and to what its description asks for (buffers too big to run). The fixtures that exercise them
// through LibTorch are in tests/integration/test_hostile.cpp.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support.h"
#include "stages/failure.h"
#include "stages/model_info.h"
#include "stages/postprocess.h"
#include "stages/prepared_model.h"

using arpipe::ErrorCode;
using arpipe::OutputKind;

namespace {

std::string shape_failure(const std::vector<std::int64_t>& got, const std::vector<std::int64_t>& expected, OutputKind kind) {
    return testing::failure_message([&] { arpipe::check_output_shape(got, expected, kind); }, ErrorCode::model_output);
}

/// A description with the tagger's log-mel input, with `changes` spliced in at the top level.
std::string description(const std::string& rate, const std::string& input, const std::string& segment,
                        const std::string& output = R"({"kind": "clip", "activation": "softmax"})",
                        int labels = 2) {
    std::string names;
    for (int i = 0; i < labels; ++i) names += (i ? ", \"l" : "\"l") + std::to_string(i) + "\"";
    return R"({"format": "arpipe-model/1", "sample_rate_hz": )" + rate + R"(, "input": )" + input +
           R"(, "segment": )" + segment + R"(, "output": )" + output + R"(, "labels": [)" + names + "]}";
}

const std::string kTaggerInput = R"({"kind": "log_mel", "n_fft": 512, "win_length": 400, "hop_length": 160,
    "n_mels": 64, "f_min_hz": 0.0, "f_max_hz": 8000.0, "mel_scale": "htk", "mel_norm": "none", "power": 2.0,
    "log_offset": 1e-6})";

}  // namespace

TEST_SUITE("hostile model") {
    TEST_CASE("an output with the right number of values in another layout is refused, naming both shapes") {
        // Regression: only the number of values was checked at run time, so [C, B] passed for [B, C].
        const auto clip = arpipe::expected_output_shape(OutputKind::clip, 4, 1, 3);
        CHECK(clip == std::vector<std::int64_t>{4, 3});
        std::string msg = shape_failure({3, 4}, clip, OutputKind::clip);
        CHECK(msg == "model output shape [3, 4] does not match [4, 3] (clip output: batch, labels)");
        CHECK_FALSE(shape_failure({12}, clip, OutputKind::clip).empty());
        CHECK_FALSE(shape_failure({4, 3, 1}, clip, OutputKind::clip).empty());
        CHECK_FALSE(shape_failure({}, clip, OutputKind::clip).empty());
        CHECK_NOTHROW(arpipe::check_output_shape(std::vector<std::int64_t>{4, 3}, clip, OutputKind::clip));

        const auto frames = arpipe::expected_output_shape(OutputKind::frames, 2, 20, 5);
        CHECK(frames == std::vector<std::int64_t>{2, 20, 5});
        msg = shape_failure({2, 5, 20}, frames, OutputKind::frames);
        CHECK(msg == "model output shape [2, 5, 20] does not match [2, 20, 5] (frames output: batch, frames, labels)");
        CHECK_FALSE(shape_failure({20, 2, 5}, frames, OutputKind::frames).empty());
        CHECK_FALSE(shape_failure({2, 100}, frames, OutputKind::frames).empty());
        CHECK_NOTHROW(arpipe::check_output_shape(std::vector<std::int64_t>{2, 20, 5}, frames, OutputKind::frames));
    }

    TEST_CASE("an exception from inside the model is summed up in one line") {
        const std::string raised =
            "The following operation failed in the TorchScript interpreter.\n"
            "Traceback of TorchScript, serialized code (most recent call last):\n"
            "  File \"code/__torch__.py\", line 12, in forward\n"
            "    if bool(torch.any(torch.gt(m, limit))):\n"
            "      ops.prim.RaiseException(\"fixture refuses loud input\", \"builtins.ValueError\")\n"
            "      ~~~~~~~~~~~~~~~~~~~~~~~ <--- HERE\n"
            "\n"
            "Traceback of TorchScript, original code (most recent call last):\n"
            "  File \"make_fixtures.py\", line 100, in forward\n"
            "            raise ValueError(\"fixture refuses loud input\")\n"
            "            ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~ <--- HERE\n"
            "builtins.ValueError: fixture refuses loud input\n";
        CHECK(arpipe::model_error_line(raised) == "ValueError: fixture refuses loud input");
        const std::string op_error =
            "The following operation failed in the TorchScript interpreter.\n"
            "Traceback of TorchScript (most recent call last):\n"
            "  File \"code/__torch__.py\", line 10, in forward\n"
            "      _1 = torch.matmul(x, torch.ones([3, 3]))\n"
            "           ~~~~~~~~~~~~ <--- HERE\n"
            "RuntimeError: mat1 and mat2 shapes cannot be multiplied (256x101 and 3x3)\n";
        CHECK(arpipe::model_error_line(op_error) == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (256x101 and 3x3)");
        CHECK(arpipe::model_error_line("\n  std::bad_alloc\t\nmore") == "std::bad_alloc");
        CHECK(arpipe::model_error_line("") == "(no message)");
        CHECK(arpipe::model_error_line("The following operation failed in the TorchScript interpreter.") ==
              "The following operation failed in the TorchScript interpreter.");
        const std::string tab = arpipe::model_error_line("a\tb\x01" "c");
        CHECK(tab == "a b c");
        const std::string longer = arpipe::model_error_line(std::string(1000, 'x'));
        CHECK(longer.size() == 303);
        CHECK(longer.ends_with("..."));
        // A cut never splits a UTF-8 character.
        std::string accents;
        for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";
        const std::string cut = arpipe::model_error_line(accents);
        CHECK(cut == accents.substr(0, 300) + "...");
        CHECK(arpipe::model_error_line("x" + accents) == "x" + accents.substr(0, 298) + "...");
    }

    TEST_CASE("a description too big to run is refused before allocating, naming the settings and the bytes") {
        // Regression: every field in range, but one window is 512 mels x 11520001 frames (23.6 GB of
        // features): the load failed with a bare std::bad_alloc.
        const std::string huge_input = R"({"kind": "log_mel", "n_fft": 1024, "win_length": 1024, "hop_length": 1,
            "n_mels": 512, "f_min_hz": 0.0, "f_max_hz": 96000.0, "mel_scale": "htk", "mel_norm": "none",
            "power": 2.0, "log_offset": 1e-6})";
        arpipe::ModelInfo info =
            arpipe::parse_model_description(description("192000", huge_input, R"({"seconds": 60, "hop_seconds": 30})"));
        info.path = "huge.pt";
        const std::string msg = testing::failure_message([&] { arpipe::check_buffer_sizes(info, 4); }, ErrorCode::bad_model);
        CAPTURE(msg);
        CHECK(msg.starts_with("huge.pt: too large to run: "));
        CHECK(msg.find("input.n_mels 512 x 11520001 frames") != std::string::npos);
        CHECK(msg.find("input.hop_length 1") != std::string::npos);
        CHECK(msg.find("segment.seconds 60 at sample_rate_hz 192000") != std::string::npos);
        CHECK(msg.find("a batch of 4 needs 94556168224 bytes (88.1 GiB)") != std::string::npos);
        CHECK(msg.find('\n') == std::string::npos);
        CHECK(arpipe::window_buffer_bytes(info, 1) == doctest::Approx(4.0 * (512.0 * 11520001 + 11520000 + 2)));

        // Long waveform windows: the samples are named.
        info = arpipe::parse_model_description(
            description("192000", R"({"kind": "waveform"})", R"({"seconds": 600, "hop_seconds": 600})"));
        CHECK(testing::failure_message([&] { arpipe::check_buffer_sizes(info, 64); }, ErrorCode::bad_model)
                  .find("115200000 samples (segment.seconds 600 at sample_rate_hz 192000") != std::string::npos);
        CHECK_NOTHROW(arpipe::check_buffer_sizes(info, 1));  // 0.9 GB: allowed

        // Frame scores: a tiny frame hop over a long window with many labels.
        info = arpipe::parse_model_description(
            description("16000", R"({"kind": "waveform"})", R"({"seconds": 600, "hop_seconds": 600})",
                        R"({"kind": "frames", "frame_hop_seconds": 1e-5, "activation": "sigmoid"})", 100));
        CHECK(testing::failure_message([&] { arpipe::check_buffer_sizes(info, 1); }, ErrorCode::bad_model)
                  .find("60000001 frames x 100 labels of scores (segment.seconds 600 / output.frame_hop_seconds 1e-05)") !=
              std::string::npos);

        // The tagger at the largest batch is far below the limit.
        info = arpipe::parse_model_description(description("16000", kTaggerInput, R"({"seconds": 1, "hop_seconds": 0.5})"));
        CHECK_NOTHROW(arpipe::check_buffer_sizes(info, 1024));
    }
}
