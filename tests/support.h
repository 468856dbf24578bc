// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Shared helpers for the test suites: deterministic signals, WAV writing, temporary folders, a collecting sink.
#pragma once

#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "arpipe/engine.h"
#include "stages/failure.h"

namespace testing {

/// The message of the arpipe::Failure that `body` throws, after checking its code; "" when it throws none.
template <class Body>
std::string failure_message(Body&& body, arpipe::ErrorCode code) {
    try {
        body();
    } catch (const arpipe::Failure& f) {
        CHECK(f.code() == code);
        return f.what();
    }
    return "";
}

inline std::string repo_path(const std::string& rel) { return std::string(ARPIPE_REPO_DIR) + "/" + rel; }

/// A fresh folder under the system temp dir, removed with its contents at scope exit.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "arpipe-test-XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// Deterministic white noise in [-amp, amp] (a 32-bit LCG; never the global torch generator).
inline std::vector<float> noise(double seconds, int rate, float amp, std::uint32_t seed = 1) {
    std::vector<float> x(static_cast<std::size_t>(std::llround(seconds * rate)));
    std::uint32_t s = seed;
    for (float& v : x) {
        s = s * 1664525u + 1013904223u;
        v = amp * (static_cast<float>(s >> 8) / 8388608.0f - 1.0f);
    }
    return x;
}

inline std::vector<float> silence(double seconds, int rate) {
    return std::vector<float>(static_cast<std::size_t>(std::llround(seconds * rate)), 0.0f);
}

inline std::vector<float> concat(std::initializer_list<std::vector<float>> parts) {
    std::vector<float> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

/// Writes interleaved float samples with libsndfile (16-bit PCM WAV unless `format` says otherwise).
inline void write_audio(const std::string& path, const std::vector<float>& interleaved, int rate, int channels = 1,
                        int format = SF_FORMAT_WAV | SF_FORMAT_PCM_16) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (f == nullptr) throw std::runtime_error("cannot write test audio " + path + ": " + sf_strerror(nullptr));
    sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels));
    sf_close(f);
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

#ifdef ARPIPE_CLI_PATH
/// What a run of the `arpipe` command gave: exit code and captured output.
struct CliRun {
    int code = -1;
    std::string out, err;
};

/// Runs the shell command `cmd` (stdin from /dev/null), capturing stdout and stderr in `dir`.
inline CliRun run_shell(const std::string& cmd, const TempDir& dir) {
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    const int status = std::system((cmd + " >" + out + " 2>" + err + " </dev/null").c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}

/// Runs the built `arpipe` binary with `args`, as run_shell does.
inline CliRun run_cli(const std::string& args, const TempDir& dir) {
    return run_shell(std::string(ARPIPE_CLI_PATH) + " " + args, dir);
}
#endif

/// Collects every record of a run (thread-safe), in the order the sink receives them; tests check the order.
class CollectSink : public arpipe::Sink {
public:
    void on_event(const arpipe::Event& e) override {
        std::lock_guard<std::mutex> lock(m);
        events.push_back(e);
    }
    void on_summary(const arpipe::FileSummary& s) override {
        std::lock_guard<std::mutex> lock(m);
        summaries.push_back(s);
        terminal_order.push_back(s.file_index);
    }
    void on_error(const arpipe::FileError& e) override {
        std::lock_guard<std::mutex> lock(m);
        errors.push_back(e);
        terminal_order.push_back(e.file_index);
    }
    void on_progress(const arpipe::Progress& p) override { last_progress = p; }
    void on_finish() override { ++finished; }

    [[nodiscard]] const arpipe::FileError* error_for(std::size_t index) const {
        for (const auto& e : errors)
            if (e.file_index == index) return &e;
        return nullptr;
    }
    [[nodiscard]] std::vector<arpipe::Event> events_for(std::size_t index) const {
        std::vector<arpipe::Event> out;
        for (const auto& e : events)
            if (e.file_index == index) out.push_back(e);
        return out;
    }

    std::mutex m;
    std::vector<arpipe::Event> events;
    std::vector<arpipe::FileSummary> summaries;
    std::vector<arpipe::FileError> errors;
    std::vector<std::size_t> terminal_order;
    arpipe::Progress last_progress;
    int finished = 0;
};

/// Loads a fixture model from tests/data/models (or a repo-relative path); fails the test on error.
inline std::shared_ptr<const arpipe::Engine> load_engine(const std::string& model, int threads = 2, int batch = 4,
                                                         arpipe::PostConfig post = {}) {
    arpipe::Config c;
    c.model_path = model.find('/') == std::string::npos ? repo_path("tests/data/models/" + model) : repo_path(model);
    c.parallel.threads = threads;
    c.parallel.batch = batch;
    c.post = post;
    auto loaded = arpipe::Engine::load(c);
    if (!loaded.engine) throw std::runtime_error("cannot load " + c.model_path + ": " + loaded.error);
    return loaded.engine;
}

}  // namespace testing
