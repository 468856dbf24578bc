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

std::string default_model_path() {
    if (const char* env = std::getenv("ARPIPE_MODEL"); env != nullptr && *env != '\0') return env;
    std::vector<fs::path> candidates;
    // Relative to this library: <prefix>/lib[/<triplet>]/libarpipe.so -> <prefix>/share/arpipe/models.
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&default_model_path), &info) != 0 && info.dli_fname != nullptr) {
        const fs::path lib_dir = fs::path(info.dli_fname).parent_path();
        candidates.push_back(lib_dir / "../share/arpipe/models/tagger.pt");
        candidates.push_back(lib_dir / "../../share/arpipe/models/tagger.pt");
    }
#ifdef ARPIPE_INSTALL_DATADIR
    candidates.emplace_back(ARPIPE_INSTALL_DATADIR "/models/tagger.pt");
#endif
#ifdef ARPIPE_SOURCE_DATADIR
    candidates.emplace_back(ARPIPE_SOURCE_DATADIR "/models/tagger.pt");
#endif
    for (const auto& c : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(c, ec)) return fs::weakly_canonical(c, ec).string();
    }
    return candidates.empty() ? std::string("tagger.pt") : candidates.back().string();
}

}  // namespace arpipe
