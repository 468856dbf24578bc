// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The bench driver: plans the sweeps, starts worker processes (this program, `arpipe-bench --worker SPEC`),
// collects their measurements and writes bench.csv and bench.json. See bench.h for the engines and the protocol.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>

#include "arpipe/engine.h"
#include "arpipe/version.h"
#include "bench/bench.h"
#include "bench/measure.h"
#include "bench/results.h"
#include "bench/targets.h"
#include "bench/workload.h"

extern char** environ;

namespace arpipe::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// Errors in the options: reported as usage errors (exit code 2).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// This program's path: the driver starts its workers as `arpipe-bench --worker SPEC` (see worker.cpp).
std::string self_exe() {
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find this program's path in /proc/self/exe: " + ec.message());
    return p.string();
}

/// The workers' environment: ours without the thread-count variables, so that every engine starts from
/// LibTorch's and OpenMP's defaults, as the case study's engine did (OMP_NUM_THREADS unset).
class WorkerEnvironment {
public:
    WorkerEnvironment() {
        for (char** e = environ; *e != nullptr; ++e) {
            const std::string kv = *e;
            bool drop = false;
            for (const char* name : {"OMP_NUM_THREADS=", "MKL_NUM_THREADS="})
                drop = drop || kv.rfind(name, 0) == 0;
            if (drop) removed_.push_back(kv);
            else storage_.push_back(kv);
        }
        for (auto& s : storage_) ptrs_.push_back(s.data());
        ptrs_.push_back(nullptr);
    }
    [[nodiscard]] char* const* envp() const { return ptrs_.data(); }
    [[nodiscard]] const std::vector<std::string>& removed() const { return removed_; }

private:
    std::vector<std::string> storage_, removed_;
    std::vector<char*> ptrs_;
};

/// One worker process and its two pipes.
class WorkerProcess {
public:
    WorkerProcess(const std::string& exe, const std::string& spec, const WorkerEnvironment& env) {
        int to_child[2], from_child[2];
        if (::pipe2(to_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        if (::pipe2(from_child, O_CLOEXEC) != 0) {
            ::close(to_child[0]);
            ::close(to_child[1]);
            throw std::runtime_error("pipe2 failed");
        }
        std::vector<std::string> args{exe, "--worker", spec};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {  // child: only async-signal-safe calls until execve
            ::dup2(to_child[0], STDIN_FILENO);
            ::dup2(from_child[1], STDOUT_FILENO);
            ::execve(exe.c_str(), argv.data(), env.envp());
            ::_exit(127);
        }
        ::close(to_child[0]);
        ::close(from_child[1]);
        if (pid_ < 0) {
            ::close(to_child[1]);
            ::close(from_child[0]);
            throw std::runtime_error("fork failed");
        }
        to_ = to_child[1];
        from_ = ::fdopen(from_child[0], "r");
    }
    ~WorkerProcess() {
        send('q');
        if (to_ >= 0) ::close(to_);
        if (from_ != nullptr) std::fclose(from_);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;

    void send(char c) {
        if (to_ >= 0 && ::write(to_, &c, 1) != 1) {
            ::close(to_);
            to_ = -1;
        }
    }

    /// The next JSON line; throws if the worker died or reported an error.
    json receive() {
        char* line = nullptr;
        std::size_t cap = 0;
        const ssize_t n = ::getline(&line, &cap, from_);
        std::string text = n > 0 ? std::string(line, static_cast<std::size_t>(n)) : std::string();
        std::free(line);
        if (n <= 0) throw std::runtime_error("worker " + std::to_string(pid_) + " exited without answering (see its stderr)");
        json j = json::parse(text);
        if (j.value("type", "") == "error") throw std::runtime_error("worker: " + j.value("message", std::string("?")));
        return j;
    }

private:
    pid_t pid_ = -1;
    int to_ = -1;
    FILE* from_ = nullptr;
};

/// What every point runs on: the same inputs for every engine.
struct Workload {
    bool synthetic = true;
    bool in_memory = false;
    SyntheticSpec spec;
    std::vector<std::string> files;   // paths (written synthetic files, or the user's)
    std::vector<std::uintmax_t> sizes;
    std::string temp_dir;
    double write_seconds = 0;  // time taken to write (encode) the synthetic files

    /// "16000 Hz mono wav" or "44100 Hz 2-channel mp3" (synthetic workloads).
    [[nodiscard]] std::string format_text() const {
        return std::to_string(spec.sample_rate_hz) + " Hz " +
               (spec.channels == 1 ? std::string("mono") : std::to_string(spec.channels) + "-channel") + " " +
               (in_memory ? "PCM" : to_string(spec.format));
    }

    [[nodiscard]] int count() const { return in_memory ? spec.files : static_cast<int>(files.size()); }

    /// The worker spec's share of inputs.
    void describe(const std::vector<int>& indices, json& spec_json) const {
        if (in_memory) {
            spec_json["synthetic"] = {{"seconds", spec.seconds},
                                      {"files", spec.files},
                                      {"sample_rate_hz", spec.sample_rate_hz},
                                      {"channels", spec.channels},
                                      {"seed", spec.seed}};
            spec_json["indices"] = indices;
        } else {
            json list = json::array();
            for (int i : indices) list.push_back(files[static_cast<std::size_t>(i)]);
            spec_json["inputs"] = list;
        }
    }

    /// Shares for P processes: the largest inputs first, each to the process with the least so far.
    [[nodiscard]] std::vector<std::vector<int>> shares(int processes) const {
        std::vector<int> order(static_cast<std::size_t>(count()));
        std::iota(order.begin(), order.end(), 0);
        auto size_of = [&](int i) -> std::uintmax_t { return in_memory ? 1 : sizes[static_cast<std::size_t>(i)]; };
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return size_of(a) > size_of(b); });
        std::vector<std::vector<int>> out(static_cast<std::size_t>(processes));
        std::vector<std::uintmax_t> load(static_cast<std::size_t>(processes), 0);
        for (int i : order) {
            const auto k = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
            out[k].push_back(i);
            load[k] += size_of(i);
        }
        for (auto& s : out) std::sort(s.begin(), s.end());
        return out;
    }
};

struct Context {
    std::string exe;
    std::string model;
    bool naive_model_per_thread = false;
    WorkerEnvironment env;
    Workload workload;
    ModelFacts model_facts;
    bool have_model_facts = false;
};

/// The processes of one point: one worker, or P workers for the multi-process engine.
class EngineGroup {
public:
    EngineGroup(const Point& p, Context& ctx) : multi_(p.engine == "multiproc") {
        const int processes = multi_ ? p.processes : 1;
        const auto shares = ctx.workload.shares(processes);
        for (const auto& share : shares) {
            json spec{{"engine", multi_ ? "arpipe" : p.engine},
                      {"model", ctx.model},
                      {"threads", multi_ ? 1 : p.threads},
                      {"intra_op", p.intra_op},
                      {"batch", p.batch},
                      {"tokens", p.tokens},
                      {"model_per_thread", p.engine == "naive" && ctx.naive_model_per_thread}};
            ctx.workload.describe(share, spec);
            procs_.push_back(std::make_unique<WorkerProcess>(ctx.exe, spec.dump(), ctx.env));
        }
        for (auto& w : procs_) {
            const json ready = w->receive();
            if (!ctx.have_model_facts && ready.contains("model")) {
                const json& m = ready["model"];
                ctx.model_facts = ModelFacts{m.value("path", ""),          m.value("name", ""),
                                             m.value("input_kind", ""),    m.value("output_kind", ""),
                                             m.value("segment_seconds", 0.0), m.value("hop_seconds", 0.0)};
                ctx.have_model_facts = true;
            }
        }
    }

    Sample run_once() {
        for (auto& w : procs_) w->send('g');
        std::vector<json> results;
        for (auto& w : procs_) results.push_back(w->receive());
        Sample s;
        // Field by field, the sums over the worker processes; alike in shape with report.cpp's to_json(Sample),
        // which writes the same fields.
        double first_start = results.front().at("t_start").get<double>(), last_end = 0;
        for (const json& r : results) {
            s.cpu_s += r.at("cpu_s").get<double>();
            s.audio_s += r.at("audio_s").get<double>();
            s.segments += r.at("segments").get<std::int64_t>();
            s.events += r.at("events").get<std::int64_t>();
            s.tokens += r.at("tokens").get<std::int64_t>();
            s.files_ok += r.at("files_ok").get<int>();
            s.files_failed += r.at("files_failed").get<int>();
            s.peak_rss_mib += r.at("peak_rss_mib").get<double>();
            s.rss_mib += r.at("rss_mib").get<double>();
            s.threads_seen += r.at("threads_seen").get<int>();
            const json& st = r.at("stage_s");
            s.input_s += st.at("input").get<double>();
            s.decode_s += st.at("decode").get<double>();
            s.features_s += st.at("features").get<double>();
            s.infer_s += st.at("infer").get<double>();
            s.output_s += st.at("output").get<double>();
            for (double v : r.at("token_features_s")) s.token_features_s.push_back(v);
            for (double v : r.at("token_infer_s")) s.token_infer_s.push_back(v);
            s.token_limit += r.at("token_limit").get<int>();
            s.max_live_tokens += r.at("max_live_tokens").get<int>();
            first_start = std::min(first_start, r.at("t_start").get<double>());
            last_end = std::max(last_end, r.at("t_end").get<double>());
        }
        // One process: its own clock around the run. Several: from the first process's start to the last
        // one's end, on the monotonic clock they share (pipe and JSON latency excluded, as for one process).
        s.wall_s = multi_ ? last_end - first_start : results.front().at("wall_s").get<double>();
        return s;
    }

private:
    bool multi_;
    std::vector<std::unique_ptr<WorkerProcess>> procs_;
};

std::vector<int> default_threads(int cores) {
    std::set<int> t;
    if (cores <= 4) {
        for (int i = 1; i <= 2 * cores; ++i) t.insert(i);
    } else {
        for (int i = 1; i <= cores; i *= 2) t.insert(i);
        t.insert(cores);
        t.insert(cores + cores / 2);
        t.insert(2 * cores);
    }
    return {t.begin(), t.end()};
}

std::vector<int> default_intra(int cores) {
    std::set<int> t;
    for (int i = 1; i < cores; i *= 2) t.insert(i);
    t.insert(cores);
    return {t.begin(), t.end()};
}

std::vector<int> default_tokens(int threads) {
    std::set<int> t{1, threads, threads + 1, 2 * threads, 2 * threads + 2, 4 * threads + 4};
    return {t.begin(), t.end()};
}

bool wanted(const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

std::string first_line_of(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) {
            const auto colon = line.find(':');
            std::string v = colon == std::string::npos ? line : line.substr(colon + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    }
    return "";
}

std::string loadavg() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

/// How many cores' worth of CPU this process gets right now: the same busy loop on 1 thread, then on `cores`
/// threads at once; `cores` when each of them runs as fast as the one did alone. On a shared VM whose other
/// vCPU is taken by a neighbour, a 2-thread run cannot be twice as fast as a 1-thread run, and this says so.
double parallel_capacity(int cores) {
    auto spin = [] {
        const auto t0 = Clock::now();
        volatile double x = 0;
        for (int i = 0; i < 60'000'000; ++i) x = x + i * 0.5;
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    double alone = spin();
    alone = std::min(alone, spin());
    std::vector<double> each(static_cast<std::size_t>(cores));
    std::vector<std::thread> threads;
    for (int t = 0; t < cores; ++t) threads.emplace_back([&, t] { each[static_cast<std::size_t>(t)] = spin(); });
    for (auto& t : threads) t.join();
    const double slowest = *std::max_element(each.begin(), each.end());
    return slowest > 0 ? cores * alone / slowest : 0.0;
}

json host_json(int cores, const std::string& loadavg_at_start) {
    utsname u{};
    ::uname(&u);
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return json{{"usable_cores", usable_cores()},
                {"planned_cores", cores},
                {"online_cpus", static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN))},
                {"cpu_model", first_line_of("/proc/cpuinfo", "model name")},
                {"kernel", std::string(u.sysname) + " " + u.release},
                {"memory", first_line_of("/proc/meminfo", "MemTotal")},
                {"date_utc", date},
                {"loadavg_at_start", loadavg_at_start},
                // Scheduling priority of the bench (see BENCH_PRIORITY in tools/bench/full_sweep.sh).
                {"nice", ::getpriority(PRIO_PROCESS, 0)},
                {"autogroup", first_line_of("/proc/self/autogroup", "/")}};
}

std::string resolve_model(const std::string& requested) {
    if (!requested.empty()) return requested;
    const std::string tagger = default_model_path();
    std::error_code ec;
    if (fs::is_regular_file(tagger, ec)) return tagger;
    const fs::path silero = fs::path(tagger).parent_path() / "silero_vad.pt";
    if (fs::is_regular_file(silero, ec)) return silero.string();
    return tagger;
}

/// Removes the synthetic files at scope exit unless asked to keep them.
struct TempDirGuard {
    std::string path;
    bool keep = false;
    ~TempDirGuard() {
        if (path.empty() || keep) return;
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void print_point(std::ostream& log, int index, int total, const Point& p, const Summary& s) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "[%3d/%d] %-8s %-30s %8.3f s %8.1fx  cpu %5.1f%%  rss %7.1f MiB  threads %3d\n",
                  index, total, p.experiment.c_str(), p.label().c_str(), s.wall_s, s.throughput_x, 100.0 * s.cpu_util,
                  s.peak_rss_mib, s.threads_seen);
    log << buf << std::flush;
}

/// Fills in the defaults that depend on `cores` and --quick, sorts the lists, and rejects what cannot run.
void complete_options(Options& o, int cores) {
    if (o.repeats == 0) o.repeats = o.quick ? 1 : 5;
    if (o.pairs == 0) o.pairs = o.quick ? 1 : 7;
    if (o.threads.empty()) o.threads = o.quick ? std::vector<int>{1, cores} : default_threads(cores);
    if (o.intra_op.empty()) o.intra_op = o.quick ? std::vector<int>{1, cores} : default_intra(cores);
    if (o.batches.empty()) o.batches = {1, 2, 4, 8, 16};
    if (o.tokens.empty()) o.tokens = default_tokens(cores);
    if (o.engines.empty()) o.engines = {"arpipe", "naive", "multiproc"};
    if (o.experiments.empty())
        o.experiments = o.quick ? std::vector<std::string>{"scaling", "paired"}
                                : std::vector<std::string>{"scaling", "batch", "tokens", "paired"};
    for (auto* list : {&o.threads, &o.intra_op, &o.batches, &o.tokens}) {
        std::sort(list->begin(), list->end());
        list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    for (const auto& e : o.engines)
        if (e != "arpipe" && e != "naive" && e != "multiproc")
            throw UsageError("--engines: " + e + " is not one of arpipe, naive, multiproc");
    for (const auto& e : o.experiments)
        if (e != "scaling" && e != "batch" && e != "tokens" && e != "paired")
            throw UsageError("--experiments: " + e + " is not one of scaling, batch, tokens, paired");
    if (!o.inputs.empty()) {
        const char* synthetic_flag = o.in_memory                   ? "--in-memory"
                                     : o.synthetic_seconds > 0      ? "--synthetic"
                                     : o.synthetic_files > 0        ? "--synthetic-files"
                                     : o.synthetic_rate_hz > 0      ? "--synthetic-rate"
                                     : !o.synthetic_format.empty()  ? "--synthetic-format"
                                     : o.synthetic_channels > 0     ? "--synthetic-channels"
                                                                    : nullptr;
        if (synthetic_flag != nullptr)
            throw UsageError(std::string("give input files or ") + synthetic_flag +
                             " (a synthetic workload), not both");
    }
}

/// The targets file (--targets, else data/bench/targets.json); a file that is missing or wrong is a usage error.
TargetSpecs load_targets(const Options& o) {
    try {
        return TargetSpecs::load(o.targets.empty() ? default_targets_path() : o.targets);
    } catch (const std::runtime_error& e) {
        throw UsageError(e.what());
    }
}

/// The workload: synthetic audio (written into a temporary folder that `temp` owns, unless it stays in
/// memory) or the user's files.
void prepare_workload(const Options& o, Workload& w, TempDirGuard& temp, std::ostream& log) {
    if (o.inputs.empty()) {
        w.synthetic = true;
        w.in_memory = o.in_memory;
        w.spec.seconds = o.synthetic_seconds > 0 ? o.synthetic_seconds : (o.quick ? 20.0 : 120.0);
        w.spec.files = o.synthetic_files > 0 ? o.synthetic_files : (o.quick ? 8 : 48);
        w.spec.sample_rate_hz = o.synthetic_rate_hz > 0 ? o.synthetic_rate_hz : 16000;
        w.spec.channels = o.synthetic_channels > 0 ? o.synthetic_channels : 1;
        if (!o.synthetic_format.empty() && !parse_synthetic_format(o.synthetic_format, &w.spec.format))
            throw UsageError("--synthetic-format " + o.synthetic_format + " is not one of wav, flac, mp3, opus");
        if (const std::string problem = check_synthetic(w.spec, w.in_memory); !problem.empty())
            throw UsageError(problem);
        if (!w.in_memory) {
            std::string tmpl = (fs::temp_directory_path() / "arpipe-bench-XXXXXX").string();
            if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("cannot make a temporary folder");
            temp.path = w.temp_dir = tmpl;
            if (!o.quiet)
                log << "arpipe-bench: writing " << w.spec.files << " files of " << w.format_text() << " into "
                    << w.temp_dir << '\n';
            const auto t_write = Clock::now();
            w.files = write_synthetic(w.spec, w.temp_dir);
            w.write_seconds = std::chrono::duration<double>(Clock::now() - t_write).count();
        }
    } else {
        w.synthetic = false;
        for (const Input& in : expand_paths(o.inputs)) {
            if (!in.problem.empty()) throw UsageError(in.name + ": " + in.problem);
            w.files.push_back(in.name);
        }
        if (w.files.empty()) throw UsageError("no audio files among the inputs");
    }
    for (const auto& f : w.files) {
        std::error_code ec;
        w.sizes.push_back(fs::file_size(f, ec));
    }
}

/// What to measure: points measured one after another, and the paired experiment's points, measured
/// together in rounds.
struct Plan {
    std::vector<Point> points;
    std::vector<Point> paired;
};

Plan make_plan(const Options& o, int cores, int n_inputs) {
    Plan plan;
    auto add = [&](std::string experiment, std::string engine, int threads, int intra, int batch, int tokens) {
        Point p;
        p.experiment = std::move(experiment);
        p.engine = std::move(engine);
        p.threads = threads;
        p.intra_op = p.engine == "naive" ? intra : 1;
        p.processes = p.engine == "multiproc" ? threads : 1;
        p.batch = batch;
        p.tokens = tokens;
        plan.points.push_back(std::move(p));
    };
    if (wanted(o.experiments, "scaling")) {
        for (int t : o.threads) {
            if (wanted(o.engines, "arpipe")) add("scaling", "arpipe", t, 1, o.batch, 0);
            if (wanted(o.engines, "naive"))
                for (int i : o.intra_op) add("scaling", "naive", t, i, o.batch, 0);
            if (wanted(o.engines, "multiproc") && t <= n_inputs) add("scaling", "multiproc", t, 1, o.batch, 0);
        }
    }
    if (wanted(o.experiments, "batch") && wanted(o.engines, "arpipe"))
        for (int b : o.batches) add("batch", "arpipe", cores, 1, b, 0);
    if (wanted(o.experiments, "tokens") && wanted(o.engines, "arpipe"))
        for (int k : o.tokens) add("tokens", "arpipe", cores, 1, o.batch, k);
    if (wanted(o.experiments, "paired")) {
        auto add_paired = [&](const std::string& engine, int threads, int intra) {
            Point p;
            p.experiment = "paired";
            p.engine = engine;
            p.threads = threads;
            p.intra_op = intra;
            p.processes = engine == "multiproc" ? threads : 1;
            p.batch = o.batch;
            plan.paired.push_back(p);
        };
        add_paired("arpipe", 1, 1);
        if (cores > 1) add_paired("arpipe", cores, 1);
        if (wanted(o.engines, "multiproc") && cores <= n_inputs) add_paired("multiproc", cores, 1);
        if (wanted(o.engines, "naive")) {
            add_paired("naive", cores, cores);
            if (cores > 1) add_paired("naive", cores, 1);
        }
    }
    return plan;
}

void print_plan(std::ostream& log, const Options& o, int cores, const Context& ctx, const Plan& plan) {
    const Workload& w = ctx.workload;
    const int n_inputs = w.count();
    log << "arpipe-bench: " << cores << " cores, model " << ctx.model << ", workload "
        << (w.synthetic ? "synthetic " + std::to_string(w.spec.seconds) + " s of " + w.format_text() + " in " +
                              std::to_string(n_inputs) + " files" +
                              (w.in_memory ? " (in memory)" : " (" + w.temp_dir + ")")
                        : std::to_string(n_inputs) + " files")
        << "; " << plan.points.size() << " points x " << o.repeats << " runs"
        << (plan.paired.empty() ? "" : ", paired: " + std::to_string(plan.paired.size()) + " engines x " +
                                           std::to_string(o.pairs) + " rounds")
        << '\n';
    if (!ctx.env.removed().empty()) log << "arpipe-bench: removed from the workers' environment:";
    for (const auto& r : ctx.env.removed()) log << ' ' << r;
    if (!ctx.env.removed().empty()) log << '\n';
}

/// The points with their samples, in the order they were measured, and the host around the measurements.
struct Measured {
    std::vector<Point> points;
    double bench_seconds = 0;
    std::string loadavg_at_start, loadavg_at_end;
    double capacity_at_start = 0, capacity_at_end = 0;  // see parallel_capacity
};

Measured measure(Plan plan, Context& ctx, const Options& o, int cores, std::ostream& log) {
    Measured m;
    const auto t_begin = Clock::now();
    m.loadavg_at_start = loadavg();
    m.capacity_at_start = parallel_capacity(cores);
    if (!o.quiet)
        log << "arpipe-bench: host capacity: " << cores << " busy threads ran at " << m.capacity_at_start
            << " cores' worth (a shared host gives less than " << cores << ")\n";
    const int total = static_cast<int>(plan.points.size() + plan.paired.size());
    int done = 0;
    for (Point& p : plan.points) {
        p.loadavg = loadavg();
        {
            EngineGroup group(p, ctx);
            for (int r = 0; r < o.repeats; ++r) p.samples.push_back(group.run_once());
        }
        m.points.push_back(p);
        if (!o.quiet) print_point(log, ++done, total, p, summarize(p, cores));
    }
    if (!plan.paired.empty()) {
        // All engines of the paired experiment stay loaded; each round runs each once, back to back, so
        // the ratios compare runs taken seconds apart.
        std::vector<Point>& paired = plan.paired;
        for (Point& p : paired) p.loadavg = loadavg();
        std::vector<std::unique_ptr<EngineGroup>> groups;
        for (const Point& p : paired) groups.push_back(std::make_unique<EngineGroup>(p, ctx));
        for (int r = 0; r < o.pairs; ++r)
            for (std::size_t g = 0; g < groups.size(); ++g) paired[g].samples.push_back(groups[g]->run_once());
        groups.clear();
        for (const Point& p : paired) {
            m.points.push_back(p);
            if (!o.quiet) print_point(log, ++done, total, p, summarize(p, cores));
        }
    }
    m.bench_seconds = std::chrono::duration<double>(Clock::now() - t_begin).count();
    m.loadavg_at_end = loadavg();
    m.capacity_at_end = parallel_capacity(cores);
    return m;
}

/// What the measurements say: per-point summaries, the targets, the recommendation, and bench.json.
struct Report {
    std::vector<Summary> summaries;
    json targets, recommendation;
    std::set<std::int64_t> event_counts;  // one value when every engine emitted the same events
    json doc;                             // bench.json
};

json points_json(const std::vector<Point>& points, const std::vector<Summary>& summaries) {
    json pts = json::array();
    for (std::size_t i = 0; i < points.size(); ++i) {
        const Point& p = points[i];
        json samples = json::array();
        for (const Sample& s : p.samples) samples.push_back(to_json(s));
        pts.push_back({{"experiment", p.experiment},
                       {"engine", p.engine},
                       {"threads", p.threads},
                       {"intra_op", p.intra_op},
                       {"processes", p.processes},
                       {"batch", p.batch},
                       {"tokens", p.tokens},
                       {"label", p.label()},
                       {"loadavg_at_start", p.loadavg},
                       {"median", to_json(summaries[i])},
                       {"samples", samples}});
    }
    return pts;
}

json workload_json(const Workload& w, const std::vector<Point>& points) {
    json doc = {{"kind", w.synthetic ? "synthetic" : "files"},
                {"inputs", w.count()},
                {"in_memory", w.in_memory},
                {"audio_seconds", points.empty() ? 0.0 : points.front().samples.front().audio_s}};
    std::uintmax_t bytes = 0;
    for (auto b : w.sizes) bytes += b == static_cast<std::uintmax_t>(-1) ? 0 : b;
    doc["bytes"] = bytes;  // on disk, all files together (0 in memory)
    if (w.synthetic) {
        // In memory the audio is float PCM handed to the engine (arpipe::Input::pcm), whatever the format.
        doc["format"] = w.in_memory ? "pcm" : to_string(w.spec.format);
        doc["sample_rate_hz"] = w.spec.sample_rate_hz;
        doc["channels"] = w.spec.channels;
        doc["synthetic"] = {{"seconds", w.spec.seconds},
                            {"files", w.spec.files},
                            {"format", to_string(w.spec.format)},
                            {"sample_rate_hz", w.spec.sample_rate_hz},
                            {"channels", w.spec.channels},
                            {"seed", w.spec.seed},
                            {"write_seconds", w.write_seconds}};
    }
    return doc;
}

Report make_report(const Measured& m, const Context& ctx, const Options& o, int cores, const TargetSpecs& specs) {
    Report r;
    const std::vector<Point>& points = m.points;
    for (const Point& p : points) r.summaries.push_back(summarize(p, cores));
    add_relative_figures(points, r.summaries, cores);
    r.targets = evaluate_targets(points, cores, ctx.model_facts, specs);
    r.recommendation = recommend(points, r.summaries, cores);
    for (const Point& p : points)
        for (const Sample& s : p.samples) r.event_counts.insert(s.events);

    json& doc = r.doc;
    doc["arpipe_version"] = version_string();
    doc["command"] = o.command_line;
    doc["host"] = host_json(cores, m.loadavg_at_start);
    doc["host"]["loadavg_at_end"] = m.loadavg_at_end;
    // Cores' worth of CPU a busy loop got on `cores` threads, before and after the measurements.
    doc["host"]["parallel_capacity_at_start"] = m.capacity_at_start;
    doc["host"]["parallel_capacity_at_end"] = m.capacity_at_end;
    doc["bench_seconds"] = m.bench_seconds;
    doc["model"] = {{"path", ctx.model_facts.path},
                    {"name", ctx.model_facts.name},
                    {"input_kind", ctx.model_facts.input_kind},
                    {"output_kind", ctx.model_facts.output_kind},
                    {"segment_seconds", ctx.model_facts.segment_seconds},
                    {"hop_seconds", ctx.model_facts.hop_seconds}};
    doc["workload"] = workload_json(ctx.workload, points);
    doc["settings"] = {{"cores", cores},         {"repeats", o.repeats}, {"pairs", o.pairs},
                       {"batch", o.batch},       {"threads", o.threads}, {"intra_op", o.intra_op},
                       {"batches", o.batches},   {"tokens", o.tokens},   {"engines", o.engines},
                       {"experiments", o.experiments},
                       {"naive_model_per_thread", o.naive_model_per_thread},
                       {"worker_env_removed", ctx.env.removed()}};
    doc["events_agree"] = r.event_counts.size() <= 1;
    doc["event_counts"] = r.event_counts;
    doc["points"] = points_json(points, r.summaries);
    doc["targets"] = r.targets;
    doc["recommendation"] = r.recommendation;
    return r;
}

/// bench.csv and bench.json in the output folder.
struct ResultFiles {
    std::string csv, json;
    explicit ResultFiles(const std::string& out_dir)
        : csv((fs::path(out_dir) / "bench.csv").string()), json((fs::path(out_dir) / "bench.json").string()) {}
};

/// Writes both files, each through a temporary file renamed when complete. Returns false, with the reason
/// on stderr, when they cannot be written.
bool write_results(const Options& o, const ResultFiles& files, const Measured& m, const Report& r) {
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    {
        std::ofstream csv(files.csv + ".tmp", std::ios::trunc);
        csv << csv_header();
        for (std::size_t i = 0; i < m.points.size(); ++i) csv << csv_row(m.points[i], r.summaries[i]);
        std::ofstream js(files.json + ".tmp", std::ios::trunc);
        js << r.doc.dump(1) << '\n';
        if (!csv || !js) {
            std::cerr << "arpipe-bench: cannot write the results to " << o.out_dir << '\n';
            return false;
        }
    }
    fs::rename(files.csv + ".tmp", files.csv, ec);
    if (!ec) fs::rename(files.json + ".tmp", files.json, ec);
    if (ec) {
        std::cerr << "arpipe-bench: cannot write the results to " << o.out_dir << ": " << ec.message() << '\n';
        return false;
    }
    return true;
}

/// The summary on stdout: targets, Amdahl's bound, host capacity, the recommendation, where the results are.
void print_summary(std::ostream& out, const Options& o, int cores, const Measured& m, const Report& r,
                   const ResultFiles& files, const Workload& w) {
    out << "targets (medians of " << o.pairs << " paired rounds, " << cores << " cores):\n";
    for (const json& t : r.targets) {
        if (t.value("informational", false)) continue;
        char buf[512];
        std::snprintf(buf, sizeof buf, "  %-4s %-24s %8.3f  goal %-10s  %s\n", t["met"].get<bool>() ? "ok" : "MISS",
                      t["name"].get<std::string>().c_str(), t["measured"].get<double>(),
                      t["goal"].get<std::string>().c_str(), t["what"].get<std::string>().c_str());
        out << buf;
    }
    for (const json& t : r.targets) {
        if (t.value("name", "") != "amdahl_16") continue;
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "Amdahl bound at %d cores from measured stage times: %.1fx (serial share %.1f%%) — an "
                      "estimate\n",
                      t["cores"].get<int>(), t["measured"].get<double>(), 100.0 * t["serial_share"].get<double>());
        out << buf;
    }
    out << "host capacity: " << cores << " busy threads ran at " << m.capacity_at_start
        << " cores' worth before the runs and " << m.capacity_at_end << " after (scaling above that is not possible)\n";
    out << "recommendation for this host: " << r.recommendation["command"].get<std::string>() << '\n';
    if (r.event_counts.size() > 1) out << "warning: the engines did not all produce the same number of events\n";
    out << "results: " << files.csv << ", " << files.json << " (" << static_cast<int>(m.bench_seconds) << " s)\n";
    if (o.keep_workload && !w.temp_dir.empty()) out << "workload kept in " << w.temp_dir << '\n';
}

}  // namespace

int run(Options o, std::ostream& log) {
    std::signal(SIGPIPE, SIG_IGN);  // a worker that dies must not take the driver with it
    try {
        // ---- plan ------------------------------------------------------------------------------------------
        const int cores = o.cores > 0 ? o.cores : usable_cores();
        complete_options(o, cores);
        Context ctx;
        ctx.exe = self_exe();
        ctx.model = resolve_model(o.model);
        ctx.naive_model_per_thread = o.naive_model_per_thread;
        if (std::error_code ec; !fs::is_regular_file(ctx.model, ec))
            throw UsageError("model file not found: " + ctx.model);
        const TargetSpecs specs = load_targets(o);
        // Said now rather than after the measurements: run in the build folder, the default out-dir
        // (arpipe-bench) is this program's own file.
        if (std::error_code ec; fs::exists(o.out_dir, ec) && !fs::is_directory(o.out_dir, ec))
            throw UsageError("--out-dir " + o.out_dir + " exists and is not a folder");
        TempDirGuard temp;
        temp.keep = o.keep_workload;
        prepare_workload(o, ctx.workload, temp, log);
        Plan plan = make_plan(o, cores, ctx.workload.count());
        if (!o.quiet) print_plan(log, o, cores, ctx, plan);

        // ---- measure, report, write ------------------------------------------------------------------------
        const Measured measured = measure(std::move(plan), ctx, o, cores, log);
        const Report report = make_report(measured, ctx, o, cores, specs);
        const ResultFiles files(o.out_dir);
        if (!write_results(o, files, measured, report)) return 3;
        print_summary(std::cout, o, cores, measured, report, files, ctx.workload);
        return 0;
    } catch (const UsageError& e) {
        std::cerr << "arpipe-bench: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "arpipe-bench: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace arpipe::bench
