// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Summaries, the targets of docs/performance.md ("Results on this host"; their goals and descriptions are
// in data/bench/targets.json, see targets.h), the Amdahl estimate, the recommendation, and the CSV/JSON forms
// of all of them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "arpipe/engine.h"
#include "bench/measure.h"
#include "bench/results.h"
#include "bench/targets.h"

namespace arpipe::bench {
namespace {

using nlohmann::json;

template <class F>
std::vector<double> each(const std::vector<Sample>& samples, F f) {
    std::vector<double> v;
    v.reserve(samples.size());
    for (const Sample& s : samples) v.push_back(f(s));
    return v;
}

/// Rounds to `digits` significant decimals for the JSON, so files stay readable and diffs small.
double round_to(double v, int digits) {
    if (!std::isfinite(v)) return 0.0;
    const double scale = std::pow(10.0, digits);
    return std::round(v * scale) / scale;
}

const Point* find_point(const std::vector<Point>& points, const std::string& experiment, const std::string& engine,
                        int threads, std::optional<int> intra_op = std::nullopt) {
    for (const Point& p : points) {
        if (p.experiment == experiment && p.engine == engine && p.threads == threads &&
            (!intra_op || p.intra_op == *intra_op))
            return &p;
    }
    return nullptr;
}

/// One target's entry in bench.json: its goal from the targets file, what was measured, whether it was met.
json target(const TargetSpec& spec, const std::string& what, double measured, int cores,
            const std::vector<double>& rounds) {
    json r = json::array();
    for (double v : rounds) r.push_back(round_to(v, 4));
    return json{{"name", spec.name},
                {"what", what},
                {"measured", round_to(measured, 4)},
                {"goal", spec.goal_text(cores)},
                {"met", spec.met(measured, cores)},
                {"rounds", r}};
}

}  // namespace

std::string Point::label() const {
    char buf[96];
    if (engine == "multiproc")
        std::snprintf(buf, sizeof buf, "%s P=%d B=%d", engine.c_str(), processes, batch);
    else if (engine == "naive")
        std::snprintf(buf, sizeof buf, "%s T=%d intra=%d B=%d", engine.c_str(), threads, intra_op, batch);
    else
        std::snprintf(buf, sizeof buf, "%s T=%d B=%d K=%s", engine.c_str(), threads, batch,
                      tokens > 0 ? std::to_string(tokens).c_str() : "auto");
    return buf;
}

Summary summarize(const Point& point, int cores) {
    Summary s;
    const auto& v = point.samples;
    if (v.empty()) return s;
    s.wall_s = median(each(v, [](const Sample& x) { return x.wall_s; }));
    s.throughput_x = median(each(v, [](const Sample& x) { return x.throughput(); }));
    s.cpu_s = median(each(v, [](const Sample& x) { return x.cpu_s; }));
    s.cpu_util = median(each(v, [&](const Sample& x) { return x.wall_s > 0 ? x.cpu_s / x.wall_s / cores : 0.0; }));
    s.cpu_per_audio = median(each(v, [](const Sample& x) { return x.audio_s > 0 ? x.cpu_s / x.audio_s : 0.0; }));
    s.audio_s = median(each(v, [](const Sample& x) { return x.audio_s; }));
    s.peak_rss_mib = median(each(v, [](const Sample& x) { return x.peak_rss_mib; }));
    double stage[5] = {0, 0, 0, 0, 0};
    std::vector<double> feat, inf;
    for (const Sample& x : v) {
        s.threads_seen = std::max(s.threads_seen, x.threads_seen);
        s.files_failed = std::max(s.files_failed, x.files_failed);
        s.max_live_tokens = std::max(s.max_live_tokens, x.max_live_tokens);
        stage[0] += x.input_s;
        stage[1] += x.decode_s;
        stage[2] += x.features_s;
        stage[3] += x.infer_s;
        stage[4] += x.output_s;
        feat.insert(feat.end(), x.token_features_s.begin(), x.token_features_s.end());
        inf.insert(inf.end(), x.token_infer_s.begin(), x.token_infer_s.end());
    }
    s.segments = v.front().segments;
    s.events = v.front().events;
    s.token_limit = v.front().token_limit;
    const double total = stage[0] + stage[1] + stage[2] + stage[3] + stage[4];
    if (total > 0) {
        s.share_input = stage[0] / total;
        s.share_decode = stage[1] / total;
        s.share_features = stage[2] / total;
        s.share_infer = stage[3] / total;
        s.share_output = stage[4] / total;
    }
    s.features_p50_ms = 1e3 * percentile(feat, 50);
    s.features_p95_ms = 1e3 * percentile(feat, 95);
    s.infer_p50_ms = 1e3 * percentile(inf, 50);
    s.infer_p95_ms = 1e3 * percentile(inf, 95);
    return s;
}

void add_relative_figures(const std::vector<Point>& points, std::vector<Summary>& summaries, int cores) {
    for (std::size_t i = 0; i < points.size(); ++i) {
        const Point& p = points[i];
        Summary& s = summaries[i];
        const Point* own = find_point(points, p.experiment, p.engine, 1, p.engine == "naive" ? std::optional(p.intra_op) : std::nullopt);
        const Point* arpipe1 = find_point(points, p.experiment, "arpipe", 1);
        auto thr = [&](const Point* q) { return q ? summaries[static_cast<std::size_t>(q - points.data())].throughput_x : 0.0; };
        if (own != nullptr && own->batch == p.batch && thr(own) > 0) {
            s.speedup = s.throughput_x / thr(own);
            s.efficiency = s.speedup / std::min(p.threads, cores);
        }
        if (arpipe1 != nullptr && thr(arpipe1) > 0) s.vs_arpipe_1 = s.throughput_x / thr(arpipe1);
    }
}

// The JSON forms below are field lists: alike in shape with each other and with the driver's sums, not
// repeated logic.
json to_json(const Sample& s) {
    return json{{"wall_s", round_to(s.wall_s, 5)},
                {"cpu_s", round_to(s.cpu_s, 5)},
                {"audio_s", round_to(s.audio_s, 3)},
                {"throughput_x", round_to(s.throughput(), 2)},
                {"segments", s.segments},
                {"events", s.events},
                {"tokens", s.tokens},
                {"files_ok", s.files_ok},
                {"files_failed", s.files_failed},
                {"peak_rss_mib", round_to(s.peak_rss_mib, 1)},
                {"rss_mib", round_to(s.rss_mib, 1)},
                {"threads_seen", s.threads_seen},
                {"stage_s", {{"input", round_to(s.input_s, 5)},
                             {"decode", round_to(s.decode_s, 5)},
                             {"features", round_to(s.features_s, 5)},
                             {"infer", round_to(s.infer_s, 5)},
                             {"output", round_to(s.output_s, 5)}}},
                {"token_limit", s.token_limit},
                {"max_live_tokens", s.max_live_tokens}};
}

json to_json(const Summary& s) {
    return json{{"wall_s", round_to(s.wall_s, 5)},
                {"throughput_x", round_to(s.throughput_x, 2)},
                {"cpu_s", round_to(s.cpu_s, 5)},
                {"cpu_util", round_to(s.cpu_util, 4)},
                {"cpu_per_audio_s", round_to(s.cpu_per_audio, 7)},
                {"audio_s", round_to(s.audio_s, 3)},
                {"peak_rss_mib", round_to(s.peak_rss_mib, 1)},
                {"threads_seen", s.threads_seen},
                {"segments", s.segments},
                {"events", s.events},
                {"files_failed", s.files_failed},
                {"stage_share", {{"input", round_to(s.share_input, 4)},
                                 {"decode", round_to(s.share_decode, 4)},
                                 {"features", round_to(s.share_features, 4)},
                                 {"infer", round_to(s.share_infer, 4)},
                                 {"output", round_to(s.share_output, 4)}}},
                {"token_ms", {{"features_p50", round_to(s.features_p50_ms, 4)},
                              {"features_p95", round_to(s.features_p95_ms, 4)},
                              {"infer_p50", round_to(s.infer_p50_ms, 4)},
                              {"infer_p95", round_to(s.infer_p95_ms, 4)}}},
                {"token_limit", s.token_limit},
                {"max_live_tokens", s.max_live_tokens},
                {"speedup", round_to(s.speedup, 4)},
                {"efficiency", round_to(s.efficiency, 4)},
                {"vs_arpipe_1", round_to(s.vs_arpipe_1, 4)}};
}

std::string csv_header() {
    return "experiment,engine,threads,intra_op,processes,batch,tokens,samples,wall_s,audio_s,throughput_x,cpu_s,"
           "cpu_util,cpu_per_audio_s,peak_rss_mib,threads_seen,speedup,efficiency,vs_arpipe_1,segments,events,"
           "files_failed,share_input,share_decode,share_features,share_infer,share_output,features_p50_ms,"
           "features_p95_ms,infer_p50_ms,infer_p95_ms,max_live_tokens\n";
}

std::string csv_row(const Point& p, const Summary& s) {
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "%s,%s,%d,%d,%d,%d,%d,%zu,%.5f,%.3f,%.2f,%.5f,%.4f,%.7f,%.1f,%d,%.4f,%.4f,%.4f,%lld,%lld,%d,%.4f,"
                  "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d\n",
                  p.experiment.c_str(), p.engine.c_str(), p.threads, p.intra_op, p.processes, p.batch, p.tokens,
                  p.samples.size(), s.wall_s, s.audio_s, s.throughput_x, s.cpu_s, s.cpu_util, s.cpu_per_audio,
                  s.peak_rss_mib, s.threads_seen, s.speedup, s.efficiency, s.vs_arpipe_1,
                  static_cast<long long>(s.segments), static_cast<long long>(s.events), s.files_failed,
                  s.share_input, s.share_decode, s.share_features, s.share_infer, s.share_output, s.features_p50_ms,
                  s.features_p95_ms, s.infer_p50_ms, s.infer_p95_ms, s.max_live_tokens);
    return buf;
}

double amdahl_bound(double serial_share, int cores) {
    const double f = std::clamp(serial_share, 0.0, 1.0);
    return 1.0 / (f + (1.0 - f) / std::max(1, cores));
}

json evaluate_targets(const std::vector<Point>& points, int cores, const ModelFacts& model,
                      const TargetSpecs& specs) {
    json out = json::array();
    const Point* a1 = find_point(points, "paired", "arpipe", 1);
    const Point* an = find_point(points, "paired", "arpipe", cores);
    const Point* mn = find_point(points, "paired", "multiproc", cores);
    const Point* nn = find_point(points, "paired", "naive", cores, cores);
    const Point* n1 = find_point(points, "paired", "naive", cores, 1);
    {
        // Amdahl's bound at 16 cores (docs/performance.md, "On a 16-core host"), whatever this host has. The
        // serial work of a 1-thread run is the time in arpipe's two serial filters, input (open, validate
        // and plan each input; it also decodes the inputs that cannot seek) and output (events, sink calls).
        // Decoding is parallel now, so it is not serial work. The serial share f is taken over the run's
        // wall time at -j 1, not over the sum of stage times: the wall time is what Amdahl's law divides
        // (pipeline overhead included), and the pipeline counts the decoding of an input read start to end
        // in both input_seconds and decode_seconds, which a sum would count twice. An estimate: it assumes
        // the parallel stages scale perfectly and the serial ones not at all.
        constexpr int kAmdahlCores = 16;
        const Point* base = a1 != nullptr ? a1 : find_point(points, "scaling", "arpipe", 1);
        if (base != nullptr) {
            std::vector<double> f, bound;
            for (const Sample& s : base->samples) {
                if (s.wall_s <= 0) continue;
                f.push_back((s.input_s + s.output_s) / s.wall_s);
                bound.push_back(amdahl_bound(f.back(), kAmdahlCores));
            }
            if (!bound.empty()) {
                const TargetSpec& spec = specs.at("amdahl_16");
                json t = target(spec, spec.describe(cores, 0, base->experiment), median(bound), cores, bound);
                t["informational"] = true;
                t["cores"] = kAmdahlCores;
                t["serial_share"] = round_to(median(f), 6);
                t["serial_share_of"] = "wall_s of arpipe -j 1 (not the sum of stage times)";
                t["serial_stages"] = {"input", "output"};
                out.push_back(t);
            }
        }
    }
    if (a1 == nullptr || an == nullptr) return out;
    const std::size_t rounds = std::min(a1->samples.size(), an->samples.size());
    auto ratios = [&](auto f) {
        std::vector<double> v;
        for (std::size_t r = 0; r < rounds; ++r) v.push_back(f(r));
        return v;
    };
    auto cpa = [](const Sample& s) { return s.audio_s > 0 ? s.cpu_s / s.audio_s : 0.0; };
    // One target from its per-round values: the goal and the description come from the targets file.
    auto add = [&](const std::string& name, const std::vector<double>& v, int intra_op = 0) {
        const TargetSpec& spec = specs.at(name);
        out.push_back(target(spec, spec.describe(cores, intra_op), median(v), cores, v));
    };

    if (cores >= 2) {
        add("scaling",
            ratios([&](std::size_t r) { return an->samples[r].throughput() / a1->samples[r].throughput(); }));
        add("cpu_per_audio", ratios([&](std::size_t r) { return cpa(an->samples[r]) / cpa(a1->samples[r]); }));
    }
    if (mn != nullptr) {
        const std::size_t n = std::min(rounds, mn->samples.size());
        std::vector<double> t, m;
        for (std::size_t r = 0; r < n; ++r) {
            t.push_back(an->samples[r].throughput() / mn->samples[r].throughput());
            m.push_back(an->samples[r].peak_rss_mib / mn->samples[r].peak_rss_mib);
        }
        add("vs_multiproc_throughput", t);
        add("vs_multiproc_rss", m);
    }
    for (const Point* nv : {nn, n1}) {
        if (nv == nullptr) continue;
        const std::size_t n = std::min(rounds, nv->samples.size());
        std::vector<double> t;
        for (std::size_t r = 0; r < n; ++r) t.push_back(an->samples[r].throughput() / nv->samples[r].throughput());
        add(nv->intra_op == 1 ? "vs_naive_intra_1" : "vs_naive", t, nv->intra_op);
    }
    {
        // Pipeline overhead: the busy time of a 1-thread run bounds what `cores` threads can do, and its time in
        // the two serial filters (input and output; decode is parallel) bounds it too.
        std::vector<double> o;
        for (std::size_t r = 0; r < rounds; ++r) {
            const Sample& s1 = a1->samples[r];
            const double serial = s1.input_s + s1.output_s;
            double bound = s1.stage_sum() > 0 ? cores * s1.audio_s / s1.stage_sum() : 0.0;
            if (serial > 0) bound = std::min(bound, s1.audio_s / serial);
            o.push_back(bound > 0 ? an->samples[r].throughput() / bound : 0.0);
        }
        add("pipeline_overhead", o);
    }
    if (model.input_kind == to_string(InputKind::log_mel)) {
        std::vector<double> f;
        for (std::size_t r = 0; r < rounds; ++r) {
            const Sample& s1 = a1->samples[r];
            if (s1.features_s > 0) f.push_back(static_cast<double>(s1.segments) * model.segment_seconds / s1.features_s);
        }
        add("features_in_pipeline", f);
    }
    return out;
}

json recommend(const std::vector<Point>& points, const std::vector<Summary>& summaries, int cores) {
    // For one knob, from one experiment's arpipe points: the default when it is within 3% of the best
    // throughput measured, else the smallest value within 3% of the best (fewer threads, smaller batches
    // and fewer tokens cost less memory and latency).
    auto pick = [&](const std::string& experiment, auto key,
                    std::optional<int> preferred) -> std::optional<std::pair<int, double>> {
        double best = 0;
        std::optional<std::pair<int, double>> fallback, choice;
        for (std::size_t i = 0; i < points.size(); ++i)
            if (points[i].experiment == experiment && points[i].engine == "arpipe")
                best = std::max(best, summaries[i].throughput_x);
        for (std::size_t i = 0; i < points.size(); ++i) {
            if (points[i].experiment != experiment || points[i].engine != "arpipe") continue;
            const int k = key(points[i]);
            if (summaries[i].throughput_x < 0.97 * best) continue;
            if (preferred && k == *preferred) choice = std::make_pair(k, summaries[i].throughput_x);
            if (!fallback || k < fallback->first) fallback = std::make_pair(k, summaries[i].throughput_x);
        }
        return choice ? choice : fallback;
    };
    json r;
    const auto threads = pick("scaling", [](const Point& p) { return p.threads; }, std::nullopt);
    const auto batch = pick("batch", [](const Point& p) { return p.batch; }, 4);
    const auto tokens = pick("tokens", [](const Point& p) { return p.tokens; }, 2 * cores + 2);
    const int t = threads ? threads->first : cores;
    r["threads"] = t;
    r["batch"] = batch ? batch->first : 4;
    // Tokens are 0 (the default, 2 x threads + 2) unless the sweep found the default too few.
    r["tokens"] = tokens && tokens->first != 2 * cores + 2 ? tokens->first : 0;
    std::ostringstream text;
    text << "arpipe run -j " << t << " --batch " << r["batch"].get<int>();
    if (r["tokens"].get<int>() != 0) text << " --tokens " << r["tokens"].get<int>();
    r["command"] = text.str();
    json why = json::object();
    if (threads) why["threads"] = round_to(threads->second, 1);
    if (batch) why["batch"] = round_to(batch->second, 1);
    if (tokens) why["tokens"] = round_to(tokens->second, 1);
    r["throughput_x_at_choice"] = why;
    r["rule"] = "threads: the fewest within 3% of the best throughput; batch and tokens: the default (4; 2 x threads "
                "+ 2) when within 3% of the best, else the smallest value within 3% of the best";
    return r;
}

}  // namespace arpipe::bench
