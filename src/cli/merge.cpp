// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "merge.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arpipe/engine.h"
#include "output.h"
#include "shard.h"

namespace arpipe::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitSomeFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitOutput = 3;

/// Names listed per kind of problem before "... and N more".
constexpr std::size_t kNamesShown = 20;

/// The first line of every CSV output of `arpipe run` (score label columns may follow).
constexpr std::string_view kCsvHeader = "type,file,label,start,end,score,peak,detail";

enum class Format { empty, jsonl, csv };

/// A shard output's bytes: mapped when it is a regular file, else read (a pipe, /dev/stdin).
class PartFile {
public:
    static std::unique_ptr<PartFile> open(const std::string& path, std::string* error) {
        std::unique_ptr<PartFile> part(new PartFile);
        part->path = path;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            *error = "cannot read shard output " + path + ": " + std::strerror(errno);
            return nullptr;
        }
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            ::close(fd);
            *error = "shard output " + path + " is a directory";
            return nullptr;
        }
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            void* map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
            if (map != MAP_FAILED) {
                ::madvise(map, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
                part->map_ = map;
                part->bytes = std::string_view(static_cast<const char*>(map), static_cast<std::size_t>(st.st_size));
                ::close(fd);
                return part;
            }
        }
        char buf[1 << 16];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n == 0) break;
            if (n < 0) {
                if (errno == EINTR) continue;
                *error = "cannot read shard output " + path + ": " + std::strerror(errno);
                ::close(fd);
                return nullptr;
            }
            part->owned_.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
        part->bytes = part->owned_;
        return part;
    }
    ~PartFile() {
        if (map_ != nullptr) ::munmap(map_, bytes.size());
    }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;

    std::string path;
    std::string_view bytes;
    Format format = Format::empty;

private:
    PartFile() = default;
    void* map_ = nullptr;
    std::string owned_;
};

/// One input's records in a shard output: its events and scores, then its summary or error.
struct Group {
    std::size_t part = 0;
    std::size_t begin = 0, end = 0;  // byte range in the part
    std::size_t line = 0;            // line (JSONL) or row (CSV) where it starts, 1-based
    std::size_t records = 0;
    std::string name;                // the input's name, as bytes
    bool failed = false;             // ends in an error record
    bool cancelled = false;          // ... whose code is `cancelled`: the input was not processed
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

/// Decodes the JSON string that starts after the quote at `s[i]`, giving back the bytes the writer was given:
/// \udcXX (XX from 80 to ff) is the byte XX (the surrogateescape form of a byte that is not valid UTF-8,
/// README "Output formats"). Returns the index after the closing quote, or npos when the text is not a
/// JSON string.
std::size_t decode_json_string(std::string_view s, std::size_t i, std::string& out) {
    auto code_unit = [&](std::size_t at) -> long {
        if (at + 6 > s.size() || s[at] != '\\' || s[at + 1] != 'u') return -1;
        long v = 0;
        for (std::size_t k = at + 2; k < at + 6; ++k) {
            const int h = hex_value(s[k]);
            if (h < 0) return -1;
            v = v * 16 + h;
        }
        return v;
    };
    while (i < s.size()) {
        const char c = s[i];
        if (c == '"') return i + 1;
        if (static_cast<unsigned char>(c) < 0x20) return std::string_view::npos;
        if (c != '\\') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 >= s.size()) return std::string_view::npos;
        switch (s[i + 1]) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                const long unit = code_unit(i);
                if (unit < 0) return std::string_view::npos;
                if (unit >= 0xd800 && unit <= 0xdbff) {  // a pair
                    const long low = code_unit(i + 6);
                    if (low < 0xdc00 || low > 0xdfff) return std::string_view::npos;
                    append_utf8(out, 0x10000 + ((static_cast<std::uint32_t>(unit) - 0xd800) << 10) +
                                         (static_cast<std::uint32_t>(low) - 0xdc00));
                    i += 12;
                    continue;
                }
                if (unit >= 0xdc80 && unit <= 0xdcff) {
                    out += static_cast<char>(unit & 0xff);
                } else if (unit >= 0xdc00 && unit <= 0xdfff) {
                    return std::string_view::npos;
                } else {
                    append_utf8(out, static_cast<std::uint32_t>(unit));
                }
                i += 6;
                continue;
            }
            default: return std::string_view::npos;
        }
        i += 2;
    }
    return std::string_view::npos;
}

}  // namespace

/// One JSON Lines record of `arpipe run`: it starts {"type":"...","file":"..." (the writer's field order).
/// The whole line must be JSON; nlohmann-json refuses the lone surrogates \udcXX that stand for bytes that are
/// not UTF-8, so for the check they are replaced by an escape of the same length it accepts.
std::optional<Record> parse_jsonl(std::string_view line, std::string* why) {
    constexpr std::string_view kType = "{\"type\":\"";
    constexpr std::string_view kFile = ",\"file\":\"";
    if (line.substr(0, kType.size()) != kType) {
        *why = "not a record of arpipe run (it does not start with {\"type\":\")";
        return std::nullopt;
    }
    Record r;
    const std::size_t type_end = line.find('"', kType.size());
    if (type_end == std::string_view::npos) {
        *why = "not a record of arpipe run (no type)";
        return std::nullopt;
    }
    r.type = std::string(line.substr(kType.size(), type_end - kType.size()));
    if (!is_record_type(r.type)) {
        *why = "not a record of arpipe run (type \"" + r.type + "\")";
        return std::nullopt;
    }
    if (line.substr(type_end + 1, kFile.size()) != kFile ||
        decode_json_string(line, type_end + 1 + kFile.size(), r.name) == std::string_view::npos) {
        *why = "not a record of arpipe run (no \"file\" after \"type\")";
        return std::nullopt;
    }
    std::string checked;
    std::string_view text = line;
    if (line.find("\\udc") != std::string_view::npos) {
        checked.assign(line);
        for (std::size_t at = checked.find("\\udc"); at != std::string::npos; at = checked.find("\\udc", at + 6))
            checked.replace(at, 4, "\\u00");
        text = checked;
    }
    if (r.type != "error") {
        if (!nlohmann::json::accept(text)) {
            *why = "not valid JSON";
            return std::nullopt;
        }
        return r;
    }
    const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
        *why = "not valid JSON";
        return std::nullopt;
    }
    const auto code = record.find("code");
    r.cancelled = code != record.end() && code->is_string() && code->get<std::string>() == "cancelled";
    return r;
}

std::size_t split_csv_row(std::string_view s, std::size_t i, std::vector<std::string>& fields) {
    fields.assign(1, {});
    bool quoted = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c != '"') {
                fields.back() += c;
            } else if (i + 1 < s.size() && s[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else if (c == '\n') {
            return i + 1;
        } else {
            fields.back() += c;
        }
    }
    return std::string_view::npos;
}

namespace {

/// Collects the problems that stop a merge, naming inputs and files.
class Problems {
public:
    void add(std::string message) { messages_.push_back(std::move(message)); }
    /// A list of inputs under one heading, at most kNamesShown of them.
    void add_list(const std::string& heading, const std::vector<std::string>& lines) {
        if (lines.empty()) return;
        std::string m = heading;
        for (std::size_t i = 0; i < lines.size() && i < kNamesShown; ++i) m += "\n  " + lines[i];
        if (lines.size() > kNamesShown) m += "\n  ... and " + std::to_string(lines.size() - kNamesShown) + " more";
        messages_.push_back(std::move(m));
    }
    [[nodiscard]] bool empty() const { return messages_.empty(); }
    [[nodiscard]] const std::vector<std::string>& messages() const { return messages_; }

private:
    std::vector<std::string> messages_;
};

/// A name as the messages show it: the table format's escaping (one line, no terminal escapes).
class NameText {
public:
    std::string operator()(const std::string& name) {
        rendered_.str({});
        FileError e;
        e.file = name;
        table_->on_error(e);
        const std::string text = rendered_.str();
        return text.substr(0, text.find('\n'));
    }

private:
    std::ostringstream rendered_;
    std::unique_ptr<Sink> table_ = make_writer(OutputFormat::table, rendered_);
};

/// Cuts a part into groups, adding what is wrong with it to `problems`. Stops at the first damaged record:
/// what follows it cannot be trusted to belong where it seems to.
void read_groups(const PartFile& part, std::size_t part_index, std::size_t csv_columns, std::vector<Group>& groups,
                 Problems& problems, NameText& text) {
    const std::string_view s = part.bytes;
    std::size_t pos = 0, line = 0;
    std::vector<std::string> fields;
    if (part.format == Format::csv) {  // the header, checked by the caller
        pos = split_csv_row(s, 0, fields);
        line = 1;
    }
    std::optional<Group> open;
    auto where = [&](std::size_t at) { return part.path + (part.format == Format::csv ? " row " : " line ") + std::to_string(at); };
    while (pos < s.size()) {
        ++line;
        Record r;
        std::size_t next = 0;
        if (part.format == Format::jsonl) {
            const std::size_t nl = s.find('\n', pos);
            if (nl == std::string_view::npos) {
                problems.add(where(line) + ": the last line has no newline (the file was cut short)");
                return;
            }
            std::string why;
            auto parsed = parse_jsonl(s.substr(pos, nl - pos), &why);
            if (!parsed) {
                problems.add(where(line) + ": " + why);
                return;
            }
            r = std::move(*parsed);
            next = nl + 1;
        } else {
            next = split_csv_row(s, pos, fields);
            if (next == std::string_view::npos) {
                problems.add(where(line) + ": the last row has no newline (the file was cut short)");
                return;
            }
            if (fields.size() != csv_columns || !is_record_type(fields[0])) {
                problems.add(where(line) + ": not a row of arpipe run (" + std::to_string(fields.size()) + " fields, type \"" +
                             text(fields[0]) + "\")");
                return;
            }
            r.type = fields[0];
            r.name = fields[1];
            r.cancelled = r.type == "error" && fields[7].rfind("cancelled: ", 0) == 0;
        }
        if (!open) {
            open = Group{};
            open->part = part_index;
            open->begin = pos;
            open->line = line;
            open->name = r.name;
        } else if (r.name != open->name) {
            problems.add(where(line) + ": a record of " + text(r.name) + " among the records of " + text(open->name) +
                         ", which have no summary or error before it");
            return;
        }
        ++open->records;
        pos = next;
        if (r.type == "summary" || r.type == "error") {
            open->end = pos;
            open->failed = r.type == "error";
            open->cancelled = r.cancelled;
            groups.push_back(std::move(*open));
            open.reset();
        }
    }
    if (open)
        problems.add(part.path + " ends inside the records of " + text(open->name) +
                     " (no summary or error: the shard did not finish)");
}

}  // namespace

MergeCommand::MergeCommand(CLI::App& app) {
    app_ = app.add_subcommand("merge", "Join the outputs of `run --shard` into the bytes of one run over the whole list");
    app_->add_option("outputs", parts_, "The shard outputs, in any order")->required();
    app_->add_option("-i,--input", inputs_,
                     "An input file or directory as given to `arpipe run` (repeat for several, in the same order)")
        ->allow_extra_args(false);
    app_->add_option("--files-from", files_from_, "Read the input paths from LIST, as `arpipe run --files-from` did");
    app_->add_option("-o,--out", out_, "Write the merged records to FILE instead of stdout; FILE appears (or is replaced) "
                                       "only when the merge is complete");
    app_->add_flag("-q,--quiet", quiet_, "No closing summary line");
    app_->footer("Give the same inputs as the shards (-i, --files-from) to set the order. Every input must have exactly "
                 "one summary or error among the shard outputs (JSON Lines or CSV), or nothing is written and the "
                 "missing, cancelled, duplicated or unknown inputs are named. docs/scale-out.md has more.\n"
                 "Exit codes: 0 merged, every input has a summary; 1 merged, some inputs have error records (as `arpipe "
                 "run`); 2 usage error or unreadable shard output; 3 the output could not be written; 4 the shard outputs "
                 "do not account for every input exactly once, or one is damaged (nothing written).");
}

bool MergeCommand::parsed() const { return app_->parsed(); }

int MergeCommand::run() {
    spdlog::logger& log = cli_log();
    const auto start = std::chrono::steady_clock::now();
    const auto paths = gather_paths(inputs_, files_from_,
                                    "merge needs the inputs the shards were given: -i PATH (repeated) or --files-from LIST", log);
    if (!paths) return kExitUsage;
    const std::vector<Input> inputs = expand_paths(*paths);
    if (inputs.empty()) {
        log.error("nothing to merge: the inputs hold no audio files");
        return kExitSomeFailed;
    }
    std::vector<std::string> taken = parts_;
    for (const Input& in : inputs) taken.push_back(in.name);
    if (std::string why = check_output_path("--out", out_, taken, ""); !why.empty()) {
        log.error("{}", why);
        return kExitUsage;
    }

    // Read the parts and find their format.
    std::vector<std::unique_ptr<PartFile>> parts;
    for (const std::string& path : parts_) {
        std::string why;
        auto part = PartFile::open(path, &why);
        if (!part) {
            log.error("{}", why);
            return kExitUsage;
        }
        parts.push_back(std::move(part));
    }
    Problems problems;
    NameText text;
    std::optional<Format> format;
    std::string first_path;  // the first part that set `format`
    std::string csv_header;
    std::vector<std::string> fields;
    for (auto& part : parts) {
        const std::string_view s = part->bytes;
        if (s.empty()) continue;
        if (s.substr(0, kCsvHeader.size()) == kCsvHeader) {
            part->format = Format::csv;
            const std::size_t end = split_csv_row(s, 0, fields);
            if (end == std::string_view::npos) {
                problems.add(part->path + ": the CSV header has no newline (the file was cut short)");
                continue;
            }
            const std::string header(s.substr(0, end));
            if (csv_header.empty()) {
                csv_header = header;
            } else if (header != csv_header) {
                problems.add(part->path + " has another CSV header than the first CSV shard output (were the shards run "
                                          "with the same model and --scores?)");
                continue;
            }
        } else if (s[0] == '{') {
            part->format = Format::jsonl;
        } else {
            problems.add(part->path + " is neither JSON Lines nor CSV written by arpipe run (the table format cannot be "
                                      "merged: run the shards with -f jsonl or -f csv)");
            continue;
        }
        auto format_name = [](Format f) { return f == Format::csv ? "CSV" : "JSON Lines"; };
        if (format && *format != part->format) {
            problems.add(part->path + " is " + format_name(part->format) + " but " + first_path + " is " +
                         format_name(*format) + ": the shards must all write one format");
            continue;
        }
        if (!format) first_path = part->path;
        format = part->format;
    }
    if (format == Format::csv)
        for (const auto& part : parts)
            if (part->bytes.empty())
                problems.add(part->path + " is empty, but a CSV output of arpipe run always has its header: the shard "
                                          "did not finish");
    if (!problems.empty()) {
        for (const std::string& m : problems.messages()) log.error("{}", m);
        return kExitMergeIncomplete;
    }

    std::size_t csv_columns = 0;
    if (format == Format::csv) {
        split_csv_row(csv_header, 0, fields);
        csv_columns = fields.size();
    }
    std::vector<Group> groups;
    for (std::size_t p = 0; p < parts.size(); ++p)
        if (parts[p]->format != Format::empty) read_groups(*parts[p], p, csv_columns, groups, problems, text);

    // Each group takes the next place of its name in the list (a name given twice has two places; its groups
    // are alike, so which goes where does not change the bytes).
    std::unordered_map<std::string, std::vector<std::size_t>> places;
    places.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) places[inputs[i].name].push_back(i);
    std::unordered_map<std::string, std::size_t> used;
    std::vector<const Group*> slot(inputs.size(), nullptr);
    std::unordered_map<std::string, std::vector<const Group*>> seen;  // every group of a name, cancelled or not
    std::vector<std::string> unknown, duplicated;
    auto where = [&](const Group& g) {
        const PartFile& part = *parts[g.part];
        return part.path + (part.format == Format::csv ? " row " : " line ") + std::to_string(g.line);
    };
    for (const Group& g : groups) {
        const auto it = places.find(g.name);
        if (it == places.end()) {
            unknown.push_back(text(g.name) + " (" + where(g) + ")");
            continue;
        }
        seen[g.name].push_back(&g);
        if (g.cancelled) continue;  // not processed: it fills no place
        std::size_t& k = used[g.name];
        if (k < it->second.size()) slot[it->second[k]] = &g;
        ++k;
    }
    std::vector<std::string> missing, cancelled;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (slot[i] != nullptr) continue;
        const auto groups_of = seen.find(inputs[i].name);
        if (groups_of != seen.end() && !groups_of->second.empty())
            cancelled.push_back(text(inputs[i].name) + " (in " + parts[groups_of->second.front()->part]->path + ")");
        else
            missing.push_back(text(inputs[i].name));
    }
    for (const auto& [name, count] : used) {
        if (count <= places[name].size()) continue;
        std::string places_seen;
        for (const Group* g : seen[name])
            if (!g->cancelled) places_seen += (places_seen.empty() ? "" : ", ") + where(*g);
        duplicated.push_back(text(name) + " (" + places_seen + ")");
    }
    std::sort(duplicated.begin(), duplicated.end());
    problems.add_list(std::to_string(missing.size()) +
                          " input(s) have no records in the shard outputs (a shard output is missing or unfinished?):",
                      missing);
    problems.add_list(std::to_string(cancelled.size()) +
                          " input(s) were cancelled in their shard (an interrupted run, e.g. a time limit; run that "
                          "shard again):",
                      cancelled);
    problems.add_list(std::to_string(duplicated.size()) +
                          " input(s) have records in more than one place (a shard output given twice, or shards of "
                          "different plans?):",
                      duplicated);
    problems.add_list(std::to_string(unknown.size()) +
                          " file(s) with records are not among the inputs (were the shards run on other inputs?):",
                      unknown);
    if (!problems.empty()) {
        for (const std::string& m : problems.messages()) log.error("{}", m);
        log.error("nothing written: the shard outputs do not hold exactly one complete record group per input");
        return kExitMergeIncomplete;
    }

    std::unique_ptr<Output> output;
    if (out_.empty()) {
        output = Output::to_stdout();
    } else {
        std::string why;
        output = Output::to_file(out_, &why);
        if (!output) {
            log.error("{}", why);
            return kExitOutput;
        }
    }
    std::ostream& out = output->stream();
    out << csv_header;
    std::size_t failed = 0, records = 0;
    for (const Group* g : slot) {
        const std::string_view bytes = parts[g->part]->bytes.substr(g->begin, g->end - g->begin);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        failed += g->failed;
        records += g->records;
        if (output->error() != 0) break;
    }
    if (std::string why = output->commit(); !why.empty()) {
        if (!output->reader_gone()) log.error("cannot write {}: {}", output->name(), why);
        return kExitOutput;
    }
    if (!quiet_) {
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "arpipe: merged %zu shard outputs: %zu inputs (%zu ok, %zu failed), %zu records in %.3f s\n",
                     parts.size(), inputs.size(), inputs.size() - failed, failed, records, wall);
    }
    return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace arpipe::cli
