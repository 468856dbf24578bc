// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The output writers: the bundled sinks. Every number is rounded the same way in every format (times to the
// millisecond, scores to 1e-4), so outputs compare byte for byte across runs and thread counts.
//
// Text fields are bytes (file names need not be UTF-8), and each format keeps them apart and gives them back
// (README, "Output formats"):
// - JSON Lines: valid UTF-8 is written as it is, with JSON's usual escapes; a byte that is not part of
//   valid UTF-8 becomes the escape \udcXX, XX its value (Python's "surrogateescape"), so
//   os.fsencode(json.loads(line)["file"]) gives back the exact bytes. Replacing such bytes with U+FFFD, as
//   this writer used to, printed two different files under one name.
// - CSV: the bytes as they are; RFC 4180 quoting for fields holding a comma, a quote, CR or LF.
// - table (for people): a backslash is doubled, and control characters (C0, DEL, C1) and bytes that are not
//   valid UTF-8 are written as \xHH, one per byte; so a name cannot break a line or send a terminal
//   escape sequence, and the text still undoes to the bytes.
// - audacity (a label track): the table's escapes, which also keep a tab (the field separator) and a newline out
//   of a label, and keep the file valid UTF-8 (Audacity's wxTextFile reads a file that is not in a fallback
//   encoding, Latin-1 by default, all of it).
// - rttm: the table's escapes, and spaces and the other characters Python's str.split() splits on written as
//   \xHH per UTF-8 byte too, so a file-id or a label is one field for readers that split on whitespace.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

#include "arpipe/result.h"
#include "postprocess.h"  // kTimeTicksPerSecond: the tracker drops what would round to zero length here

namespace arpipe {
namespace {

// Dividing by an exact power of ten gives the double nearest the decimal, which prints shortest.
double round_to(double x, double per_unit) { return std::round(x * per_unit) / per_unit; }
double ms(double seconds) { return round_to(seconds, kTimeTicksPerSecond); }
double score4(double s) { return round_to(s, 1e4); }

std::string fixed(double x, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    return buf;
}

constexpr char kHex[] = "0123456789abcdef";

/// The length of the well-formed UTF-8 sequence that starts at `s[i]`, or 0 when none does there. Strict,
/// as RFC 3629 and Python's decoder are: no overlong forms, no surrogates, nothing past U+10FFFF.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned lead = at(i);
    if (lead < 0x80) return 1;
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        if (lead == 0xe0) lo = 0xa0;  // overlong
        if (lead == 0xed) hi = 0x9f;  // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        if (lead == 0xf0) lo = 0x90;  // overlong
        if (lead == 0xf4) hi = 0x8f;  // past U+10FFFF
    } else {
        return 0;
    }
    if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
    return n;
}

void append_hex(std::string& out, const char* prefix, unsigned char byte) {
    out += prefix;
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
}

/// Appends `s` as a JSON string: nlohmann-json's escapes for valid UTF-8 (so such text comes out as before),
/// and \udcXX for each byte XX that is not part of valid UTF-8.
void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            if (const std::size_t n = utf8_length(s, i); n != 0) {
                out.append(s.substr(i, n));
                i += n;
            } else {
                append_hex(out, "\\udc", c);
                ++i;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20)
                    append_hex(out, "\\u00", c);
                else
                    out += static_cast<char>(c);
        }
        ++i;
    }
    out += '"';
}

/// One JSON Lines record, written field by field: strings through append_json_string, numbers by
/// nlohmann-json (the same shortest round-trip form as before).
class JsonRecord {
public:
    explicit JsonRecord(std::string_view type) { text("type", type); }
    JsonRecord& text(std::string_view key, std::string_view value) {
        this->key(key);
        append_json_string(line_, value);
        return *this;
    }
    template <typename Number>
    JsonRecord& number(std::string_view key, Number value) {
        this->key(key);
        line_ += nlohmann::json(value).dump();
        return *this;
    }
    /// A value already in JSON form.
    JsonRecord& raw(std::string_view key, const std::string& json) {
        this->key(key);
        line_ += json;
        return *this;
    }
    JsonRecord& flag(std::string_view key, bool value) {
        this->key(key);
        line_ += value ? "true" : "false";
        return *this;
    }
    /// The record with its closing brace and newline.
    const std::string& line() {
        line_ += "}\n";
        return line_;
    }

private:
    void key(std::string_view k) {
        if (line_.size() > 1) line_ += ',';
        append_json_string(line_, k);
        line_ += ':';
    }
    std::string line_ = "{";
};

/// Whether the well-formed UTF-8 sequence `seq` (two bytes or more) is a character Python's str.split() and
/// str.isspace() take for whitespace: U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000
/// (U+0085 is a C1 control, escaped anyway).
bool unicode_space(std::string_view seq) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(seq[k]); };
    if (seq.size() == 2) return b(0) == 0xc2 && b(1) == 0xa0;
    if (seq.size() != 3) return false;
    const unsigned cp = (b(0) & 0x0fu) << 12 | (b(1) & 0x3fu) << 6 | (b(2) & 0x3fu);
    return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

/// Text as the table and the Audacity labels show it (see the top of the file); with `escape_spaces`, as RTTM
/// fields hold it: whitespace too is written \xHH, one per byte.
std::string table_text(std::string_view s, bool escape_spaces = false) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            out += "\\\\";
            ++i;
        } else if (c < 0x20 || c == 0x7f || (escape_spaces && c == ' ')) {
            append_hex(out, "\\x", c);
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            std::size_t n = utf8_length(s, i);
            const bool c1_control = n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0;
            if (n != 0 && !c1_control && !(escape_spaces && unicode_space(s.substr(i, n)))) {
                out.append(s.substr(i, n));
            } else {
                n = std::max<std::size_t>(n, 1);
                for (std::size_t k = 0; k < n; ++k) append_hex(out, "\\x", static_cast<unsigned char>(s[i + k]));
            }
            i += n;
        }
    }
    return out;
}

/// Transcript text as one display line (subtitles, txt): control characters, CR and LF included, become
/// spaces, so that a label holding a newline can neither end a cue nor split a line. Bytes that are not
/// valid UTF-8 become U+FFFD: subtitle files are UTF-8 text for players, not a place to keep bytes.
std::string line_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            out += ' ';
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else if (const std::size_t n = utf8_length(s, i); n != 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

/// HH:MM:SS plus the milliseconds after `separator` (',' for SRT, '.' for WebVTT), from seconds rounded to the
/// millisecond.
std::string clock_time(double seconds, char separator) {
    const auto total = static_cast<long long>(std::llround(std::max(0.0, seconds) * kTimeTicksPerSecond));
    char buf[48];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", total / 3600000, total / 60000 % 60, total / 1000 % 60,
                  separator, total % 1000);
    return buf;
}

/// The words of a transcript as a JSON array: [{"word":...,"start":...,"end":...,"confidence":...},...].
std::string words_json(const Transcript& t);

/// What a summary counts in words: a ctc model's transcripts, another model's events.
std::string counted(const FileSummary& s) {
    return s.transcripts ? std::to_string(*s.transcripts) + " transcripts" : std::to_string(s.events) + " events";
}
/// The mean of a transcript's word confidences: its score in CSV and the table.
float mean_confidence(const Transcript& t);

class JsonlWriter final : public Sink {
public:
    JsonlWriter(std::ostream& out, std::vector<std::string> labels) : out_(out), labels_(std::move(labels)) {}
    /// {"type":"scores","file":...,"start":...,"end":...,"scores":{"label":0.1234,...}} in label order; an
    /// array when the writer was not given the labels.
    void on_scores(const Scores& sc) override {
        JsonRecord r("scores");
        r.text("file", sc.file).number("start", ms(sc.start_seconds)).number("end", ms(sc.end_seconds));
        std::string values;
        const bool named = labels_.size() == sc.values.size();
        for (std::size_t k = 0; k < sc.values.size(); ++k) {
            if (k > 0) values += ',';
            if (named) {
                append_json_string(values, labels_[k]);
                values += ':';
            }
            values += nlohmann::json(score4(sc.values[k])).dump();
        }
        r.raw("scores", named ? "{" + values + "}" : "[" + values + "]");
        out_ << r.line();
    }
    void on_transcript(const Transcript& t) override {
        JsonRecord r("transcript");
        r.text("file", t.file).number("start", ms(t.start_seconds)).number("end", ms(t.end_seconds)).text("text", t.text);
        r.raw("words", words_json(t));
        if (t.cut) r.flag("cut", true);
        out_ << r.line();
    }
    void on_event(const Event& e) override {
        JsonRecord r("event");
        r.text("file", e.file).text("label", e.label).number("start", ms(e.start_seconds)).number("end", ms(e.end_seconds));
        r.number("score", score4(e.score)).number("peak", score4(e.peak));
        if (e.cut) r.flag("cut", true);  // only on cancelled runs, so other records keep their bytes
        out_ << r.line();
    }
    void on_summary(const FileSummary& s) override {
        JsonRecord r("summary");
        r.text("file", s.file).text("status", "ok").number("duration", ms(s.duration_seconds));
        r.number("segments", s.segments).number("events", s.events);
        if (s.transcripts) r.number("transcripts", *s.transcripts);
        r.number("source_rate", s.source_rate_hz).number("source_channels", s.source_channels);
        out_ << r.line();
        out_.flush();
    }
    void on_error(const FileError& e) override {
        JsonRecord r("error");
        r.text("file", e.file).text("status", "error").text("code", to_string(e.code)).text("message", e.message);
        out_ << r.line();
        out_.flush();
    }

private:
    std::ostream& out_;
    std::vector<std::string> labels_;
};

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF, with quotes doubled; the bytes
/// are otherwise written as they are.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

class CsvWriter final : public Sink {
public:
    /// With `labels`, the header gets one column per label, filled on "scores" rows and empty on the others.
    CsvWriter(std::ostream& out, const std::vector<std::string>& labels)
        : out_(out), n_labels_(labels.size()), end_(std::string(labels.size(), ',') + "\n") {
        out_ << "type,file,label,start,end,score,peak,detail";
        for (const std::string& l : labels) out_ << ',' << csv_field(l);
        out_ << '\n';
    }
    void on_scores(const Scores& sc) override {
        out_ << "scores," << csv_field(sc.file) << ",," << fixed(ms(sc.start_seconds), 3) << ',' << fixed(ms(sc.end_seconds), 3)
             << ",,,";
        if (n_labels_ == sc.values.size()) {
            for (float v : sc.values) out_ << ',' << fixed(score4(v), 4);
            out_ << '\n';
        } else {  // no label columns: the scores in label order in the detail column
            std::string joined;
            for (float v : sc.values) joined += (joined.empty() ? "" : " ") + fixed(score4(v), 4);
            out_ << joined << end_;
        }
    }
    /// One row per utterance: its text in the label column, the mean of its words' confidences as the score,
    /// and its words as a JSON array (the JSON Lines "words") in the detail column. A cut utterance's detail
    /// starts as a cut event's does, then gives its words after "words: ".
    void on_transcript(const Transcript& t) override {
        const std::string words = t.cut ? "cut: the run was cancelled inside the utterance; words: " + words_json(t) : words_json(t);
        out_ << "transcript," << csv_field(t.file) << ',' << csv_field(t.text) << ',' << fixed(ms(t.start_seconds), 3) << ','
             << fixed(ms(t.end_seconds), 3) << ',' << fixed(score4(mean_confidence(t)), 4) << ",," << csv_field(words) << end_;
    }
    void on_event(const Event& e) override {
        out_ << "event," << csv_field(e.file) << ',' << csv_field(e.label) << ',' << fixed(ms(e.start_seconds), 3) << ','
             << fixed(ms(e.end_seconds), 3) << ',' << fixed(score4(e.score), 4) << ',' << fixed(score4(e.peak), 4) << ','
             << (e.cut ? "cut: the run was cancelled before the event ended" : "") << end_;
    }
    void on_summary(const FileSummary& s) override {
        out_ << "summary," << csv_field(s.file) << ",,0.000," << fixed(ms(s.duration_seconds), 3) << ",,,"
             << csv_field("ok: " + std::to_string(s.segments) + " segments, " + counted(s)) << end_;
        out_.flush();
    }
    void on_error(const FileError& e) override {
        out_ << "error," << csv_field(e.file) << ",,,,,," << csv_field(std::string(to_string(e.code)) + ": " + e.message)
             << end_;
        out_.flush();
    }

private:
    std::ostream& out_;
    std::size_t n_labels_;
    std::string end_;  // the empty label columns, then the newline
};

class TableWriter final : public Sink {
public:
    TableWriter(std::ostream& out, std::vector<std::string> labels) : out_(out), labels_(std::move(labels)) {}
    void on_scores(const Scores& sc) override {
        header(sc.file);
        out_ << "  " << pad(fixed(ms(sc.start_seconds), 3), 10) << pad(fixed(ms(sc.end_seconds), 3), 10) << "  scores  ";
        for (std::size_t k = 0; k < sc.values.size(); ++k)
            out_ << (k ? " " : "") << (labels_.size() == sc.values.size() ? table_text(labels_[k]) + "=" : "")
                 << fixed(score4(sc.values[k]), 4);
        out_ << '\n';
    }
    void on_event(const Event& e) override {
        header(e.file);
        out_ << "  " << pad(fixed(ms(e.start_seconds), 3), 10) << pad(fixed(ms(e.end_seconds), 3), 10) << "  "
             << pad_right(table_text(e.label), 16) << fixed(score4(e.score), 4) << (e.cut ? "  (cut)" : "") << '\n';
    }
    void on_transcript(const Transcript& t) override {
        header(t.file);
        out_ << "  " << pad(fixed(ms(t.start_seconds), 3), 10) << pad(fixed(ms(t.end_seconds), 3), 10) << "  "
             << pad_right(table_text(t.text), 16) << fixed(score4(mean_confidence(t)), 4) << (t.cut ? "  (cut)" : "") << '\n';
    }
    void on_summary(const FileSummary& s) override {
        header(s.file);
        out_ << "  -- " << fixed(ms(s.duration_seconds), 3) << " s, " << s.segments << " segments, " << counted(s) << '\n';
        out_.flush();
        last_file_.clear();
    }
    void on_error(const FileError& e) override {
        header(e.file);
        out_ << "  ERROR " << to_string(e.code) << ": " << table_text(e.message) << '\n';
        out_.flush();
        last_file_.clear();
    }

private:
    void header(const std::string& file) {
        if (file == last_file_) return;
        last_file_ = file;
        out_ << table_text(file) << '\n' << "  " << pad("start", 10) << pad("end", 10) << "  " << pad_right("label", 16) << "score\n";
    }
    static std::string pad(const std::string& s, std::size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }
    static std::string pad_right(const std::string& s, std::size_t w) { return s.size() >= w ? s + ' ' : s + std::string(w - s.size(), ' '); }
    std::ostream& out_;
    std::vector<std::string> labels_;
    std::string last_file_;
};

/// An Audacity label track (File > Import > Labels): `start\tend\tlabel` per line, times in seconds with six
/// decimals as Audacity exports them. A track holds the labels of one audio file and a run may have many inputs,
/// so every label starts with its file's name, `FILE: LABEL`: the output does not depend on how many inputs
/// follow (a run's output is its inputs' outputs one after another). An error is a zero-length label at 0,
/// `FILE: error: CODE: MESSAGE`; summaries write nothing. No header: Audacity reads every line as a label.
class AudacityWriter final : public Sink {
public:
    explicit AudacityWriter(std::ostream& out) : out_(out) {}
    void on_event(const Event& e) override {
        out_ << fixed(ms(e.start_seconds), 6) << '\t' << fixed(ms(e.end_seconds), 6) << '\t' << table_text(e.file)
             << ": " << table_text(e.label) << (e.cut ? " (cut)" : "") << '\n';
    }
    /// An utterance is a label like an event's, `FILE: TEXT`.
    void on_transcript(const Transcript& t) override {
        out_ << fixed(ms(t.start_seconds), 6) << '\t' << fixed(ms(t.end_seconds), 6) << '\t' << table_text(t.file) << ": "
             << table_text(t.text) << (t.cut ? " (cut)" : "") << '\n';
    }
    void on_summary(const FileSummary& /*summary*/) override { out_.flush(); }
    void on_error(const FileError& e) override {
        out_ << "0.000000\t0.000000\t" << table_text(e.file) << ": error: " << to_string(e.code) << ": "
             << table_text(e.message) << '\n';
        out_.flush();
    }

private:
    std::ostream& out_;
};

/// NIST RTTM: `SPEAKER FILE-ID 1 ONSET DURATION <NA> <NA> LABEL <NA> <NA>` per event, the layout
/// pyannote.metrics and dscore read, times with three decimals. The file-id is the name without its directory
/// and its extension (what reference RTTMs use); it and the label go through table_text with spaces escaped,
/// and an empty one is written <NA>. RTTM has no record for a summary or an error: they write nothing.
class RttmWriter final : public Sink {
public:
    explicit RttmWriter(std::ostream& out) : out_(out) {}
    void on_event(const Event& e) override {
        const double start = ms(e.start_seconds);
        out_ << "SPEAKER " << field(file_id(e.file)) << " 1 " << fixed(start, 3) << ' '
             << fixed(ms(ms(e.end_seconds) - start), 3) << " <NA> <NA> " << field(e.label) << " <NA> <NA>\n";
    }
    /// An utterance is a SPEAKER turn whose speaker is `speech` (a ctc model does not tell speakers apart); its
    /// words are not written (RTTM's LEXEME lines are for reference transcripts, and scorers read SPEAKER).
    void on_transcript(const Transcript& t) override {
        const double start = ms(t.start_seconds);
        out_ << "SPEAKER " << field(file_id(t.file)) << " 1 " << fixed(start, 3) << ' '
             << fixed(ms(ms(t.end_seconds) - start), 3) << " <NA> <NA> speech <NA> <NA>\n";
    }
    void on_summary(const FileSummary& /*summary*/) override { out_.flush(); }
    void on_error(const FileError& /*error*/) override { out_.flush(); }

private:
    static std::string_view file_id(std::string_view file) {
        if (const std::size_t slash = file.rfind('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
        if (const std::size_t dot = file.rfind('.'); dot != std::string_view::npos && dot > 0) file = file.substr(0, dot);
        return file;
    }
    static std::string field(std::string_view text) { return text.empty() ? "<NA>" : table_text(text, true); }
    std::ostream& out_;
};

/// SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the text on one line, a blank line after each.
/// SubRip has no escapes; the text is one line (line_text), so it cannot end a cue early.
class SrtWriter final : public Sink {
public:
    explicit SrtWriter(std::ostream& out) : out_(out) {}
    void on_transcript(const Transcript& t) override {
        out_ << ++cue_ << '\n'
             << clock_time(ms(t.start_seconds), ',') << " --> " << clock_time(ms(t.end_seconds), ',') << '\n'
             << line_text(t.text) << "\n\n";
    }
    void on_event(const Event& /*event*/) override {}
    void on_summary(const FileSummary& /*summary*/) override { out_.flush(); }
    void on_error(const FileError& /*error*/) override { out_.flush(); }

private:
    std::ostream& out_;
    std::int64_t cue_ = 0;
};

/// WebVTT: the `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm` and their text. Cue text is
/// markup, so `&`, `<` and `>` are written as character references (which also keeps "-->", forbidden in a
/// cue, out: it becomes "--&gt;").
class VttWriter final : public Sink {
public:
    explicit VttWriter(std::ostream& out) : out_(out) { out_ << "WEBVTT\n\n"; }
    void on_transcript(const Transcript& t) override {
        std::string text;
        for (const char c : line_text(t.text)) {
            if (c == '&') text += "&amp;";
            else if (c == '<') text += "&lt;";
            else if (c == '>') text += "&gt;";
            else text += c;
        }
        out_ << clock_time(ms(t.start_seconds), '.') << " --> " << clock_time(ms(t.end_seconds), '.') << '\n' << text << "\n\n";
    }
    void on_event(const Event& /*event*/) override {}
    void on_summary(const FileSummary& /*summary*/) override { out_.flush(); }
    void on_error(const FileError& /*error*/) override { out_.flush(); }

private:
    std::ostream& out_;
};

/// Plain text: one line per utterance.
class TxtWriter final : public Sink {
public:
    explicit TxtWriter(std::ostream& out) : out_(out) {}
    void on_transcript(const Transcript& t) override { out_ << line_text(t.text) << '\n'; }
    void on_event(const Event& /*event*/) override {}
    void on_summary(const FileSummary& /*summary*/) override { out_.flush(); }
    void on_error(const FileError& /*error*/) override { out_.flush(); }

private:
    std::ostream& out_;
};

float mean_confidence(const Transcript& t) {
    double sum = 0;
    for (const Word& w : t.words) sum += w.confidence;
    return t.words.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(t.words.size()));
}

std::string words_json(const Transcript& t) {
    std::string out = "[";
    for (const Word& w : t.words) {
        if (out.size() > 1) out += ',';
        out += "{\"word\":";
        append_json_string(out, w.word);
        out += ",\"start\":" + nlohmann::json(ms(w.start_seconds)).dump() + ",\"end\":" +
               nlohmann::json(ms(w.end_seconds)).dump() + ",\"confidence\":" + nlohmann::json(score4(w.confidence)).dump() +
               "}";
    }
    return out + "]";
}

}  // namespace

bool transcript_only(OutputFormat format) noexcept {
    return format == OutputFormat::srt || format == OutputFormat::vtt || format == OutputFormat::txt;
}

std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::not_a_file: return "not_a_file";
        case ErrorCode::permission_denied: return "permission_denied";
        case ErrorCode::empty_file: return "empty_file";
        case ErrorCode::unsupported_format: return "unsupported_format";
        case ErrorCode::bad_header: return "bad_header";
        case ErrorCode::bad_sample_rate: return "bad_sample_rate";
        case ErrorCode::too_many_channels: return "too_many_channels";
        case ErrorCode::bad_samples: return "bad_samples";
        case ErrorCode::read_failed: return "read_failed";
        case ErrorCode::model_output: return "model_output";
        case ErrorCode::cancelled: return "cancelled";
        case ErrorCode::internal: return "internal";
        case ErrorCode::bad_config: return "bad_config";
        case ErrorCode::bad_model: return "bad_model";
        case ErrorCode::path_too_long: return "path_too_long";
        case ErrorCode::bad_layout: return "bad_layout";
        case ErrorCode::samples_out_of_range: return "samples_out_of_range";
        case ErrorCode::bad_path: return "bad_path";
    }
    return "internal";
}

ParseResult<OutputFormat> parse_output_format(std::string_view text) {
    if (text == "jsonl" || text == "json") return {OutputFormat::jsonl, {}};
    if (text == "csv") return {OutputFormat::csv, {}};
    if (text == "table") return {OutputFormat::table, {}};
    if (text == "audacity") return {OutputFormat::audacity, {}};
    if (text == "rttm") return {OutputFormat::rttm, {}};
    if (text == "srt") return {OutputFormat::srt, {}};
    if (text == "vtt") return {OutputFormat::vtt, {}};
    if (text == "txt") return {OutputFormat::txt, {}};
    return {std::nullopt, "output format \"" + std::string(text) +
                              "\" is not one of: jsonl, csv, table, audacity, rttm, srt, vtt, txt"};
}

std::unique_ptr<Sink> make_writer(OutputFormat format, std::ostream& out) { return make_writer(format, out, {}); }

std::unique_ptr<Sink> make_writer(OutputFormat format, std::ostream& out, const std::vector<std::string>& score_labels) {
    switch (format) {
        case OutputFormat::csv: return std::make_unique<CsvWriter>(out, score_labels);
        case OutputFormat::table: return std::make_unique<TableWriter>(out, score_labels);
        case OutputFormat::audacity: return std::make_unique<AudacityWriter>(out);  // no scores: not labels
        case OutputFormat::rttm: return std::make_unique<RttmWriter>(out);
        case OutputFormat::srt: return std::make_unique<SrtWriter>(out);
        case OutputFormat::vtt: return std::make_unique<VttWriter>(out);
        case OutputFormat::txt: return std::make_unique<TxtWriter>(out);
        case OutputFormat::jsonl: break;
    }
    return std::make_unique<JsonlWriter>(out, score_labels);
}

}  // namespace arpipe
