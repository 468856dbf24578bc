// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "bench/targets.h"

#include "pipeline/host.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace arpipe::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::set<std::string> kComparisons{">=", "<=", ">", "<", "none"};
const std::set<std::string> kPlaceholders{"{cores}", "{intra_op}", "{experiment}"};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

/// Checks one entry of the "targets" array; `where` names it in messages ("targets.json: target 3").
TargetSpec parse_spec(const json& j, const std::string& where) {
    if (!j.is_object()) throw std::runtime_error(where + " is not an object");
    auto text = [&](const char* key, bool required) -> std::string {
        if (!j.contains(key)) {
            if (required) throw std::runtime_error(where + " has no \"" + key + "\"");
            return "";
        }
        if (!j[key].is_string()) throw std::runtime_error(where + ": \"" + key + "\" is not a string");
        return j[key].get<std::string>();
    };
    TargetSpec s;
    s.name = text("name", true);
    const std::string named = where + " (" + s.name + ")";
    s.what = text("what", true);
    s.comparison = text("comparison", true);
    s.note = text("note", false);
    if (kComparisons.count(s.comparison) == 0)
        throw std::runtime_error(named + ": comparison \"" + s.comparison + "\" is not one of >=, <=, >, <, none");
    if (s.comparison != "none") {
        if (!j.contains("value") || !j["value"].is_number())
            throw std::runtime_error(named + ": \"value\" is missing or not a number");
        s.value = j["value"].get<double>();
    }
    if (j.contains("per_core")) {
        if (!j["per_core"].is_boolean()) throw std::runtime_error(named + ": \"per_core\" is not true or false");
        s.per_core = j["per_core"].get<bool>();
    }
    if (j.contains("decimals")) {
        if (!j["decimals"].is_number_integer() || j["decimals"].get<int>() < 0 || j["decimals"].get<int>() > 9)
            throw std::runtime_error(named + ": \"decimals\" is not an integer in [0, 9]");
        s.decimals = j["decimals"].get<int>();
    }
    for (auto open = s.what.find('{'); open != std::string::npos; open = s.what.find('{', open + 1)) {
        const auto close = s.what.find('}', open);
        const std::string p = close == std::string::npos ? s.what.substr(open) : s.what.substr(open, close - open + 1);
        if (kPlaceholders.count(p) == 0)
            throw std::runtime_error(named + ": \"what\" has " + p + ", which is not one of {cores}, {intra_op}, "
                                     "{experiment}");
    }
    return s;
}

}  // namespace

std::string TargetSpec::goal_text(int cores) const {
    std::string out = comparison;
    if (comparison != "none") {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %.*f", decimals, per_core ? value * cores : value);
        out += buf;
    }
    if (!note.empty()) out += " (" + note + ")";
    return out;
}

bool TargetSpec::met(double measured, int cores) const {
    const double goal = per_core ? value * cores : value;
    if (comparison == ">=") return measured >= goal;
    if (comparison == "<=") return measured <= goal;
    if (comparison == ">") return measured > goal;
    if (comparison == "<") return measured < goal;
    return true;  // "none": an estimate, not a goal
}

std::string TargetSpec::describe(int cores, int intra_op, const std::string& experiment) const {
    std::string out = replace_all(what, "{cores}", std::to_string(cores));
    out = replace_all(out, "{intra_op}", std::to_string(intra_op));
    return replace_all(out, "{experiment}", experiment);
}

TargetSpecs TargetSpecs::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read the targets file " + path + " (give another with --targets FILE)");
    json doc;
    try {
        doc = json::parse(in);
    } catch (const json::exception& e) {
        throw std::runtime_error("the targets file " + path + " is not valid JSON: " + e.what());
    }
    if (!doc.is_object() || !doc.contains("targets") || !doc["targets"].is_array())
        throw std::runtime_error("the targets file " + path + " has no \"targets\" array");
    TargetSpecs out;
    const json& list = doc["targets"];
    for (std::size_t i = 0; i < list.size(); ++i) {
        TargetSpec s = parse_spec(list[i], path + ": target " + std::to_string(i + 1));
        const std::string name = s.name;
        if (!out.specs_.emplace(name, std::move(s)).second)
            throw std::runtime_error(path + ": target " + name + " is there twice");
    }
    const auto& known = target_names();
    for (const auto& [name, spec] : out.specs_) {
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list_text;
            for (const auto& k : known) list_text += (list_text.empty() ? "" : ", ") + k;
            throw std::runtime_error(path + ": target " + name + " is not one the bench measures (" + list_text + ")");
        }
    }
    for (const auto& name : known)
        if (out.specs_.count(name) == 0) throw std::runtime_error(path + ": target " + name + " is missing");
    return out;
}

const TargetSpec& TargetSpecs::at(const std::string& name) const {
    const auto it = specs_.find(name);
    if (it == specs_.end()) throw std::logic_error("no target " + name + " in the targets file");
    return it->second;
}

const std::vector<std::string>& target_names() {
    static const std::vector<std::string> names{"scaling",           "cpu_per_audio",   "vs_multiproc_throughput",
                                                "vs_multiproc_rss",  "vs_naive",        "vs_naive_intra_1",
                                                "pipeline_overhead", "features_in_pipeline", "amdahl_16"};
    return names;
}

std::string default_targets_path() { return find_data_file("bench/targets.json"); }

}  // namespace arpipe::bench
