// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Turning the user's paths into inputs, and finding the bundled model.
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "arpipe/engine.h"
#include "host.h"

namespace arpipe {
namespace {

namespace fs = std::filesystem;

/// The extension as the walk compares it: lower-case, with its dot ("" when the name has none).
std::string lower_extension(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

bool is_audio_extension(const std::string& ext) {
    static const std::set<std::string> known{".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif",
                                             ".aiff", ".au", ".caf", ".w64", ".raw", ".pcm"};
    return known.count(ext) != 0;
}

/// A system message in arpipe's style: lower-case start.
std::string lower_first(std::string m) {
    if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
    return m;
}

constexpr std::size_t kSkippedExamples = 5;

/// Walks `dir`, appending its audio files to `out` in sorted order and counting what it finds in `seen`.
/// A directory that cannot be read, or a walk that stops part way, gives an input carrying the problem, so
/// that it ends in an error record instead of vanishing.
void walk(const fs::path& dir, std::vector<Input>& out, ExpandReport::Directory& seen) {
    std::vector<fs::path> files;
    std::map<std::string, std::size_t> skipped;  // extension -> files
    auto fail = [&](const std::string& what, const std::error_code& why) {
        seen.problem = what;
        Input bad = Input::file(dir.string());
        bad.problem = what;
        bad.problem_code = why == std::errc::permission_denied ? ErrorCode::permission_denied : ErrorCode::read_failed;
        out.push_back(std::move(bad));
    };
    std::error_code ec;
    // skip_permission_denied also skips the top directory without a word: open it once plainly first, so
    // that a directory given by name that cannot be read says so.
    if (fs::directory_iterator probe(dir, ec); ec) {
        fail("cannot read directory: " + lower_first(ec.message()), ec);
        return;
    }
    // Directory symlinks are not followed (the default), so a symlink loop cannot make the walk recur.
    // libstdc++ opens each subdirectory relative to its parent, so trees deeper than PATH_MAX are walked too;
    // their files then fail with path_too_long when opened.
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        fail("cannot read directory: " + lower_first(ec.message()), ec);
        return;
    }
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
        if (ec) break;
        std::error_code fe;
        const fs::directory_entry& e = *it;
        if ((e.is_regular_file(fe) || e.is_symlink(fe)) && !e.is_directory(fe)) {
            std::string ext = lower_extension(e.path());
            if (is_audio_extension(ext))
                files.push_back(e.path());
            else
                ++skipped[std::move(ext)];
        }
    }
    std::sort(files.begin(), files.end());
    seen.audio_files = files.size();
    for (auto& f : files) out.push_back(Input::file(f.string()));
    for (const auto& [ext, n] : skipped) seen.skipped_files += n;
    std::vector<std::pair<std::string, std::size_t>> by_count(skipped.begin(), skipped.end());
    std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < by_count.size() && i < kSkippedExamples; ++i)
        seen.skipped_extensions.push_back(by_count[i].first);
    // An error (a subdirectory that vanished, no file descriptors left) ends the walk: the iterator cannot
    // go past it, so the entries after it are not seen. What was found is kept, and the directory gets a
    // record saying the walk stopped (it used to stop without a word).
    if (ec) fail("stopped reading directory after " + std::to_string(files.size() + seen.skipped_files) +
                 " files: " + lower_first(ec.message()), ec);
}

}  // namespace

Input Input::file(std::string path) {
    Input in;
    in.name = std::move(path);
    return in;
}

Input Input::pcm(std::string name, std::vector<float> interleaved, int sample_rate_hz, int channels) {
    Input in;
    in.name = std::move(name);
    in.samples = std::move(interleaved);
    in.sample_rate_hz = sample_rate_hz;
    in.channels = channels;
    in.in_memory = true;
    return in;
}

std::vector<Input> expand_paths(const std::vector<std::string>& paths, ExpandReport* report) {
    std::vector<Input> out;
    if (report != nullptr) report->directories.clear();
    for (const std::string& p : paths) {
        std::error_code ec;
        if (const auto nul = p.find('\0'); nul != std::string::npos) {
            // The system would read the name only up to the NUL, a different file; the whole string is the
            // input's name in its record, so nothing is confused with that other file.
            Input bad = Input::file(p);
            bad.problem = "the path holds a NUL byte at offset " + std::to_string(nul) + ", so it names no file";
            bad.problem_code = ErrorCode::bad_path;
            out.push_back(std::move(bad));
        } else if (fs::is_directory(p, ec)) {
            ExpandReport::Directory seen;
            seen.directory = p;
            walk(p, out, seen);
            if (report != nullptr) report->directories.push_back(std::move(seen));
        } else {
            out.push_back(Input::file(p));
        }
    }
    return out;
}

std::string find_data_file(const std::string& relative) {
    std::vector<fs::path> candidates;
    // Relative to the binary holding this function: <prefix>/lib[/<triplet>]/libarpipe.so or
    // <prefix>/bin/<program> -> <prefix>/share/arpipe.
    Dl_info info{};
    // A build tree has share/arpipe beside its top-level binaries (a link to the source tree's data/, made by
    // CMake), one level up from build/tests/.
    if (dladdr(reinterpret_cast<void*>(&find_data_file), &info) != 0 && info.dli_fname != nullptr) {
        const fs::path dir = fs::path(info.dli_fname).parent_path();
        candidates.push_back(dir / "../share/arpipe" / relative);
        candidates.push_back(dir / "../../share/arpipe" / relative);
        candidates.push_back(dir / "share/arpipe" / relative);
    }
#ifdef ARPIPE_INSTALL_DATADIR
    candidates.push_back(fs::path(ARPIPE_INSTALL_DATADIR) / relative);
#endif
    for (const auto& c : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(c, ec)) return fs::weakly_canonical(c, ec).string();
    }
    return candidates.empty() ? relative : candidates.back().string();
}

std::string default_model_path() {
    if (const char* env = std::getenv("ARPIPE_MODEL"); env != nullptr && *env != '\0') return env;
    return find_data_file("models/tagger.pt");
}

}  // namespace arpipe
