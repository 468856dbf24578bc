// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Turning the user's paths into inputs, and finding the bundled model.
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>

#include "arpipe/engine.h"
#include "host.h"

namespace arpipe {
namespace {

namespace fs = std::filesystem;

bool is_audio_extension(const fs::path& p) {
    static const std::set<std::string> known{".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif",
                                             ".aiff", ".au", ".caf", ".w64", ".raw", ".pcm"};
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return known.count(ext) != 0;
}

void walk(const fs::path& dir, std::vector<Input>& out) {
    std::vector<fs::path> files;
    std::error_code ec;
    // Directory symlinks are not followed (the default), so a symlink loop cannot make the walk recur.
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        Input bad = Input::file(dir.string());
        bad.problem = "cannot read directory: " + ec.message();
        out.push_back(std::move(bad));
        return;
    }
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
        if (ec) break;
        std::error_code fe;
        const fs::directory_entry& e = *it;
        if ((e.is_regular_file(fe) || e.is_symlink(fe)) && !e.is_directory(fe) && is_audio_extension(e.path()))
            files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.push_back(Input::file(f.string()));
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

std::vector<Input> expand_paths(const std::vector<std::string>& paths) {
    std::vector<Input> out;
    for (const std::string& p : paths) {
        std::error_code ec;
        if (fs::is_directory(p, ec))
            walk(p, out);
        else
            out.push_back(Input::file(p));
    }
    return out;
}

std::string find_data_file(const std::string& relative) {
    std::vector<fs::path> candidates;
    // Relative to the binary holding this function: <prefix>/lib[/<triplet>]/libarpipe.so or
    // <prefix>/bin/<program> -> <prefix>/share/arpipe.
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&find_data_file), &info) != 0 && info.dli_fname != nullptr) {
        const fs::path dir = fs::path(info.dli_fname).parent_path();
        candidates.push_back(dir / "../share/arpipe" / relative);
        candidates.push_back(dir / "../../share/arpipe" / relative);
    }
#ifdef ARPIPE_INSTALL_DATADIR
    candidates.push_back(fs::path(ARPIPE_INSTALL_DATADIR) / relative);
#endif
#ifdef ARPIPE_SOURCE_DATADIR
    candidates.push_back(fs::path(ARPIPE_SOURCE_DATADIR) / relative);
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
