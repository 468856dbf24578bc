// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `arpipe-bench --worker SPEC`: one engine configuration in a process of its own. Protocol on stdin/stdout:
//   worker -> {"type": "ready", ...}          after loading and one warm-up run
//   driver -> 'g'                             run the workload once
//   worker -> {"type": "result", ...}         one line of measurements
//   driver -> 'q' or end of file              exit
// Nothing else is written to stdout.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "arpipe/engine.h"
#include "bench/bench.h"
#include "bench/measure.h"
#include "bench/naive_engine.h"
#include "bench/results.h"
#include "bench/workload.h"

namespace arpipe::bench {
namespace {

using nlohmann::json;

class CountingSink final : public Sink {
public:
    void on_event(const Event&) override { ++events; }
    void on_transcript(const Transcript&) override { ++events; }  // a ctc model's records, counted alike
    void on_summary(const FileSummary&) override {}
    void on_error(const FileError& e) override {
        if (first_error.empty()) first_error = e.file + ": " + e.message;
    }
    std::int64_t events = 0;
    std::string first_error;
};

/// One engine behind one call, so the measuring loop is the same for both.
class Runner {
public:
    virtual ~Runner() = default;
    virtual RunStats run(const std::vector<Input>& inputs, std::int64_t* events, RunDiagnostics* diagnostics) = 0;
    [[nodiscard]] virtual const ModelInfo& model() const = 0;
};

class ArpipeRunner final : public Runner {
public:
    ArpipeRunner(const std::string& model, const ParallelConfig& threads) : threads_(threads) {
        Config config;
        config.model_path = model;
        config.parallel = threads;
        auto loaded = Engine::load(config);
        if (!loaded.engine) throw std::runtime_error(loaded.error);
        engine_ = loaded.engine;
    }
    RunStats run(const std::vector<Input>& inputs, std::int64_t* events, RunDiagnostics* diagnostics) override {
        CountingSink sink;
        RunOptions options;
        options.parallel = threads_;
        options.diagnostics = diagnostics;
        RunStats stats = engine_->run(inputs, sink, options);
        *events = sink.events;
        return stats;
    }
    [[nodiscard]] const ModelInfo& model() const override { return engine_->model(); }

private:
    ParallelConfig threads_;
    std::shared_ptr<const Engine> engine_;
};

class NaiveRunner final : public Runner {
public:
    explicit NaiveRunner(const NaiveConfig& config) : engine_(config) {}
    RunStats run(const std::vector<Input>& inputs, std::int64_t* events, RunDiagnostics* diagnostics) override {
        return engine_.run(inputs, events, diagnostics);
    }
    [[nodiscard]] const ModelInfo& model() const override { return engine_.model(); }

private:
    NaiveEngine engine_;
};

void say(const json& message) { std::cout << message.dump() << std::endl; }

json measure(Runner& runner, const std::vector<Input>& inputs) {
    Sample s;
    std::int64_t events = 0;
    const double cpu0 = process_cpu_seconds();
    ThreadSampler sampler;
    const auto t0 = std::chrono::steady_clock::now();
    RunDiagnostics diag;
    const RunStats st = runner.run(inputs, &events, &diag);
    const auto t1 = std::chrono::steady_clock::now();
    s.wall_s = std::chrono::duration<double>(t1 - t0).count();
    s.threads_seen = sampler.stop();
    s.cpu_s = process_cpu_seconds() - cpu0;
    s.audio_s = st.audio_seconds;
    s.segments = st.segments;
    s.events = events;
    s.tokens = st.tokens;
    s.files_ok = static_cast<int>(st.files_ok);
    s.files_failed = static_cast<int>(st.files_failed);
    s.peak_rss_mib = peak_rss_mib();
    s.rss_mib = current_rss_mib();
    s.input_s = st.stage.input_seconds;  // 0 for the naive engine: its threads open and decode the inputs
    s.decode_s = st.stage.decode_seconds;
    s.features_s = st.stage.features_seconds;
    s.infer_s = st.stage.infer_seconds;
    s.output_s = st.stage.output_seconds;
    s.token_limit = st.token_limit;
    s.max_live_tokens = st.max_live_tokens;
    json j = to_json(s);
    j["type"] = "result";
    j["wall_s"] = s.wall_s;  // unrounded: the driver sums and divides
    j["cpu_s"] = s.cpu_s;
    // steady_clock is CLOCK_MONOTONIC, one clock for every process: the driver spans several workers with it.
    j["t_start"] = std::chrono::duration<double>(t0.time_since_epoch()).count();
    j["t_end"] = std::chrono::duration<double>(t1.time_since_epoch()).count();
    j["token_features_s"] = diag.token_seconds_features;
    j["token_infer_s"] = diag.token_seconds_infer;
    return j;
}

}  // namespace

int run_worker(const std::string& spec_text) {
    try {
        const json spec = json::parse(spec_text);
        const std::string engine = spec.at("engine");
        const std::string model = spec.at("model");
        const int threads = spec.at("threads");
        const int batch = spec.at("batch");
        std::vector<Input> inputs;
        if (spec.contains("synthetic")) {
            const json& sy = spec["synthetic"];
            SyntheticSpec sp;
            sp.seconds = sy.at("seconds");
            sp.files = sy.at("files");
            sp.sample_rate_hz = sy.at("sample_rate_hz");
            sp.channels = sy.value("channels", 1);
            sp.seed = sy.at("seed");
            inputs = synthetic_inputs(sp, spec.at("indices").get<std::vector<int>>());
        } else {
            for (const auto& p : spec.at("inputs")) inputs.push_back(Input::file(p.get<std::string>()));
        }
        if (inputs.empty()) throw std::runtime_error("the worker has no inputs");

        const auto t0 = std::chrono::steady_clock::now();
        std::unique_ptr<Runner> runner;
        if (engine == "naive") {
            NaiveConfig c;
            c.model_path = model;
            c.threads = threads;
            c.intra_op_threads = spec.at("intra_op");
            c.batch = batch;
            c.model_per_thread = spec.value("model_per_thread", false);
            runner = std::make_unique<NaiveRunner>(c);
        } else {
            ParallelConfig tc;
            tc.threads = threads;
            tc.tokens = spec.value("tokens", 0);
            tc.batch = batch;
            runner = std::make_unique<ArpipeRunner>(model, tc);
        }
        const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        // Warm-up, with the same threads, so that pools exist, TorchScript has specialised and the allocator
        // has its arenas before anything is timed, on every thread: a token is one ~30 s chunk of an input,
        // so one short input would keep all but one thread idle and leave the others' first model call
        // (and their per-thread state) to the first timed run. Two inputs per thread, or all there are.
        std::int64_t ignored = 0;
        const auto n_warm = std::min(inputs.size(), static_cast<std::size_t>(2 * std::max(1, threads)));
        const std::vector<Input> warm_inputs(inputs.begin(), inputs.begin() + static_cast<std::ptrdiff_t>(n_warm));
        const RunStats warm = runner->run(warm_inputs, &ignored, nullptr);
        if (warm.files_failed > 0)
            throw std::runtime_error("the warm-up run failed on " + std::to_string(warm.files_failed) + " of its " +
                                     std::to_string(n_warm) + " inputs (the workload's first, from " +
                                     inputs.front().name + ")");

        const ModelInfo& m = runner->model();
        say({{"type", "ready"},
             {"pid", ::getpid()},
             {"load_s", load_s},
             {"threads_after_warmup", thread_count()},
             {"model", {{"path", m.path},
                        {"name", m.name},
                        {"input_kind", to_string(m.input_kind)},
                        {"output_kind", to_string(m.output_kind)},
                        {"sample_rate_hz", m.sample_rate_hz},
                        {"segment_seconds", m.segment_seconds},
                        {"hop_seconds", m.hop_seconds}}}});
        for (;;) {
            char c = 0;
            const ssize_t got = ::read(STDIN_FILENO, &c, 1);
            if (got != 1 || c != 'g') return 0;
            say(measure(*runner, inputs));
        }
    } catch (const std::exception& e) {
        say({{"type", "error"}, {"message", e.what()}});
        return 2;
    }
}

}  // namespace arpipe::bench
