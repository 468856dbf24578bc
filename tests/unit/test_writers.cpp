// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "arpipe/result.h"

namespace {

void feed(arpipe::Sink& s) {
    s.on_event({0, "a,b.wav", "speech", 0, 0.1 + 0.2, 1.23456, 0.912345f, 0.99f});
    s.on_summary({0, "a,b.wav", 12.3456, 24, 1, 44100, 2});
    s.on_error({1, "bad.wav", arpipe::ErrorCode::unsupported_format, "not a recognised audio format"});
    s.on_finish();
}

}  // namespace

TEST_SUITE("writers") {
    TEST_CASE("JSON Lines: one object per record, numbers rounded to ms and 1e-4") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
        feed(*w);
        std::istringstream lines(os.str());
        std::string line;
        std::vector<nlohmann::json> recs;
        while (std::getline(lines, line)) recs.push_back(nlohmann::json::parse(line));
        REQUIRE(recs.size() == 3);
        CHECK(recs[0]["type"] == "event");
        CHECK(os.str().find("\"start\":0.3,") != std::string::npos);  // not 0.30000000000000004
        CHECK(recs[0]["end"] == 1.235);
        CHECK(recs[0]["score"] == 0.9123);
        CHECK(recs[1]["type"] == "summary");
        CHECK(recs[1]["duration"] == 12.346);
        CHECK(recs[1]["segments"] == 24);
        CHECK(recs[2]["code"] == "unsupported_format");
    }

    TEST_CASE("CSV quotes fields with commas and has one header") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::csv, os);
        feed(*w);
        const std::string s = os.str();
        CHECK(s.rfind("type,file,label,start,end,score,peak,detail\n", 0) == 0);
        CHECK(s.find("event,\"a,b.wav\",speech,0.300,1.235,0.9123,0.9900,\n") != std::string::npos);
        CHECK(s.find("error,bad.wav,,,,,,unsupported_format: not a recognised audio format\n") != std::string::npos);
    }

    TEST_CASE("the table groups records under each file") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::table, os);
        feed(*w);
        const std::string s = os.str();
        CHECK(s.find("a,b.wav\n") == 0);
        CHECK(s.find("speech") != std::string::npos);
        CHECK(s.find("ERROR unsupported_format") != std::string::npos);
    }

    TEST_CASE("format names parse") {
        const auto table = arpipe::parse_output_format("table");
        REQUIRE(table);
        CHECK(*table.value == arpipe::OutputFormat::table);
        CHECK(*arpipe::parse_output_format("json").value == arpipe::OutputFormat::jsonl);
        const auto xml = arpipe::parse_output_format("xml");
        CHECK_FALSE(xml);
        CHECK(xml.error == "output format \"xml\" is not one of: jsonl, csv, table");
    }
}
