// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

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

    TEST_CASE("an event cut by cancellation says so in every format; others keep their bytes") {
        arpipe::Event e{0, "a.wav", "speech", 0, 1.0, 2.5, 0.8f, 0.9f};
        auto render = [](arpipe::OutputFormat f, const arpipe::Event& ev) {
            std::ostringstream os;
            auto w = arpipe::make_writer(f, os);
            w->on_event(ev);
            return os.str();
        };
        const std::string plain = render(arpipe::OutputFormat::jsonl, e);
        CHECK(plain.find("cut") == std::string::npos);
        e.cut = true;
        const std::string cut = render(arpipe::OutputFormat::jsonl, e);
        CHECK(nlohmann::json::parse(cut)["cut"] == true);
        CHECK(cut.substr(0, cut.size() - 13) == plain.substr(0, plain.size() - 2));  // same fields before it
        CHECK(render(arpipe::OutputFormat::csv, e).find(",cut: the run was cancelled before the event ended\n") != std::string::npos);
        CHECK(render(arpipe::OutputFormat::table, e).find("(cut)") != std::string::npos);
    }

    TEST_CASE("scores records: JSON Lines by label, CSV one column per label, the table one line per step") {
        const arpipe::Scores sc{0, "a.wav", 0.5, 1.0, {0.25f, 0.123456f}};
        const std::vector<std::string> labels{"speech", "music,jazz"};
        auto render = [&](arpipe::OutputFormat f, bool named) {
            std::ostringstream os;
            auto w = named ? arpipe::make_writer(f, os, labels) : arpipe::make_writer(f, os);
            w->on_scores(sc);
            w->on_summary({0, "a.wav", 1.0, 2, 0, 16000, 1});
            return os.str();
        };
        const std::string j = render(arpipe::OutputFormat::jsonl, true);
        CHECK(j.rfind("{\"type\":\"scores\",\"file\":\"a.wav\",\"start\":0.5,\"end\":1.0,"
                      "\"scores\":{\"speech\":0.25,\"music,jazz\":0.1235}}\n", 0) == 0);
        CHECK(render(arpipe::OutputFormat::jsonl, false).find("\"scores\":[0.25,0.1235]") != std::string::npos);
        const std::string csv = render(arpipe::OutputFormat::csv, true);
        CHECK(csv.rfind("type,file,label,start,end,score,peak,detail,speech,\"music,jazz\"\n", 0) == 0);
        CHECK(csv.find("scores,a.wav,,0.500,1.000,,,,0.2500,0.1235\n") != std::string::npos);
        CHECK(csv.find("\"ok: 2 segments, 0 events\",,\n") != std::string::npos);  // every row has the label columns
        CHECK(render(arpipe::OutputFormat::csv, false).find("scores,a.wav,,0.500,1.000,,,0.2500 0.1235\n") != std::string::npos);
        CHECK(render(arpipe::OutputFormat::table, true).find("scores  speech=0.2500 music,jazz=0.1235") != std::string::npos);
        // A writer made without labels still has the old CSV header.
        std::ostringstream os;
        (void)arpipe::make_writer(arpipe::OutputFormat::csv, os);
        CHECK(os.str() == "type,file,label,start,end,score,peak,detail\n");
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

namespace {

/// The bytes of the JSON string value of `key` in one JSON Lines record, with the writers' escapes undone:
/// \udcXX (XX in 80..ff) gives back the byte XX, as Python's os.fsencode(json.loads(line)[key]) does.
std::string json_field_bytes(const std::string& line, const std::string& key) {
    const std::string open = "\"" + key + "\":\"";
    std::size_t i = line.find(open);
    if (i == std::string::npos) throw std::runtime_error("no string field " + key + " in " + line);
    std::string out;
    for (i += open.size(); i < line.size() && line[i] != '"'; ++i) {
        if (line[i] != '\\') {
            out += line[i];
            continue;
        }
        const char c = line[++i];
        switch (c) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                const unsigned cp = static_cast<unsigned>(std::stoul(line.substr(i + 1, 4), nullptr, 16));
                i += 4;
                if (cp >= 0xdc80 && cp <= 0xdcff) out += static_cast<char>(cp - 0xdc00);
                else if (cp < 0x80) out += static_cast<char>(cp);
                else throw std::runtime_error("unexpected escape in " + line);
                break;
            }
            default: out += c;  // \" \\ \/
        }
    }
    return out;
}

/// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(const std::string& s) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    for (std::size_t i = 0; i < s.size();) {
        const unsigned c = b(i);
        std::size_t n = 0;
        unsigned lo = 0x80, hi = 0xbf;
        if (c < 0x80) n = 0;
        else if (c >= 0xc2 && c <= 0xdf) n = 1;
        else if (c == 0xe0) { n = 2; lo = 0xa0; }
        else if (c >= 0xe1 && c <= 0xef) { n = 2; if (c == 0xed) hi = 0x9f; }
        else if (c == 0xf0) { n = 3; lo = 0x90; }
        else if (c >= 0xf1 && c <= 0xf3) n = 3;
        else if (c == 0xf4) { n = 3; hi = 0x8f; }
        else return false;
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            const unsigned t = b(i + k);
            if (t < (k == 1 ? lo : 0x80u) || t > (k == 1 ? hi : 0xbfu)) return false;
        }
        i += n + 1;
    }
    return true;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// Names no two of which are equal, though several differ only in bytes that are not UTF-8.
const std::vector<std::string>& awkward_names() {
    static const std::vector<std::string> names{
        "caf\xe9.wav",                       // Latin-1 e-acute
        "caf\xe8.wav",                       // differs from the one above in that byte only
        "caf\xc3\xa9.wav",                   // the same name in UTF-8
        "caf\xef\xbf\xbd.wav",               // U+FFFD itself, what the first two used to become
        "x\xff\xfe\xc3\x28-\xed\xa0\x80-\xf4\x90\x80\x80-\xc0\xaf-\xe2\x82.wav",  // bad lead, surrogate, > U+10FFFF, overlong, cut
        "tab\tnew\nline\rcr\x01\x1f\x7f.wav",
        "quote\"back\\slash/,comma.wav",
        "emoji \xf0\x9f\x98\x80 \xe2\x9c\x93.wav",
        "ends-in-lead-byte\xc3",
        "\xed\xb3\xa9 literal-surrogate-bytes.wav",
        "\\udce9 written by hand.wav",
    };
    return names;
}

/// Parses RFC 4180 CSV (quoted fields may hold commas, doubled quotes, CR and LF) into rows of fields.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, in_quotes = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_quotes) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                in_quotes = false;
            } else {
                field += c;
            }
        } else if (c == '"' && field.empty() && !quoted) {
            in_quotes = quoted = true;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
            quoted = false;
        } else if (c == '\n') {
            row.push_back(field);
            rows.push_back(row);
            row.clear();
            field.clear();
            quoted = false;
        } else {
            REQUIRE_MESSAGE(c != '\r', "a bare CR outside quotes");
            field += c;
        }
    }
    REQUIRE_MESSAGE(field.empty(), "the text does not end in a newline");
    return rows;
}

/// Undoes the table's escapes: "\\" is a backslash, "\xHH" the byte HH.
std::string table_unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
        } else if (s[i + 1] == '\\') {
            out += '\\';
            ++i;
        } else {
            REQUIRE(s[i + 1] == 'x');
            out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
            i += 3;
        }
    }
    return out;
}

void feed_name(arpipe::Sink& s, std::size_t index, const std::string& name) {
    s.on_event({index, name, "speech", 0, 0.5, 1.0, 0.8f, 0.9f});
    s.on_summary({index, name, 1.0, 2, 1, 16000, 1});
}

}  // namespace

TEST_SUITE("writers") {
    TEST_CASE("JSON Lines: a name that is not UTF-8 keeps its bytes as \\udcXX escapes, so two such names differ") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
        const auto& names = awkward_names();
        for (std::size_t i = 0; i < names.size(); ++i) feed_name(*w, i, names[i]);
        w->on_error({names.size(), names[0], arpipe::ErrorCode::not_found,
                     "broken symbolic link (points to /tmp/\xff.wav)"});
        w->on_finish();
        const auto lines = lines_of(os.str());
        REQUIRE(lines.size() == 2 * names.size() + 1);
        for (std::size_t i = 0; i < names.size(); ++i) {
            CAPTURE(i);
            CHECK(valid_utf8(lines[2 * i]));
            CHECK(json_field_bytes(lines[2 * i], "file") == names[i]);
            CHECK(json_field_bytes(lines[2 * i + 1], "file") == names[i]);
        }
        // Two names that differ only in one byte that is not UTF-8 print differently.
        CHECK(lines[0].find("\"file\":\"caf\\udce9.wav\"") != std::string::npos);
        CHECK(lines[2].find("\"file\":\"caf\\udce8.wav\"") != std::string::npos);
        CHECK(lines[0] != lines[2]);
        // Valid UTF-8 is written as it is; only the bytes that are not part of it are escaped.
        CHECK(lines[4].find("\"file\":\"caf\xc3\xa9.wav\"") != std::string::npos);
        CHECK(lines[8].find("\"file\":\"x\\udcff\\udcfe\\udcc3(-\\udced\\udca0\\udc80-\\udcf4\\udc90\\udc80\\udc80-"
                            "\\udcc0\\udcaf-\\udce2\\udc82.wav\"") != std::string::npos);
        CHECK(lines[20].find("\"file\":\"\\\\udce9 written by hand.wav\"") != std::string::npos);
        // Messages carry paths too.
        CHECK(json_field_bytes(lines.back(), "message") == "broken symbolic link (points to /tmp/\xff.wav)");
    }

    TEST_CASE("JSON Lines: records with valid UTF-8 are written exactly as nlohmann-json writes them") {
        const std::vector<std::string> texts{"plain.wav", "caf\xc3\xa9 \xf0\x9f\x98\x80.wav", "a,b \"q\" \\ /slash",
                                             std::string("ctl\x01\x02\x1f\x7f\b\f\n\r\t\0end", 16), "", "\xe2\x80\xa8"};
        for (const auto& t : texts) {
            std::ostringstream os;
            auto w = arpipe::make_writer(arpipe::OutputFormat::jsonl, os);
            w->on_event({0, t, t, 0, 0.1 + 0.2, 1.23456, 0.912345f, 0.99f});
            w->on_summary({0, t, 12.3456, 24, 1, 44100, 2});
            w->on_error({1, t, arpipe::ErrorCode::read_failed, t});
            const nlohmann::ordered_json event{{"type", "event"}, {"file", t},     {"label", t},  {"start", 0.3},
                                               {"end", 1.235},    {"score", 0.9123}, {"peak", 0.99}};
            const nlohmann::ordered_json summary{{"type", "summary"}, {"file", t},        {"status", "ok"},
                                                 {"duration", 12.346}, {"segments", 24},  {"events", 1},
                                                 {"source_rate", 44100}, {"source_channels", 2}};
            const nlohmann::ordered_json error{{"type", "error"},        {"file", t},   {"status", "error"},
                                               {"code", "read_failed"}, {"message", t}};
            CAPTURE(t);
            CHECK(os.str() == event.dump() + "\n" + summary.dump() + "\n" + error.dump() + "\n");
        }
    }

    TEST_CASE("CSV carries the names' bytes, and quoting makes commas, quotes, CR and LF round-trip") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::csv, os);
        std::vector<std::string> names = awkward_names();
        for (const char* extra : {"a,b.wav", "\"quoted\".wav", "cr\r.wav", "lf\n.wav", "crlf\r\n.wav", " spaced .wav"})
            names.emplace_back(extra);
        for (std::size_t i = 0; i < names.size(); ++i) feed_name(*w, i, names[i]);
        w->on_error({names.size(), "e,\"\n\xff.wav", arpipe::ErrorCode::not_found, "no such file, \"really\""});
        const auto rows = parse_csv(os.str());
        REQUIRE(rows.size() == 1 + 2 * names.size() + 1);
        for (const auto& row : rows) REQUIRE(row.size() == 8);
        for (std::size_t i = 0; i < names.size(); ++i) {
            CAPTURE(i);
            CHECK(rows[1 + 2 * i][1] == names[i]);
            CHECK(rows[2 + 2 * i][1] == names[i]);
        }
        CHECK(rows.back()[1] == "e,\"\n\xff.wav");
        CHECK(rows.back()[7] == "not_found: no such file, \"really\"");
    }

    TEST_CASE("the table escapes control characters, backslashes and bytes that are not UTF-8, and undoes back") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::table, os);
        const std::vector<std::string> names{"caf\xe9.wav", "caf\xe8.wav", "two\nlines.wav", "\x1b[2Jclear.wav",
                                             "back\\slash.wav", "caf\xc3\xa9 ok.wav", "c1 \xc2\x9b.wav"};
        for (std::size_t i = 0; i < names.size(); ++i) {
            w->on_event({i, names[i], "lab\nel", 0, 0.5, 1.0, 0.8f, 0.9f});
            w->on_error({i, names[i], arpipe::ErrorCode::not_found, "points to \x1b[31m\xff"});
        }
        const auto lines = lines_of(os.str());
        REQUIRE(lines.size() == 4 * names.size());  // name, column header, event, error
        for (std::size_t i = 0; i < names.size(); ++i) {
            CAPTURE(i);
            const std::string& shown = lines[4 * i];
            CHECK(valid_utf8(shown));
            for (const char c : shown) CHECK(static_cast<unsigned char>(c) >= 0x20);
            CHECK(table_unescape(shown) == names[i]);
            CHECK(lines[4 * i + 2].find("lab\\x0ael") != std::string::npos);
            CHECK(lines[4 * i + 3] == "  ERROR not_found: points to \\x1b[31m\\xff");
        }
        CHECK(lines[0] == "caf\\xe9.wav");
        CHECK(lines[4] == "caf\\xe8.wav");
        CHECK(lines[16] == "back\\\\slash.wav");
        CHECK(lines[20] == "caf\xc3\xa9 ok.wav");
        CHECK(lines[24] == "c1 \\xc2\\x9b.wav");
    }

    TEST_CASE("every error code has its own stable name") {
        std::set<std::string> seen;
        for (int c = 0; c <= static_cast<int>(arpipe::ErrorCode::bad_path); ++c) {
            const std::string name(arpipe::to_string(static_cast<arpipe::ErrorCode>(c)));
            CAPTURE(c);
            CHECK((name != "internal" || static_cast<arpipe::ErrorCode>(c) == arpipe::ErrorCode::internal));
            CHECK(seen.insert(name).second);
        }
        CHECK(arpipe::to_string(arpipe::ErrorCode::path_too_long) == "path_too_long");
        CHECK(arpipe::to_string(arpipe::ErrorCode::bad_layout) == "bad_layout");
        CHECK(arpipe::to_string(arpipe::ErrorCode::samples_out_of_range) == "samples_out_of_range");
    }
}
