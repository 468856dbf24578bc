// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Where `arpipe run` writes its records: standard output, or the file named by --out. Every write goes
// through a file descriptor whose errors are kept (errno), so that a full disk, a closed descriptor or a
// reader that went away is noticed at once and reported, never lost silently.
//
// --out FILE is written so that no partial file and no temporary name can be left behind: the records go to
// an unnamed file in FILE's directory (Linux O_TMPFILE) that gets its name only when the run is complete
// (linkat, then rename over an existing FILE). Where the filesystem has no O_TMPFILE, a temporary name
// beside FILE is used instead and removed on every exit path the program controls (including a second
// signal). A FILE that exists and is not a regular file (a FIFO, /dev/null, a terminal) is written directly.
//
// --out FILE --resume writes a journal instead: FILE.partial, a named file appended to in place (resume.h
// reads and repairs it first). It is fsynced after an input's terminal record when at least
// kJournalSyncSeconds have passed since the last fsync, and at the end; commit() then renames it to FILE and
// fsyncs the directory. A run that stops early (sync()) leaves the journal for the next --resume.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace arpipe::cli {

class Output {
public:
    /// Standard output (descriptor 1).
    static std::unique_ptr<Output> to_stdout();
    /// The file `path`; on failure null and `*error` says why, naming `path`.
    static std::unique_ptr<Output> to_file(const std::string& path, std::string* error);
    /// The journal `journal_path`, open for writing at `fd` (taken over, positioned at its end), that becomes
    /// `final_path` at commit().
    static std::unique_ptr<Output> to_journal(int fd, const std::string& journal_path, const std::string& final_path);
    ~Output();
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    std::ostream& stream() noexcept { return *stream_; }

    /// The first write error so far (an errno value), 0 when every write has succeeded.
    [[nodiscard]] int error() const noexcept;
    /// The reader of a pipe went away (EPIPE): the run should stop quietly.
    [[nodiscard]] bool reader_gone() const noexcept;

    /// Flushes and, for --out, gives the file its name. Empty on success, else the reason (strerror text).
    [[nodiscard]] std::string commit();

    /// The next `bytes` bytes written are dropped (a CSV header the journal already holds).
    void drop_next(std::size_t bytes) noexcept;

    /// Called after each input's terminal record: a journal is fsynced when kJournalSyncSeconds have passed
    /// since its last fsync. Other outputs do nothing here.
    void input_done();

    /// Flushes and, for a journal, fsyncs it, leaving it in place (a run that stopped early). Empty on
    /// success, else the reason.
    [[nodiscard]] std::string sync();

    /// The longest a completed input waits in a journal before it is fsynced (a power cut loses at most
    /// about this much completed work, which the next --resume recomputes).
    static constexpr double kJournalSyncSeconds = 1.0;

    /// What to call the output in messages: "standard output" or the --out path.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

private:
    class FdBuf;
    Output(int fd, bool owns_fd, std::string name);

    std::unique_ptr<FdBuf> buf_;
    std::unique_ptr<std::ostream> stream_;
    std::string name_;
    std::string final_path_;  // --out: the name the file gets at commit (empty: written in place / stdout)
    std::string temp_path_;   // the fallback's temporary name, removed unless committed
    bool unnamed_ = false;    // an O_TMPFILE file that gets `final_path_` at commit
    bool journal_ = false;    // --resume: `name_` is the journal, renamed to `final_path_` at commit
    double last_sync_ = 0;    // journal: steady-clock seconds of the last fsync
    int sync_error_ = 0;      // journal: the first error of a periodic fdatasync
    bool committed_ = false;
};

/// A second SIGINT/SIGTERM/SIGHUP ends the process at once; this removes the fallback's temporary file
/// first (async-signal-safe). Set by Output::to_file.
void remove_temporary_output_now() noexcept;

/// Why `path` cannot be used for --out or --memory-csv, or empty when it can: it must be a new name, a
/// regular file, a FIFO or a character device (/dev/null, /dev/stdout, a terminal), and it must not be one of
/// `inputs` (the same file by device and inode, or the same path) nor `other` (the other output's path).
[[nodiscard]] std::string check_output_path(const std::string& flag, const std::string& path,
                                            const std::vector<std::string>& inputs, const std::string& other);

}  // namespace arpipe::cli
