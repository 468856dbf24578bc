// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
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
    s.on_summary({0, "a,b.wav", 12.3456, 24, 1, 44100, 2, std::nullopt});
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
            w->on_summary({0, "a.wav", 1.0, 2, 0, 16000, 1, std::nullopt});
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
        CHECK(xml.error == "output format \"xml\" is not one of: jsonl, csv, table, audacity, rttm, srt, vtt, txt");
        CHECK(*arpipe::parse_output_format("audacity").value == arpipe::OutputFormat::audacity);
        CHECK(*arpipe::parse_output_format("rttm").value == arpipe::OutputFormat::rttm);
        CHECK_FALSE(arpipe::parse_output_format("RTTM"));  // names are lower case, as for the others
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
    s.on_summary({index, name, 1.0, 2, 1, 16000, 1, std::nullopt});
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
            w->on_summary({0, t, 12.3456, 24, 1, 44100, 2, std::nullopt});
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

namespace {

/// A decimal written as digits, a dot and exactly `decimals` digits (no sign, no exponent), in units of
/// 10^-decimals; the test fails on anything else.
long long strict_decimal(const std::string& text, int decimals) {
    const std::size_t dot = text.find('.');
    REQUIRE_MESSAGE(dot != std::string::npos, "no decimal point in \"" << text << "\"");
    REQUIRE_MESSAGE(dot > 0, "no integer part in \"" << text << "\"");
    REQUIRE_MESSAGE(text.size() - dot - 1 == static_cast<std::size_t>(decimals), "not " << decimals << " decimals: " << text);
    long long value = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == dot) continue;
        REQUIRE_MESSAGE((text[i] >= '0' && text[i] <= '9'), "not a digit in \"" << text << "\"");
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

/// `line` cut at every `sep` (empty fields kept).
std::vector<std::string> split_on(const std::string& line, char sep) {
    std::vector<std::string> fields(1);
    for (const char c : line) {
        if (c == sep) fields.emplace_back();
        else fields.back() += c;
    }
    return fields;
}

/// Whether `s` holds no character that Python's str.split() (dscore's reader) splits on: ASCII whitespace,
/// U+001C..U+001F, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
bool no_python_whitespace(const std::string& s) {
    for (const char c : s)
        if ((c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= ' ')) return false;
    std::vector<std::string> spaces{"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                    "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
    for (char last = '\x80'; last <= '\x8a'; ++last) spaces.push_back(std::string("\xe2\x80") + last);
    for (const auto& sp : spaces)
        if (s.find(sp) != std::string::npos) return false;
    return true;
}

/// One label of an Audacity label file, as its importer reads it (LabelStruct::Import): start, end and the
/// label text, split on tabs.
struct AudacityLabel {
    long long start_us = 0;
    long long end_us = 0;
    std::string text;
};

/// Reads an Audacity label file strictly: every line ends in LF and has exactly three tab-separated fields,
/// two times with six decimals (start <= end) and a non-empty label of valid UTF-8 without control
/// characters; no line starts with a backslash (Audacity's continuation lines).
std::vector<AudacityLabel> parse_audacity(const std::string& text) {
    REQUIRE_MESSAGE((text.empty() || text.back() == '\n'), "the text does not end in a newline");
    std::vector<AudacityLabel> labels;
    for (const std::string& line : lines_of(text)) {
        CAPTURE(line);
        const auto f = split_on(line, '\t');
        REQUIRE(f.size() == 3);
        AudacityLabel l{strict_decimal(f[0], 6), strict_decimal(f[1], 6), f[2]};
        CHECK(l.start_us <= l.end_us);
        CHECK_FALSE(l.text.empty());
        CHECK(valid_utf8(l.text));  // else Audacity reads the whole file as Latin-1
        for (const char c : l.text) CHECK((static_cast<unsigned char>(c) >= 0x20 && c != '\x7f'));
        labels.push_back(l);
    }
    return labels;
}

/// One RTTM SPEAKER line, read strictly: ten fields split on single spaces, the fixed ones as the layout
/// requires, onset and duration with three decimals, the file-id and the speaker (label) free of anything
/// Python's split() splits on, and valid UTF-8 (dscore decodes the file as UTF-8).
struct RttmTurn {
    std::string file_id;
    long long onset_ms = 0;
    long long duration_ms = 0;
    std::string speaker;
};

std::vector<RttmTurn> parse_rttm(const std::string& text) {
    REQUIRE_MESSAGE((text.empty() || text.back() == '\n'), "the text does not end in a newline");
    std::vector<RttmTurn> turns;
    for (const std::string& line : lines_of(text)) {
        CAPTURE(line);
        const auto f = split_on(line, ' ');
        REQUIRE(f.size() == 10);
        CHECK(f[0] == "SPEAKER");
        CHECK(f[2] == "1");
        for (const int k : {5, 6, 8, 9}) CHECK(f[k] == "<NA>");
        for (const auto& field : f) {
            CHECK_FALSE(field.empty());
            CHECK(no_python_whitespace(field));
            CHECK(valid_utf8(field));
        }
        RttmTurn t{f[1], strict_decimal(f[3], 3), strict_decimal(f[4], 3), f[7]};
        CHECK(t.duration_ms > 0);
        turns.push_back(t);
    }
    return turns;
}

long long rounded(double seconds, double per_second) { return std::llround(seconds * per_second); }

/// Labels no two of which are equal, with the characters that could break a field or a line.
const std::vector<std::string>& awkward_labels() {
    static const std::vector<std::string> labels{
        "speech", "two words", "tab\there", "new\nline\r", "caf\xe9 latin-1", "nbsp\xc2\xa0ideographic\xe3\x80\x80",
        "back\\slash", "\\x20 by hand", "\xe2\x80\x83" "em space", "<NA>",
    };
    return labels;
}

}  // namespace

TEST_SUITE("writers") {
    TEST_CASE("Audacity labels: three tab-separated fields per line, six decimals, the file's name before each label") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::audacity, os);
        std::vector<std::string> names = awkward_names();
        names.emplace_back("dir/with space/take 1.wav");
        const auto& labels = awkward_labels();
        std::vector<arpipe::Event> events;
        for (std::size_t i = 0; i < names.size(); ++i) {
            for (std::size_t k = 0; k < labels.size(); ++k) {
                const double start = 0.1 + 0.2 + static_cast<double>(k), end = start + 0.93456;
                events.push_back({i, names[i], labels[k], static_cast<int>(k), start, end, 0.8f, 0.9f});
                w->on_event(events.back());
            }
            w->on_summary({i, names[i], 12.0, 24, static_cast<std::int64_t>(labels.size()), 16000, 1, std::nullopt});
        }
        w->on_finish();
        const auto parsed = parse_audacity(os.str());
        REQUIRE(parsed.size() == events.size());  // summaries are not labels
        for (std::size_t n = 0; n < events.size(); ++n) {
            CAPTURE(n);
            CHECK(parsed[n].start_us == rounded(events[n].start_seconds, 1e3) * 1000);  // ms, as every format
            CHECK(parsed[n].end_us == rounded(events[n].end_seconds, 1e3) * 1000);
            CHECK(table_unescape(parsed[n].text) == events[n].file + ": " + events[n].label);
        }
        CHECK(os.str().rfind("0.300000\t1.235000\tcaf\\xe9.wav: speech\n", 0) == 0);
        // Two names that differ in one byte that is not UTF-8 still differ.
        CHECK(parsed[0].text != parsed[labels.size()].text);
    }

    TEST_CASE("Audacity labels: an error is a zero-length label at 0, a cut event says so, scores write nothing") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::audacity, os, {"speech"});
        w->on_scores({0, "a.wav", 0.0, 0.5, {0.5f}});
        w->on_event({0, "a.wav", "speech", 0, 1.0, 2.5, 0.8f, 0.9f, true});
        w->on_error({0, "a.wav", arpipe::ErrorCode::read_failed, "decoding failed at frame 7\tin \xff"});
        w->on_error({1, "b\nc.wav", arpipe::ErrorCode::not_found, "no such file"});
        const auto parsed = parse_audacity(os.str());
        REQUIRE(parsed.size() == 3);
        CHECK(parsed[0].text == "a.wav: speech (cut)");
        CHECK(parsed[1].start_us == 0);
        CHECK(parsed[1].end_us == 0);
        CHECK(table_unescape(parsed[1].text) == "a.wav: error: read_failed: decoding failed at frame 7\tin \xff");
        CHECK(os.str().find("0.000000\t0.000000\tb\\x0ac.wav: error: not_found: no such file\n") != std::string::npos);
    }

    TEST_CASE("RTTM: ten space-separated fields per event, file-id without directory and extension, onset plus duration is the end") {
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::rttm, os);
        struct Named {
            std::string file, id;
        };
        std::vector<Named> names{{"data/samples/speech.wav", "speech"},
                                 {"dir.d/no-extension", "no-extension"},
                                 {"with space/two words.flac", "two words"},
                                 {"tab\tand\nnewline.wav", "tab\tand\nnewline"},
                                 {"caf\xe9.wav", "caf\xe9"},
                                 {"caf\xe8.wav", "caf\xe8"},
                                 {"caf\xc3\xa9.wav", "caf\xc3\xa9"},
                                 {"nbsp\xc2\xa0" "and\xe3\x80\x80wide.ogg", "nbsp\xc2\xa0" "and\xe3\x80\x80wide"},
                                 {"back\\slash.tar.wav", "back\\slash.tar"},
                                 {".hidden", ".hidden"},
                                 {"dir/", ""}};
        for (const auto& n : awkward_names()) {
            const std::size_t dot = n.rfind('.');
            if (n.find('/') == std::string::npos) names.push_back({n, dot != std::string::npos && dot > 0 ? n.substr(0, dot) : n});
        }
        const auto& labels = awkward_labels();
        std::vector<arpipe::Event> events;
        for (std::size_t i = 0; i < names.size(); ++i) {
            for (std::size_t k = 0; k < labels.size(); ++k) {
                const double start = 0.1 + 0.2 + 1.7 * static_cast<double>(k), end = start + 1.23456;
                events.push_back({i, names[i].file, labels[k], static_cast<int>(k), start, end, 0.8f, 0.9f});
                w->on_event(events.back());
            }
            w->on_summary({i, names[i].file, 30.0, 24, static_cast<std::int64_t>(labels.size()), 16000, 1, std::nullopt});
            w->on_error({i, names[i].file, arpipe::ErrorCode::read_failed, "not an RTTM record"});
        }
        const auto turns = parse_rttm(os.str());
        REQUIRE(turns.size() == events.size());  // summaries and errors have no RTTM record
        for (std::size_t n = 0; n < events.size(); ++n) {
            CAPTURE(n);
            const std::string& id = names[events[n].file_index].id;
            if (id.empty()) {
                CHECK(turns[n].file_id == "<NA>");
            } else {
                CHECK(table_unescape(turns[n].file_id) == id);
            }
            if (events[n].label == "<NA>") {
                CHECK(turns[n].speaker == "<NA>");  // the placeholder, alike by design
            } else {
                CHECK(table_unescape(turns[n].speaker) == events[n].label);
            }
            CHECK(turns[n].onset_ms == rounded(events[n].start_seconds, 1e3));
            CHECK(turns[n].onset_ms + turns[n].duration_ms == rounded(events[n].end_seconds, 1e3));
        }
        CHECK(lines_of(os.str())[0] == "SPEAKER speech 1 0.300 1.235 <NA> <NA> speech <NA> <NA>");
        CHECK(lines_of(os.str())[1] == "SPEAKER speech 1 2.000 1.235 <NA> <NA> two\\x20words <NA> <NA>");
        // Names that differ in one byte that is not UTF-8 keep different file-ids.
        CHECK(turns[4 * labels.size()].file_id == "caf\\xe9");
        CHECK(turns[5 * labels.size()].file_id == "caf\\xe8");
    }
}
