// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// A host program with LibTorch thread settings of its own, for Config::keep_host_threading: it links the
// shared libarpipe through the public API (as a host does) and LibTorch and TBB (to set and read their
// thread state), tags its inputs, writes JSON Lines records to stdout and, with --report, one line of the
// process's thread state after the run to stderr. Each run is a fresh process, so what it reports is what
// this one load and run left behind. Used by tests/integration/test_host_threading.cpp and for the A/B in
// docs/performance.md.
//
//   arpipe_threading_host [--keep-host-threading] [--host-intra-op N] [--caller-arena] [--report] [--stats]
//                         [-j N] [-m MODEL] [-q] INPUTS...
//
//   --keep-host-threading   set Config::keep_host_threading
//   --host-intra-op N       at::set_num_threads(N) on the main thread before the engine is loaded
//   --caller-arena          run inside the host's own tbb::task_arena of -j threads (RunOptions::use_caller_arena)
//   --stats                 print the run's own wall and CPU seconds (RunStats, load excluded) to stderr:
//                           run_wall_seconds=W run_cpu_seconds=C
//   -q                      accepted and ignored (tools/bench/ab_cpu.sh passes it)
//
// The report: main_intra_op (at::get_num_threads() on the main thread after the run), run_intra_op_min/max
// (on the threads that called the sink during the run), new_thread_intra_op (on a std::thread started after
// the run), interop_settable (whether at::set_num_interop_threads(2) still succeeds after the run),
// openblas_before/after (openblas_get_num_threads() before the load and after the run; -1 without OpenBLAS),
// tasks_max (most threads in /proc/self/task seen from the sink).
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <dlfcn.h>
#include <tbb/task_arena.h>

#include <arpipe/engine.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

int openblas_threads() {
    using GetInt = int (*)();
    const auto get = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return get != nullptr ? get() : -1;
}

int task_count() {
    int n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
    return n;
}

/// Forwards every record to the JSON Lines writer and, when sampling, reads the thread state of the thread
/// calling it. Off for measurements: at::get_num_threads() initialises ATen's count on a thread that has not
/// used it yet, which changes what the run would otherwise do on that thread.
class Probe final : public arpipe::Sink {
public:
    Probe(arpipe::Sink& out, bool sample) : out_(out), sample_(sample) {}
    void on_event(const arpipe::Event& e) override { out_.on_event(e); }
    void on_summary(const arpipe::FileSummary& s) override { out_.on_summary(s); }
    void on_error(const arpipe::FileError& e) override { out_.on_error(e); }
    void on_finish() override { out_.on_finish(); }
    void on_progress(const arpipe::Progress& p) override {
        out_.on_progress(p);
        if (!sample_) return;
        const int intra = at::get_num_threads();
        const int tasks = task_count();
        std::lock_guard<std::mutex> lock(mutex_);  // one call at a time anyway; the lock keeps that explicit
        intra_min = std::min(intra_min, intra);
        intra_max = std::max(intra_max, intra);
        tasks_max = std::max(tasks_max, tasks);
    }

    int intra_min = INT_MAX, intra_max = 0, tasks_max = 0;

private:
    arpipe::Sink& out_;
    const bool sample_;
    std::mutex mutex_;
};

int usage() {
    std::cerr << "usage: arpipe_threading_host [--keep-host-threading] [--host-intra-op N] [--caller-arena] "
                 "[--report] [--stats] [-j N] [-m MODEL] [-q] INPUTS...\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    arpipe::Config config;
    bool caller_arena = false, report = false, print_stats = false;
    int host_intra_op = 0;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--keep-host-threading") config.keep_host_threading = true;
        else if (a == "--caller-arena") caller_arena = true;
        else if (a == "--report") report = true;
        else if (a == "--stats") print_stats = true;
        else if (a == "-q") continue;
        else if (a == "--host-intra-op" && has_value) host_intra_op = std::atoi(argv[++i]);
        else if (a == "-j" && has_value) config.parallel.threads = std::atoi(argv[++i]);
        else if (a == "-m" && has_value) config.model_path = argv[++i];
        else if (!a.empty() && a[0] == '-') return usage();
        else paths.push_back(a);
    }
    if (paths.empty()) return usage();

    if (host_intra_op > 0) at::set_num_threads(host_intra_op);
    const int openblas_before = openblas_threads();
    auto loaded = arpipe::Engine::load(config);
    if (!loaded.engine) {
        std::cerr << loaded.error << '\n';
        return 2;
    }
    auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, std::cout);
    Probe probe(*writer, report);
    const std::vector<arpipe::Input> inputs = arpipe::expand_paths(paths);
    arpipe::RunStats stats;
    if (caller_arena) {
        const int threads = config.parallel.threads > 0 ? config.parallel.threads
                                                        : static_cast<int>(std::thread::hardware_concurrency());
        tbb::task_arena arena(threads);
        arpipe::RunOptions options;
        options.use_caller_arena = true;
        arena.execute([&] { stats = loaded.engine->run(inputs, probe, options); });
    } else {
        stats = loaded.engine->run(inputs, probe);
    }

    if (print_stats)
        std::cerr << "run_wall_seconds=" << stats.wall_seconds << " run_cpu_seconds=" << stats.cpu_seconds << '\n';
    if (report) {
        int new_thread_intra_op = 0;
        std::thread([&] { new_thread_intra_op = at::get_num_threads(); }).join();
        const int main_intra_op = at::get_num_threads();
        bool interop_settable = true;
        try {
            at::set_num_interop_threads(2);
        } catch (const c10::Error&) {
            interop_settable = false;
        }
        std::cerr << "main_intra_op=" << main_intra_op << " run_intra_op_min=" << probe.intra_min
                  << " run_intra_op_max=" << probe.intra_max << " new_thread_intra_op=" << new_thread_intra_op
                  << " interop_settable=" << interop_settable << " openblas_before=" << openblas_before
                  << " openblas_after=" << openblas_threads() << " tasks_max=" << probe.tasks_max << '\n';
    }
    return stats.files_failed == 0 ? 0 : 1;
}
