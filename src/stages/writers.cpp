// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The output writers: the bundled sinks. Every number is rounded the same way in every format (times to the
// millisecond, scores to 1e-4), so outputs compare byte for byte across runs and thread counts.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "arpipe/result.h"

namespace arpipe {
namespace {

// Dividing by an exact power of ten gives the double nearest the decimal, which prints shortest.
double round_to(double x, double per_unit) { return std::round(x * per_unit) / per_unit; }
double ms(double seconds) { return round_to(seconds, 1e3); }
double score4(double s) { return round_to(s, 1e4); }

std::string fixed(double x, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    return buf;
}

class JsonlWriter final : public Sink {
public:
    explicit JsonlWriter(std::ostream& out) : out_(out) {}
    void on_event(const Event& e) override {
        nlohmann::ordered_json j{{"type", "event"},  {"file", e.file},           {"label", e.label},
                                 {"start", ms(e.start_seconds)}, {"end", ms(e.end_seconds)},
                                 {"score", score4(e.score)},     {"peak", score4(e.peak)}};
        write(j);
    }
    void on_summary(const FileSummary& s) override {
        nlohmann::ordered_json j{{"type", "summary"},           {"file", s.file},
                                 {"status", "ok"},              {"duration", ms(s.duration_seconds)},
                                 {"segments", s.segments},      {"events", s.events},
                                 {"source_rate", s.source_rate_hz}, {"source_channels", s.source_channels}};
        write(j);
        out_.flush();
    }
    void on_error(const FileError& e) override {
        nlohmann::ordered_json j{{"type", "error"}, {"file", e.file}, {"status", "error"},
                                 {"code", to_string(e.code)}, {"message", e.message}};
        write(j);
        out_.flush();
    }

private:
    void write(const nlohmann::ordered_json& j) {
        // Replace invalid UTF-8 (file names are bytes) instead of throwing.
        out_ << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
    std::ostream& out_;
};

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

class CsvWriter final : public Sink {
public:
    explicit CsvWriter(std::ostream& out) : out_(out) { out_ << "type,file,label,start,end,score,peak,detail\n"; }
    void on_event(const Event& e) override {
        out_ << "event," << csv_field(e.file) << ',' << csv_field(e.label) << ',' << fixed(ms(e.start_seconds), 3) << ','
             << fixed(ms(e.end_seconds), 3) << ',' << fixed(score4(e.score), 4) << ',' << fixed(score4(e.peak), 4) << ",\n";
    }
    void on_summary(const FileSummary& s) override {
        out_ << "summary," << csv_field(s.file) << ",,0.000," << fixed(ms(s.duration_seconds), 3) << ",,,"
             << csv_field("ok: " + std::to_string(s.segments) + " segments, " + std::to_string(s.events) + " events") << '\n';
        out_.flush();
    }
    void on_error(const FileError& e) override {
        out_ << "error," << csv_field(e.file) << ",,,,,," << csv_field(std::string(to_string(e.code)) + ": " + e.message)
             << '\n';
        out_.flush();
    }

private:
    std::ostream& out_;
};

class TableWriter final : public Sink {
public:
    explicit TableWriter(std::ostream& out) : out_(out) {}
    void on_event(const Event& e) override {
        header(e.file);
        out_ << "  " << pad(fixed(ms(e.start_seconds), 3), 10) << pad(fixed(ms(e.end_seconds), 3), 10) << "  "
             << pad_right(e.label, 16) << fixed(score4(e.score), 4) << '\n';
    }
    void on_summary(const FileSummary& s) override {
        header(s.file);
        out_ << "  -- " << fixed(ms(s.duration_seconds), 3) << " s, " << s.segments << " segments, " << s.events
             << " events\n";
        out_.flush();
        last_file_.clear();
    }
    void on_error(const FileError& e) override {
        header(e.file);
        out_ << "  ERROR " << to_string(e.code) << ": " << e.message << '\n';
        out_.flush();
        last_file_.clear();
    }

private:
    void header(const std::string& file) {
        if (file == last_file_) return;
        last_file_ = file;
        out_ << file << '\n' << "  " << pad("start", 10) << pad("end", 10) << "  " << pad_right("label", 16) << "score\n";
    }
    static std::string pad(const std::string& s, std::size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }
    static std::string pad_right(const std::string& s, std::size_t w) { return s.size() >= w ? s + ' ' : s + std::string(w - s.size(), ' '); }
    std::ostream& out_;
    std::string last_file_;
};

}  // namespace

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
    }
    return "internal";
}

ParseResult<OutputFormat> parse_output_format(std::string_view text) {
    if (text == "jsonl" || text == "json") return {OutputFormat::jsonl, {}};
    if (text == "csv") return {OutputFormat::csv, {}};
    if (text == "table") return {OutputFormat::table, {}};
    return {std::nullopt, "output format \"" + std::string(text) + "\" is not one of: jsonl, csv, table"};
}

std::unique_ptr<Sink> make_writer(OutputFormat format, std::ostream& out) {
    switch (format) {
        case OutputFormat::csv: return std::make_unique<CsvWriter>(out);
        case OutputFormat::table: return std::make_unique<TableWriter>(out);
        case OutputFormat::jsonl: break;
    }
    return std::make_unique<JsonlWriter>(out);
}

}  // namespace arpipe
