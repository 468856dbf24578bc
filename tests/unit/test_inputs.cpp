// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Paths into inputs: what expand_paths reports about the directories it walks, and paths longer than the
// system allows.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "stages/decode.h"
#include "stages/failure.h"
#include "support.h"

using arpipe::ErrorCode;
using testing::TempDir;

namespace {

constexpr int kRate = 16000;

/// Makes `depth` nested directories named `name` under `root` and writes `bytes` as the file `leaf` in the
/// deepest. The full path passes PATH_MAX when it is long enough, so everything is made relative to a
/// directory descriptor. Returns the file's full path.
std::string deep_file(const std::string& root, const std::string& name, int depth, const std::string& leaf,
                      const std::string& bytes) {
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string path = root;
    for (int i = 0; i < depth; ++i) {
        REQUIRE(::mkdirat(fd, name.c_str(), 0755) == 0);
        const int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ::close(fd);
        REQUIRE(next >= 0);
        fd = next;
        path += "/" + name;
    }
    const int f = ::openat(fd, leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::close(fd);
    REQUIRE(f >= 0);
    REQUIRE(::write(f, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(f);
    return path + "/" + leaf;
}

/// The bytes of a short, valid WAV file.
std::string wav_bytes(const TempDir& dir) {
    testing::write_audio(dir.file("template.wav"), testing::noise(0.5, kRate, 0.3f), kRate);
    return testing::read_text(dir.file("template.wav"));
}

/// Opens `path` as an input and returns the failure it gives (FAILs when it opens).
arpipe::Failure open_failure(const std::string& path) {
    try {
        (void)arpipe::AudioSource::open(arpipe::Input::file(path), std::nullopt);
    } catch (const arpipe::Failure& f) {
        return f;
    }
    FAIL("no error for a path of " << path.size() << " bytes");
    return arpipe::Failure(ErrorCode::internal, "");
}

std::vector<std::string> names_of(const std::vector<arpipe::Input>& in) {
    std::vector<std::string> out;
    for (const auto& i : in) out.push_back(std::filesystem::path(i.name).filename().string());
    return out;
}

}  // namespace

TEST_SUITE("inputs") {
    TEST_CASE("expand_paths reports, per directory given, the audio files found and the files skipped") {
        TempDir dir;
        const auto d = dir.path();
        std::filesystem::create_directories(d / "empty");
        std::filesystem::create_directories(d / "no-audio" / "deeper");
        for (const char* f : {"a.m4a", "b.M4A", "c.txt", "deeper/d.m4a", "deeper/README"})
            testing::write_text((d / "no-audio" / f).string(), "x");
        std::filesystem::create_directories(d / "mixed" / "sub");
        testing::write_audio((d / "mixed" / "one.wav").string(), testing::silence(0.1, kRate), kRate);
        testing::write_audio((d / "mixed" / "sub" / "two.WAV").string(), testing::silence(0.1, kRate), kRate);
        testing::write_text((d / "mixed" / "cover.jpg").string(), "x");
        testing::write_audio((d / "loose.wav").string(), testing::silence(0.1, kRate), kRate);

        arpipe::ExpandReport report;
        report.directories.resize(3);  // whatever it held before is replaced
        const auto in = arpipe::expand_paths({(d / "empty").string(), (d / "no-audio").string(), (d / "loose.wav").string(),
                                              (d / "mixed").string(), (d / "missing.wav").string()},
                                             &report);
        CHECK(names_of(in) == std::vector<std::string>{"loose.wav", "one.wav", "two.WAV", "missing.wav"});
        REQUIRE(report.directories.size() == 3);  // files given directly have no entry

        const auto& empty = report.directories[0];
        CHECK(empty.directory == (d / "empty").string());
        CHECK(empty.audio_files == 0);
        CHECK(empty.skipped_files == 0);
        CHECK(empty.skipped_extensions.empty());
        CHECK(empty.problem.empty());

        const auto& none = report.directories[1];
        CHECK(none.directory == (d / "no-audio").string());
        CHECK(none.audio_files == 0);
        CHECK(none.skipped_files == 5);
        CHECK(none.skipped_extensions == std::vector<std::string>{".m4a", "", ".txt"});
        CHECK(none.problem.empty());

        const auto& mixed = report.directories[2];
        CHECK(mixed.audio_files == 2);
        CHECK(mixed.skipped_files == 1);
        CHECK(mixed.skipped_extensions == std::vector<std::string>{".jpg"});

        // Without a report, the same inputs.
        CHECK(names_of(arpipe::expand_paths({(d / "empty").string(), (d / "no-audio").string(), (d / "loose.wav").string(),
                                             (d / "mixed").string(), (d / "missing.wav").string()})) == names_of(in));
    }

    TEST_CASE("expand_paths names at most five skipped extensions, the most frequent first") {
        TempDir dir;
        int n = 0;
        for (const char* ext : {"txt", "txt", "txt", "jpg", "jpg", "m4a", "m4a", "pdf", "aac", "doc", "zip"})
            testing::write_text(dir.file("f" + std::to_string(n++) + "." + ext), "x");
        arpipe::ExpandReport report;
        const auto in = arpipe::expand_paths({dir.path().string()}, &report);
        CHECK(in.empty());
        REQUIRE(report.directories.size() == 1);
        CHECK(report.directories[0].skipped_files == 11);
        CHECK(report.directories[0].skipped_extensions == std::vector<std::string>{".txt", ".jpg", ".m4a", ".aac", ".doc"});
    }

    TEST_CASE("a directory given that cannot be read is reported with its problem and gives one input") {
        // Before: the walk skipped it (skip_permission_denied applies to the top directory too), so it gave
        // no input and no record at all.
        TempDir dir;
        const std::string locked = dir.file("locked");
        std::filesystem::create_directory(locked);
        testing::write_audio(locked + "/a.wav", testing::silence(0.1, kRate), kRate);
        ::chmod(locked.c_str(), 0);
        ::chmod(dir.path().c_str(), 0755);
        auto check = [&locked]() -> int {
            arpipe::ExpandReport report;
            const auto in = arpipe::expand_paths({locked}, &report);
            if (in.size() != 1 || in[0].name != locked) return 1;
            if (in[0].problem != "cannot read directory: permission denied") return 2;
            if (report.directories.size() != 1 || report.directories[0].problem != in[0].problem) return 3;
            if (report.directories[0].audio_files != 0) return 4;
            return 0;
        };
        if (::geteuid() != 0) {
            CHECK(check() == 0);
        } else {
            // Root reads everything: check in a child that drops to nobody (65534), as test_decode does.
            const pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(250);
                ::_exit(check());
            }
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            REQUIRE(WIFEXITED(status));
            REQUIRE(WEXITSTATUS(status) != 250);
            CHECK(WEXITSTATUS(status) == 0);
        }
        ::chmod(locked.c_str(), 0755);
    }

    TEST_CASE("a path longer than PATH_MAX is path_too_long, not a missing file, and a walk still lists it") {
        TempDir dir;
        const std::string bytes = wav_bytes(dir);
        const std::string path = deep_file(dir.path().string(), std::string(200, 'd'), 25, "deep.wav", bytes);
        REQUIRE(path.size() > PATH_MAX);

        const arpipe::Failure f = open_failure(path);
        CHECK(f.code() == ErrorCode::path_too_long);
        CHECK(std::string(f.what()) == "path is longer than the system allows (" + std::to_string(path.size()) + " bytes)");

        // The same for a long path that does not exist: it must not say "no such file".
        const std::string missing = path + "/nothing/here.wav";
        const arpipe::Failure g = open_failure(missing);
        CHECK(g.code() == ErrorCode::path_too_long);
        CHECK(std::string(g.what()) == "path is longer than the system allows (" + std::to_string(missing.size()) + " bytes)");

        // The walk reaches the file, so it gets a record saying why it cannot be read.
        arpipe::ExpandReport report;
        const auto in = arpipe::expand_paths({dir.path().string()}, &report);
        REQUIRE(in.size() == 2);
        CHECK(in[0].name == path);
        CHECK(in[0].problem.empty());
        CHECK(names_of(in)[1] == "template.wav");
        REQUIRE(report.directories.size() == 1);
        CHECK(report.directories[0].audio_files == 2);
    }

    TEST_CASE("a name in a path longer than NAME_MAX is path_too_long, naming its length") {
        TempDir dir;
        const std::string name(300, 'n');
        const arpipe::Failure f = open_failure(dir.file(name + ".wav"));
        CHECK(f.code() == ErrorCode::path_too_long);
        CHECK(std::string(f.what()) == "a name in the path is longer than the system allows (304 bytes)");
        const arpipe::Failure g = open_failure(dir.file(name + "/a.wav"));
        CHECK(g.code() == ErrorCode::path_too_long);
        CHECK(std::string(g.what()) == "a name in the path is longer than the system allows (300 bytes)");
    }
}

TEST_SUITE("inputs") {
    TEST_CASE("a walk that stops part way keeps what it found and gives the directory a record saying so") {
        // Before: the walk stopped at the first error without a word, and the files after it vanished.
        // The error here: out of file descriptors (the walk holds one per directory level), in a child so
        // that the limit stays there.
        TempDir dir;
        testing::write_audio(dir.file("a.wav"), testing::silence(0.1, kRate), kRate);
        std::string leaf_dir = dir.path().string();
        for (int i = 0; i < 12; ++i) {
            leaf_dir += "/level" + std::to_string(i);
            std::filesystem::create_directory(leaf_dir);
        }
        testing::write_audio(leaf_dir + "/deep.wav", testing::silence(0.1, kRate), kRate);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            std::size_t open_fds = 0;
            for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++open_fds;
            const rlimit limit{open_fds + 4, open_fds + 4};
            if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(250);
            arpipe::ExpandReport report;
            const auto in = arpipe::expand_paths({dir.path().string()}, &report);
            // What was found before the stop depends on the order readdir gives; the record is last.
            if (in.empty() || in.size() > 2) ::_exit(1);
            const arpipe::Input& last = in.back();
            if (last.name != dir.path().string()) ::_exit(2);
            if (last.problem.rfind("stopped reading directory after ", 0) != 0) ::_exit(3);
            if (last.problem.find(" files: too many open files") == std::string::npos) ::_exit(4);
            if (report.directories.size() != 1 || report.directories[0].problem != last.problem) ::_exit(5);
            if (report.directories[0].audio_files != in.size() - 1) ::_exit(6);
            ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) != 250);
        CHECK(WEXITSTATUS(status) == 0);
    }
}
