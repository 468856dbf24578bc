// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Loading an engine: config check, model and description, feature plan, warm-up. The pipeline itself is in
// run.cpp.
#include "arpipe/engine.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <dlfcn.h>

#include <fstream>
#include <mutex>
#include <stdexcept>

#include "engine_impl.h"
#include "stages/failure.h"
#include "stages/memory_cap.h"
#include "stages/model_info.h"

namespace arpipe {
namespace {

/// Forwards spdlog records to the host's callback; no global registry is touched.
class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit CallbackSink(LogCallback cb) : cb_(std::move(cb)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        LogLevel level = LogLevel::info;
        if (msg.level <= spdlog::level::debug) level = LogLevel::debug;
        else if (msg.level == spdlog::level::warn) level = LogLevel::warn;
        else if (msg.level >= spdlog::level::err) level = LogLevel::error;
        cb_(level, std::string(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}

private:
    LogCallback cb_;
};

std::shared_ptr<spdlog::logger> make_logger(const Config& config) {
    std::vector<spdlog::sink_ptr> sinks;
    if (config.log) sinks.push_back(std::make_shared<CallbackSink>(config.log));
    auto logger = std::make_shared<spdlog::logger>("arpipe", sinks.begin(), sinks.end());
    static constexpr spdlog::level::level_enum levels[] = {spdlog::level::debug, spdlog::level::info,
                                                            spdlog::level::warn, spdlog::level::err};
    logger->set_level(config.log ? levels[static_cast<int>(config.log_level)] : spdlog::level::off);
    // A callback that throws a std::exception loses that message; spdlog's default handler would then print
    // to stderr itself, and the library never prints.
    logger->set_error_handler([](const std::string&) {});
    return logger;
}

}  // namespace

std::string blas_in_use() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("openblas-pthread") != std::string::npos) return "openblas-pthread";
        if (line.find("openblas-openmp") != std::string::npos) return "openblas-openmp";
        if (line.find("openblas-serial") != std::string::npos) return "openblas-serial";
        if (line.find("/blas/libblas.so") != std::string::npos) return "reference blas";
    }
    return "unknown";
}

namespace {

using BlasGetInt = int (*)();

/// What is wrong with the BLAS the process loaded, for a warning at load; empty when nothing is. Only reads.
std::string blas_problem() {
    const auto get_parallel = reinterpret_cast<BlasGetInt>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    if (get_parallel == nullptr)
        return blas_in_use() == "reference blas"
                   ? "the reference BLAS is loaded; matrix products will be slow: install libopenblas0-pthread"
                   : "";
    if (get_parallel() == 0)
        return "the serial OpenBLAS (libopenblas0-serial) is not safe to call from several threads at once and can give "
               "wrong model outputs with more than one thread: install libopenblas0-pthread";
    return "";  // the OpenMP build follows each thread's OpenMP count, which runs pin to 1 (pin_threads)
}

/// OpenBLAS decides its threads when it is loaded, before any of our code runs. The pthreads build
/// (Debian's libopenblas0-pthread, the one arpipe wants: it is safe to call from many threads at once,
/// unlike libopenblas0-serial) starts a pool of (cores - 1) threads unless OPENBLAS_NUM_THREADS=1 was set
/// before the process started. Bring it down to one thread and stop that pool, through OpenBLAS's own
/// exported functions (looked up at run time: no link dependency on OpenBLAS). Process-wide.
void stop_blas_pool() {
    using SetInt = void (*)(int);
    using Shutdown = int (*)();
    const auto get_parallel = reinterpret_cast<BlasGetInt>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    if (get_parallel == nullptr || get_parallel() != 1) return;
    const auto get_threads = reinterpret_cast<BlasGetInt>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    const auto set_threads = reinterpret_cast<SetInt>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    const auto shutdown = reinterpret_cast<Shutdown>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"));
    if (get_threads != nullptr && set_threads != nullptr && get_threads() > 1) {
        set_threads(1);
        if (shutdown != nullptr) shutdown();
    }
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const ModelInfo& Engine::model() const noexcept { return impl_->model->info(); }
const Config& Engine::config() const noexcept { return impl_->config; }

LoadResult Engine::load(const Config& config) { return load_impl(config, nullptr); }

LoadResult Engine::load(const Config& config, const std::string& model_bytes) { return load_impl(config, &model_bytes); }

LoadResult Engine::load_impl(const Config& config, const std::string* model_bytes) {
    LoadResult result;
    if (std::string why = config.validate(); !why.empty()) {
        result.code = ErrorCode::bad_config;
        result.error = why;
        return result;
    }
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    if (model_bytes != nullptr) {
        if (impl->config.model_path.empty()) impl->config.model_path = "model in memory";
    } else if (impl->config.model_path.empty()) {
        impl->config.model_path = default_model_path();
    }
    impl->log = make_logger(impl->config);
    try {
        // Before LibTorch does any work: its inter-op count can only be set before its pool starts.
        impl->pin_threads();
        // Before the model loads, so that its weights and the warm-up count against the cap too.
        const std::int64_t cap = config.max_memory_bytes < 0 ? default_memory_cap_bytes() : config.max_memory_bytes;
        install_memory_cap(cap);
        impl->log->info("inference memory cap: {}", cap > 0 ? format_bytes(cap) : std::string("none"));
        // A model that raises gets a one-line error record; its whole TorchScript report goes to the debug log.
        std::unique_ptr<Model> model = model_bytes != nullptr ? Model::load_bytes(*model_bytes, impl->config.model_path)
                                                              : Model::load(impl->config.model_path);
        static_cast<PreparedModel&>(*impl) =
            PreparedModel::prepare(std::move(model), config.parallel.batch,
                                   [log = impl->log](const std::string& report) { log->debug("{}", report); });
        const ModelInfo& info = impl->model->info();
        if (std::string why = check_decoding(info, impl->config.post); !why.empty()) {
            result.code = ErrorCode::bad_config;
            result.error = why;
            return result;
        }
        impl->log->info("model {} ({}): {} Hz, {} input, {} output, {} labels, segment {} s / hop {} s", info.name,
                        info.path, info.sample_rate_hz, to_string(info.input_kind), to_string(info.output_kind), info.labels.size(),
                        info.segment_seconds, info.hop_seconds);
        static const std::string blas_warning = blas_problem();
        if (!blas_warning.empty()) impl->log->warn("{}", blas_warning);
        if (!impl->config.keep_host_threading) {
            static std::once_flag blas_once;  // the first load that may touch it, once per process
            std::call_once(blas_once, stop_blas_pool);
        }
    } catch (const Failure& f) {
        result.code = f.code();
        result.error = f.what();
        return result;
    } catch (const std::exception& e) {
        result.code = ErrorCode::bad_model;
        result.error = std::string("cannot load the model: ") + e.what();
        return result;
    }
    result.engine = std::shared_ptr<const Engine>(new Engine(std::move(impl)));
    return result;
}

RunStats Engine::run(const std::vector<Input>& inputs, Sink& sink, const RunOptions& options) const {
    if (options.parallel) {
        // The per-run override gets the same checks as the engine's own settings.
        Config probe;
        probe.parallel = *options.parallel;
        if (std::string why = probe.validate(); !why.empty()) throw std::invalid_argument("RunOptions: " + why);
    }
    return run_pipeline(*impl_, inputs, sink, options);
}

FileResult Engine::process_file(const std::string& path) const {
    class Collect final : public Sink {
    public:
        explicit Collect(FileResult& r) : r_(r) {}
        void on_event(const Event& e) override { r_.events.push_back(e); }
        void on_transcript(const Transcript& t) override { r_.transcripts.push_back(t); }
        void on_summary(const FileSummary& s) override { r_.summary = s; }
        void on_error(const FileError& e) override { r_.error = e; }

    private:
        FileResult& r_;
    };
    FileResult result;
    Collect sink(result);
    [[maybe_unused]] const RunStats stats = run({Input::file(path)}, sink);
    return result;
}

}  // namespace arpipe
