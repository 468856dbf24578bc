// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <streambuf>

namespace arpipe::cli {
namespace {

namespace fs = std::filesystem;

// The fallback's temporary name, for remove_temporary_output_now(); empty when there is none.
char g_temp_path[PATH_MAX + 1] = "";

void remember_temp(const std::string& path) {
    if (path.size() >= sizeof g_temp_path) return;  // open() would have failed first
    std::memcpy(g_temp_path, path.c_str(), path.size() + 1);
}

void forget_temp() { g_temp_path[0] = '\0'; }

std::string reason(int err) { return std::strerror(err); }

double now_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// The name /proc gives an open descriptor: linkat() turns an O_TMPFILE file into a named one through it.
std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

/// A name of our own beside `path`, for the moment a file needs one before it takes `path`'s.
std::string temp_name(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

/// The directory `path` would live in, and its last component.
std::pair<fs::path, fs::path> split(const std::string& path) {
    const fs::path p(path);
    fs::path dir = p.parent_path();
    if (dir.empty()) dir = ".";
    return {dir, p.filename()};
}

bool same_directory(const fs::path& a, const fs::path& b) {
    struct stat sa {}, sb {};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/// Whether renaming the output to `out` would replace `other`: the same name in the same directory (reached
/// by any path). A hard link elsewhere keeps its data, and a symbolic link named `out` is itself replaced.
bool same_target(const std::string& out, const std::string& other) {
    const auto [out_dir, out_name] = split(out);
    const auto [other_dir, other_name] = split(other);
    return out_name == other_name && same_directory(out_dir, other_dir);
}

}  // namespace

/// A stream buffer over a file descriptor that keeps the first write error. After an error it drops what it
/// is given and reports failure, so the stream goes bad and stays bad.
class Output::FdBuf final : public std::streambuf {
public:
    FdBuf(int fd, bool owns) : fd_(fd), owns_(owns) { setp(buffer_, buffer_ + sizeof buffer_); }
    ~FdBuf() override {
        if (owns_ && fd_ >= 0) ::close(fd_);
    }
    FdBuf(const FdBuf&) = delete;
    FdBuf& operator=(const FdBuf&) = delete;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] int error() const noexcept { return error_; }
    void drop_next(std::size_t bytes) noexcept { drop_ = bytes; }

    /// Closes the descriptor (for files), keeping a close error. False on any error so far.
    bool close() {
        const bool flushed = drain();
        if (owns_ && fd_ >= 0) {
            if (::close(fd_) != 0 && error_ == 0) error_ = errno;
            fd_ = -1;
        }
        return flushed && error_ == 0;
    }

protected:
    int_type overflow(int_type c) override {
        if (!drain()) return traits_type::eof();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override { return drain() ? 0 : -1; }

private:
    bool drain() {
        const char* p = pbase();
        std::size_t left = static_cast<std::size_t>(pptr() - pbase());
        const std::size_t dropped = std::min(drop_, left);
        p += dropped;
        left -= dropped;
        drop_ -= dropped;
        while (left > 0 && error_ == 0) {
            const ssize_t n = ::write(fd_, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                error_ = errno;
                break;
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        setp(buffer_, buffer_ + sizeof buffer_);
        return error_ == 0;
    }

    int fd_;
    bool owns_;
    int error_ = 0;
    std::size_t drop_ = 0;  // bytes still to drop instead of writing
    char buffer_[1 << 16];
};

Output::Output(int fd, bool owns_fd, std::string name)
    : buf_(std::make_unique<FdBuf>(fd, owns_fd)), stream_(std::make_unique<std::ostream>(buf_.get())), name_(std::move(name)) {}

Output::~Output() {
    if (committed_) return;
    stream_->flush();
    buf_->close();
    if (!temp_path_.empty()) {
        ::unlink(temp_path_.c_str());
        forget_temp();
    }
}

std::unique_ptr<Output> Output::to_stdout() { return std::unique_ptr<Output>(new Output(STDOUT_FILENO, false, "standard output")); }

std::unique_ptr<Output> Output::to_file(const std::string& path, std::string* error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        // A FIFO or a device: write into it; renaming over it would replace it with a file.
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            *error = "cannot write " + path + ": " + reason(errno);
            return nullptr;
        }
        return std::unique_ptr<Output>(new Output(fd, true, path));
    }
    const fs::path dir = split(path).first;
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) {
        // linkat needs /proc to name the unnamed file; without it, use a temporary name instead.
        if (::access(proc_fd_path(fd).c_str(), F_OK) == 0) {
            std::unique_ptr<Output> out(new Output(fd, true, path));
            out->final_path_ = path;
            out->unnamed_ = true;
            return out;
        }
        ::close(fd);
    } else if (errno == ENOENT || errno == EACCES || errno == ENOTDIR || errno == EROFS || errno == ENOSPC ||
               errno == EDQUOT) {
        *error = "cannot write " + path + ": " + reason(errno);
        return nullptr;
    }
    // No O_TMPFILE here (EOPNOTSUPP, EISDIR or EINVAL): a temporary name, removed unless committed.
    const std::string temp = temp_name(path);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        *error = "cannot write " + path + ": " + reason(errno);
        return nullptr;
    }
    remember_temp(temp);
    std::unique_ptr<Output> out(new Output(fd, true, path));
    out->final_path_ = path;
    out->temp_path_ = temp;
    return out;
}

std::unique_ptr<Output> Output::to_journal(int fd, const std::string& journal_path, const std::string& final_path) {
    std::unique_ptr<Output> out(new Output(fd, true, journal_path));
    out->final_path_ = final_path;
    out->journal_ = true;
    out->last_sync_ = now_seconds();
    return out;
}

void Output::drop_next(std::size_t bytes) noexcept { buf_->drop_next(bytes); }

void Output::input_done() {
    if (!journal_ || now_seconds() - last_sync_ < kJournalSyncSeconds) return;
    stream_->flush();
    // Linux reports a writeback error to one fsync only: keep it for commit() and sync().
    if (buf_->error() == 0 && ::fdatasync(buf_->fd()) != 0 && sync_error_ == 0) sync_error_ = errno;
    last_sync_ = now_seconds();
}

std::string Output::sync() {
    stream_->flush();
    if (buf_->error() != 0) return reason(buf_->error());
    if (journal_ && ::fsync(buf_->fd()) != 0) return reason(errno);
    return sync_error_ == 0 ? std::string() : reason(sync_error_);
}

int Output::error() const noexcept { return buf_->error(); }

bool Output::reader_gone() const noexcept { return buf_->error() == EPIPE; }

std::string Output::commit() {
    stream_->flush();
    if (journal_) {
        // Durable before it takes the name, and the name durable before the run reports success. The
        // descriptor (and with it the journal's lock) is kept until the rename is done.
        int err = buf_->error() != 0 ? buf_->error() : sync_error_;
        if (err == 0 && ::fsync(buf_->fd()) != 0) err = errno;
        if (err == 0 && ::rename(name_.c_str(), final_path_.c_str()) != 0) err = errno;
        if (err == 0) {
            const int dir = ::open(split(final_path_).first.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dir >= 0) {
                if (::fsync(dir) != 0) err = errno;
                ::close(dir);
            }
        }
        if (!buf_->close() && err == 0) err = buf_->error();
        committed_ = err == 0;
        return err == 0 ? std::string() : reason(err);
    }
    if (final_path_.empty()) {  // standard output, or a FIFO or device written in place
        const int err = buf_->error();
        committed_ = err == 0;
        if (!buf_->close() && err == 0) return reason(buf_->error());
        return err == 0 ? std::string() : reason(err);
    }
    if (unnamed_) {
        if (buf_->error() != 0) return reason(buf_->error());
        const std::string self = proc_fd_path(buf_->fd());
        int err = 0;
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, final_path_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
            err = errno;
            if (err == EEXIST) {
                // Replace the existing file atomically: a name of our own, then rename over the target. Only
                // between these two calls can the temporary name exist.
                const std::string temp = temp_name(final_path_);
                remember_temp(temp);
                err = 0;
                if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
                    err = errno;
                } else if (::rename(temp.c_str(), final_path_.c_str()) != 0) {
                    err = errno;
                    ::unlink(temp.c_str());
                }
                forget_temp();
            }
        }
        if (!buf_->close() && err == 0) err = buf_->error();
        committed_ = err == 0;
        return err == 0 ? std::string() : reason(err);
    }
    int err = buf_->close() ? 0 : buf_->error();
    if (err == 0 && ::rename(temp_path_.c_str(), final_path_.c_str()) != 0) err = errno;
    if (err != 0) ::unlink(temp_path_.c_str());
    forget_temp();
    temp_path_.clear();
    committed_ = err == 0;
    return err == 0 ? std::string() : reason(err);
}

void remove_temporary_output_now() noexcept {
    if (g_temp_path[0] != '\0') ::unlink(g_temp_path);
}

std::string check_output_path(const std::string& flag, const std::string& path, const std::vector<std::string>& inputs,
                              const std::string& other) {
    if (path.empty()) return {};
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISCHR(st.st_mode)) return {};  // /dev/null, a terminal: nothing to overwrite
        if (S_ISDIR(st.st_mode)) return flag + " " + path + " is a directory";
        if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
            return flag + " " + path + " is not a regular file, a FIFO or a character device";
    }
    for (const std::string& input : inputs)
        if (same_target(path, input)) return flag + " " + path + " is one of the inputs; refusing to overwrite it";
    if (!other.empty() && same_target(path, other)) return flag + " " + path + " names the same file as the other output";
    return {};
}

}  // namespace arpipe::cli
