// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "resume.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "merge.h"

namespace arpipe::cli {
namespace {

/// A name as messages show it: printable, one line (the bytes that are not are written \xHH).
std::string shown(const std::string& name) {
    std::string s;
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            s += hex;
        } else {
            s += c;
        }
    }
    return s;
}

Journal failure(int code, std::string why) {
    Journal j;
    j.exit_code = code;
    j.error = std::move(why);
    return j;
}

/// The journal's bytes, mapped read-only for the scan.
class Mapped {
public:
    Mapped(int fd, std::size_t size) : size_(size) {
        if (size_ == 0) return;
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) map_ = p;
    }
    ~Mapped() {
        if (map_ != nullptr) ::munmap(map_, size_);
    }
    Mapped(const Mapped&) = delete;
    Mapped& operator=(const Mapped&) = delete;
    [[nodiscard]] bool ok() const { return size_ == 0 || map_ != nullptr; }
    [[nodiscard]] std::string_view bytes() const {
        return map_ == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(map_), size_);
    }

private:
    std::size_t size_;
    void* map_ = nullptr;
};

}  // namespace

Journal open_journal(const std::string& out_path, bool csv, const std::string& header, const std::vector<Input>& inputs) {
    const std::string path = journal_path(out_path);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        return failure(2, "the journal " + path + " exists and is not a regular file");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return failure(3, "cannot write the journal " + path + ": " + std::strerror(errno));
    // Two runs appending to one journal would interleave their inputs.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        return failure(err == EWOULDBLOCK ? 2 : 3, err == EWOULDBLOCK ? "the journal " + path + " is in use by another arpipe run"
                                                                      : "cannot lock the journal " + path + ": " + std::strerror(err));
    }
    auto fail = [&](int code, std::string why) {
        ::close(fd);
        return failure(code, std::move(why));
    };
    if (::fstat(fd, &st) != 0) return fail(3, "cannot read the journal " + path + ": " + std::strerror(errno));
    const Mapped mapped(fd, static_cast<std::size_t>(st.st_size));
    if (!mapped.ok()) return fail(3, "cannot read the journal " + path + ": " + std::strerror(errno));
    const std::string_view s = mapped.bytes();

    Journal j;
    std::size_t pos = 0;
    std::size_t keep = 0;  // the end of the last complete input (or of the header)
    bool has_header = false;
    std::vector<std::string> fields;
    std::size_t columns = 0;
    if (csv && !s.empty()) {
        const std::size_t end = split_csv_row(s, 0, fields);
        if (end != std::string_view::npos) {  // else a torn header: start again
            if (s.substr(0, end) != header)
                return fail(2, "the journal " + path + " was written with other settings (its CSV header differs: another "
                                                       "model or --scores?); remove it to start again");
            has_header = true;
            pos = keep = end;
            columns = fields.size();
        }
    }
    std::optional<std::string> open_name;  // the input whose records are being read
    while (pos < s.size() && (!csv || has_header)) {
        Record r;
        std::size_t next = 0;
        if (csv) {
            next = split_csv_row(s, pos, fields);
            if (next == std::string_view::npos || fields.size() != columns) break;
            r.type = fields[0];
            r.name = fields[1];
            if (!is_record_type(r.type)) break;
            r.cancelled = r.type == "error" && fields[7].rfind("cancelled: ", 0) == 0;
        } else {
            const std::size_t nl = s.find('\n', pos);
            if (nl == std::string_view::npos) break;
            std::string why;
            auto parsed = parse_jsonl(s.substr(pos, nl - pos), &why);
            if (!parsed) break;
            r = std::move(*parsed);
            next = nl + 1;
        }
        if (open_name && r.name != *open_name) break;  // a record of another input inside a group: damaged
        if (r.cancelled) break;                         // an interrupted run's: not processed
        pos = next;
        if (r.type != "summary" && r.type != "error") {
            open_name = r.name;
            continue;
        }
        open_name.reset();
        if (j.done >= inputs.size())
            return fail(2, "the journal " + path + " holds more inputs than the " + std::to_string(inputs.size()) +
                               " given (its input " + std::to_string(j.done + 1) + " is " + shown(r.name) +
                               "): it belongs to another input list; remove it to start again");
        if (r.name != inputs[j.done].name)
            return fail(2, "the journal " + path + " belongs to another input list: its input " + std::to_string(j.done + 1) +
                               " is " + shown(r.name) + ", but input " + std::to_string(j.done + 1) + " here is " +
                               shown(inputs[j.done].name) + "; remove it to start again");
        ++j.done;
        j.failed += r.type == "error";
        keep = pos;
    }
    j.dropped_bytes = s.size() - keep;
    if (keep < s.size()) {
        if (::ftruncate(fd, static_cast<off_t>(keep)) != 0 || ::fsync(fd) != 0)
            return fail(3, "cannot repair the journal " + path + ": " + std::strerror(errno));
    }
    if (::lseek(fd, 0, SEEK_END) < 0) return fail(3, "cannot write the journal " + path + ": " + std::strerror(errno));
    j.output = Output::to_journal(fd, path, out_path);
    if (has_header) j.output->drop_next(header.size());
    return j;
}

}  // namespace arpipe::cli
