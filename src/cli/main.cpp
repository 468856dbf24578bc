// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The `arpipe` command: parse flags -> Config -> Engine -> writer. Nothing here knows about threads,
// tensors or DSP.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <tuple>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "arpipe/engine.h"
#include "arpipe/version.h"
#include "merge.h"
#include "mpi.h"
#include "output.h"
#include "progress.h"
#include "resume.h"
#include "shard.h"

#ifdef ARPIPE_WITH_JEMALLOC
// jemalloc's compiled-in options for the CLI (MALLOC_CONF in the environment still overrides them).
// Two arenas instead of 4 x CPUs, and dirty pages returned after 1 s instead of 10 s: tokens are pooled, so
// little is allocated per segment and sharing arenas costs nothing measurable, while fewer arenas and faster
// decay cut peak and mean RSS (docs/memory.md has the measurements). No background thread: it would be a
// thread outside the TBB arena.
extern "C" const char* malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";
#endif

namespace {

// Exit codes, documented in README.md and `arpipe --help`.
constexpr int kExitOk = 0;           // every input processed
constexpr int kExitSomeFailed = 1;   // at least one input got an error record
constexpr int kExitUsage = 2;        // bad flags, bad config, or the model could not be loaded
constexpr int kExitOutput = 3;       // the records could not all be written (or the reader closed the pipe)
constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM/SIGHUP: stopped early, completed records were kept

std::atomic<bool> g_stop{false};     // the run's cancel flag: a signal, or the output failing
std::atomic<bool> g_signalled{false};

extern "C" void on_signal(int) {
    if (g_signalled.exchange(true)) {  // a second signal: leave at once, leaving no temporary file
        arpipe::cli::remove_temporary_output_now();
        _exit(kExitInterrupted);
    }
    g_stop.store(true);
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

const char* kExitCodesHelp =
    "Exit codes: 0 all inputs processed; 1 some inputs failed (each has an error record), or there was nothing "
    "to process; 2 usage, config or model error; 3 the records could not all be written (a message says why; a "
    "reader that closes the pipe early ends the run quietly with 3); 130 interrupted (SIGINT/SIGTERM/SIGHUP).";

/// Forwards records to the writer and stops the run as soon as the output fails: after a write error no
/// later record could be delivered, so analysing more audio would only lose it.
class WatchedWriter final : public arpipe::Sink {
public:
    /// `flush_each`: flush after every record (a live stream's records are wanted as soon as they exist), not
    /// only after each input's terminal record.
    WatchedWriter(arpipe::Sink& writer, arpipe::cli::Output& output, bool flush_each = false)
        : writer_(writer), output_(output), flush_each_(flush_each) {}
    void on_event(const arpipe::Event& e) override {
        writer_.on_event(e);
        flush();
    }
    void on_summary(const arpipe::FileSummary& s) override {
        writer_.on_summary(s);  // the writers flush after each terminal record
        output_.input_done();   // a journal's fsync policy
        check();
    }
    void on_error(const arpipe::FileError& e) override {
        writer_.on_error(e);
        output_.input_done();
        check();
        // srt, vtt and txt have no place for an error: it goes to stderr, so that it is not lost.
        if (errors_to_stderr_ && e.code != arpipe::ErrorCode::cancelled)
            std::fprintf(stderr, "arpipe: %s: error: %s: %s\n", e.file.c_str(), std::string(arpipe::to_string(e.code)).c_str(),
                         e.message.c_str());
    }
    /// Makes on_error also print the error on stderr (for the formats that cannot hold one).
    void errors_to_stderr(bool on) { errors_to_stderr_ = on; }
    void on_progress(const arpipe::Progress& p) override { writer_.on_progress(p); }
    void on_scores(const arpipe::Scores& s) override {
        writer_.on_scores(s);
        flush();
    }
    void on_transcript(const arpipe::Transcript& t) override {
        writer_.on_transcript(t);
        flush();
    }
    void on_finish() override { writer_.on_finish(); }

private:
    void check() {
        if (output_.error() != 0) g_stop.store(true);
    }
    void flush() {
        if (!flush_each_) return;
        output_.stream().flush();
        check();
    }
    arpipe::Sink& writer_;
    arpipe::cli::Output& output_;
    bool flush_each_;
    bool errors_to_stderr_ = false;
};

/// Why a run of `format` with a model of `info` over `inputs` inputs cannot be done, or empty: srt, vtt and
/// txt hold transcripts only, so they need a ctc model, and they hold one input's transcripts (a subtitle
/// file belongs to one recording); more than one input is refused rather than mixed into one file.
std::string check_transcript_format(arpipe::OutputFormat format, const arpipe::ModelInfo& info, std::size_t inputs) {
    if (!arpipe::transcript_only(format)) return {};
    const std::string name = format == arpipe::OutputFormat::srt ? "srt" : format == arpipe::OutputFormat::vtt ? "vtt" : "txt";
    if (info.output_kind != arpipe::OutputKind::ctc)
        return "-f " + name + " writes transcripts, and the model " + info.path + " has output kind \"" +
               std::string(arpipe::to_string(info.output_kind)) + "\", not \"ctc\" (use -f jsonl, csv or table)";
    if (inputs != 1)
        return "-f " + name + " holds the transcript of one input, and this run has " + std::to_string(inputs) +
               " inputs; run once per input (e.g. for f in *.wav; do arpipe run -f " + name + " -o \"${f%.*}." + name +
               "\" \"$f\"; done), or use -f jsonl or csv for many";
    return {};
}

/// What `arpipe run` was asked to do. Engine settings are bound straight to `config`; the rest is the CLI's.
struct RunFlags {
    arpipe::Config config;
    std::vector<std::string> inputs;
    std::string files_from;
    arpipe::OutputFormat format = arpipe::OutputFormat::jsonl;
    std::string out;
    bool resume = false;  // --resume: --out through its journal FILE.partial (src/cli/resume.h)
    bool quiet = false;
    int verbose = 0;
    bool memory_report = false;
    bool scores = false;
    std::string memory_csv;
    int memory_interval_ms = 200;
    arpipe::cli::ShardFlags shard;  // --shard, --shard-count (src/cli/shard.h)
    std::string stdin_name = "-";   // --name: the `file` of standard input's records
    bool mpi = false;               // --mpi: one rank of an MPI job (src/cli/mpi.h)
    std::string lexicon_file;       // --lexicon: read into config.post.lexicon by finish_config
    std::string lm_file;            // --lm: read into config.post.language_model by finish_config
};

std::shared_ptr<spdlog::logger> make_cli_logger() {
    auto logger = spdlog::stderr_color_mt("arpipe-cli");
    logger->set_pattern("arpipe: %^%l%$: %v");
    return logger;
}

/// Binds `--flag` to a numeric Config field. The range check and the range shown in --help come from the
/// library's table (`arpipe::setting_range`), the one `Config::validate()` uses.
template <typename T>
CLI::Option* add_setting(CLI::App* app, const std::string& flags, T& field, const char* setting, const std::string& help) {
    const arpipe::SettingRange* range = arpipe::setting_range(setting);
    CLI::Option* option = app->add_option(flags, field, help)->capture_default_str();
    if (range == nullptr) return option;
    option->check(CLI::Validator(
        [range](std::string& text) -> std::string {
            char* end = nullptr;
            const double value = std::strtod(text.c_str(), &end);
            if (end == text.c_str() || *end != '\0') return "not a number: " + text;
            return range->contains(value) ? std::string() : text + " is not in " + range->text();
        },
        range->text(), setting));
    return option;
}

/// Binds `--flag` to `field` through `parse` (text to arpipe::ParseResult); a refusal is a usage error with the
/// parser's message.
template <typename T, typename Parse>
CLI::Option* add_parsed(CLI::App* app, const std::string& flags, T& field, Parse parse, const std::string& help) {
    const std::string name = flags.substr(flags.rfind(',') + 1);
    return app->add_option_function<std::string>(
        flags,
        [&field, parse, name](const std::string& text) {
            auto parsed = parse(text);
            if (!parsed) throw CLI::ValidationError(name, parsed.error);
            field = *parsed.value;
        },
        help);
}

/// --max-memory: "auto" (-1), "none" or "0" (0), or a byte count with an optional binary suffix (512M, 8G,
/// 1.5GiB, 4096) within the library's range for max_memory_bytes.
arpipe::ParseResult<std::int64_t> parse_size(const std::string& text) {
    const std::string refused = "\"" + text + "\" is not a size like 512M, 8G, auto or none";
    if (text == "auto") return {-1, {}};
    if (text == "none") return {0, {}};
    char* end = nullptr;
    const double number = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || !(number >= 0)) return {std::nullopt, refused};
    std::string unit(end);
    if (unit.size() >= 2 && (unit.substr(1) == "iB" || unit.substr(1) == "B")) unit.resize(1);
    double scale = 1;
    if (unit == "K" || unit == "k") scale = 1024.0;
    else if (unit == "M" || unit == "m") scale = 1024.0 * 1024;
    else if (unit == "G" || unit == "g") scale = 1024.0 * 1024 * 1024;
    else if (unit == "T" || unit == "t") scale = 1024.0 * 1024 * 1024 * 1024;
    else if (!unit.empty() && unit != "B") return {std::nullopt, refused};
    const double bytes = number * scale;
    if (!arpipe::setting_range("max_memory_bytes")->contains(bytes)) return {std::nullopt, refused};
    return {static_cast<std::int64_t>(bytes), {}};
}

/// Reads a lexicon file: one word per line, surrounding spaces and a trailing CR ignored, empty lines and
/// lines starting with '#' skipped. Empty with `why` set when it cannot (naming the file and line).
std::vector<std::string> read_lexicon(const std::string& path, std::string& why) {
    std::ifstream in(path);
    if (!in) {
        why = "--lexicon " + path + ": cannot read it: " + std::strerror(errno);
        return {};
    }
    std::vector<std::string> words;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        const std::string word = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        if (word.find_first_of(" \t") != std::string::npos) {
            why = "--lexicon " + path + ":" + std::to_string(number) + ": \"" + word + "\" is not one word (one word per line)";
            return {};
        }
        words.push_back(word);
    }
    if (in.bad()) why = "--lexicon " + path + ": read error";
    else if (words.empty()) why = "--lexicon " + path + ": the file has no words";
    return why.empty() ? words : std::vector<std::string>{};
}

/// Completes the config from the flags that are not plain settings; false (after logging why) when it cannot.
bool finish_config(RunFlags& f, const std::shared_ptr<spdlog::logger>& logger) {
    arpipe::Config& c = f.config;
    if (!f.lexicon_file.empty()) {
        std::string why;
        c.post.lexicon = read_lexicon(f.lexicon_file, why);
        if (!why.empty()) {
            logger->error("{}", why);
            return false;
        }
    }
    if (!f.lm_file.empty()) {
        std::ifstream in(f.lm_file, std::ios::binary);
        std::ostringstream text;
        if (in) text << in.rdbuf();
        if (!in || in.bad()) {
            logger->error("--lm {}: cannot read it: {}", f.lm_file, std::strerror(errno));
            return false;
        }
        c.post.language_model = text.str();
        if (c.post.language_model.empty()) {
            logger->error("--lm {}: the file is empty", f.lm_file);
            return false;
        }
    }
    c.log_level = f.verbose >= 2 ? arpipe::LogLevel::debug : f.verbose == 1 ? arpipe::LogLevel::info : arpipe::LogLevel::warn;
    if (f.quiet) c.log_level = arpipe::LogLevel::error;
    c.log = [logger](arpipe::LogLevel level, const std::string& msg) {
        static constexpr spdlog::level::level_enum map[] = {spdlog::level::debug, spdlog::level::info,
                                                             spdlog::level::warn, spdlog::level::err};
        logger->log(map[static_cast<int>(level)], msg);
    };
    return true;
}

/// `arpipe run -`: standard input through a stream (Engine::run_pipe), each record written and flushed as
/// soon as it is final.
int cmd_run_stdin(RunFlags& f, const std::shared_ptr<spdlog::logger>& logger) {
    if (f.inputs.size() != 1 || !f.files_from.empty() || !f.shard.spec.empty() || f.resume || f.mpi) {
        logger->error("'-' (standard input) must be the only input: no other inputs, --files-from, --shard, --resume "
                      "or --mpi with it");
        return kExitUsage;
    }
    if (std::string why = arpipe::cli::check_output_path("--out", f.out, {}, f.memory_csv); !why.empty()) {
        logger->error("{}", why);
        return kExitUsage;
    }
    auto loaded = arpipe::Engine::load(f.config);
    if (!loaded.engine) {
        logger->error("{}", loaded.error);
        return kExitUsage;
    }
    std::string why;
    std::unique_ptr<arpipe::cli::Output> output =
        f.out.empty() ? arpipe::cli::Output::to_stdout() : arpipe::cli::Output::to_file(f.out, &why);
    if (!output) {
        logger->error("{}", why);
        return kExitOutput;
    }
    if (std::string why = check_transcript_format(f.format, loaded.engine->model(), 1); !why.empty()) {
        logger->error("{}", why);
        return kExitUsage;
    }
    auto writer = f.scores ? arpipe::make_writer(f.format, output->stream(), loaded.engine->model().labels)
                           : arpipe::make_writer(f.format, output->stream());
    WatchedWriter watched(*writer, *output, /*flush_each=*/true);
    watched.errors_to_stderr(arpipe::transcript_only(f.format));
    install_signal_handlers();
    arpipe::PipeOptions options;
    options.stream.name = f.stdin_name;
    options.stream.scores = f.scores;
    options.cancel = &g_stop;
    const arpipe::RunStats stats = loaded.engine->run_pipe(STDIN_FILENO, watched, options);
    if (std::string failed = output->commit(); !failed.empty()) {
        if (!output->reader_gone()) logger->error("cannot write {}: {}", output->name(), failed);
        return kExitOutput;
    }
    if (!f.quiet)
        std::fprintf(stderr, "arpipe: %s: %.1f s of audio in %.2f s\n", f.stdin_name.c_str(), stats.audio_seconds,
                     stats.wall_seconds);
    if (stats.cancelled) return kExitInterrupted;
    return stats.files_failed == 0 ? kExitOk : kExitSomeFailed;
}

int cmd_run(RunFlags& f) {
    auto logger = make_cli_logger();
    if (!finish_config(f, logger)) return kExitUsage;
    if (std::find(f.inputs.begin(), f.inputs.end(), "-") != f.inputs.end()) return cmd_run_stdin(f, logger);
    if (f.resume && f.out.empty()) {
        logger->error("--resume needs --out FILE: the journal FILE.partial is kept beside it");
        return kExitUsage;
    }
    if (f.resume && f.format != arpipe::OutputFormat::jsonl && f.format != arpipe::OutputFormat::csv) {
        logger->error("--resume needs -f jsonl or -f csv: the journal is read back, and only those formats have a "
                      "record that ends each input");
        return kExitUsage;
    }
    const arpipe::Config& config = f.config;
    const auto given = arpipe::cli::gather_paths(f.inputs, f.files_from,
                                                 "no inputs: give files or directories, or --files-from LIST", *logger);
    if (!given) return kExitUsage;
    const std::vector<std::string>& paths = *given;
    if (f.mpi) {
        if (!f.shard.spec.empty()) {
            logger->error("--mpi and --shard do not go together: --mpi hands the inputs out to its ranks itself");
            return kExitUsage;
        }
        if (f.format != arpipe::OutputFormat::jsonl && f.format != arpipe::OutputFormat::csv) {
            logger->error("--mpi needs -f jsonl or -f csv: rank 0 puts each input's records in their place, and "
                          "only those formats have a record that ends each input");
            return kExitUsage;
        }
        if (f.memory_report || !f.memory_csv.empty())
            logger->warn("--mpi: --memory-report and --memory-csv are not supported across ranks and are ignored");
        arpipe::cli::MpiJob job;
        job.config = config;
        job.paths = paths;
        job.format = f.format;
        job.scores = f.scores;
        job.resume = f.resume;
        job.quiet = f.quiet;
        job.out = f.out;
        job.cancel = &g_stop;
        install_signal_handlers();
        if (const std::optional<int> code = arpipe::cli::run_mpi(job)) return *code;
    }
    const auto shard = arpipe::cli::resolve_shard(f.shard, [](const char* name) { return std::getenv(name); });
    if (!shard) {
        logger->error("{}", shard.error);
        return kExitUsage;
    }

    auto loaded = arpipe::Engine::load(config);
    if (!loaded.engine) {
        logger->error("{}", loaded.error);
        return kExitUsage;
    }
    arpipe::ExpandReport walked;
    const std::vector<arpipe::Input> inputs = arpipe::expand_paths(paths, &walked);
    arpipe::cli::report_walk(walked, *logger);
    if (inputs.empty()) {
        logger->error("nothing to process: the inputs hold no audio files");
        return kExitSomeFailed;
    }
    if (std::string why = check_transcript_format(f.format, loaded.engine->model(), inputs.size()); !why.empty()) {
        logger->error("{}", why);
        return kExitUsage;
    }

    // Refuse outputs that would overwrite an input or each other, before anything is written.
    std::vector<std::string> input_names = paths;
    for (const arpipe::Input& in : inputs) input_names.push_back(in.name);
    for (const auto& [flag, path, other] : {std::tuple{"--out", f.out, f.memory_csv}, std::tuple{"--memory-csv", f.memory_csv, f.out}}) {
        if (std::string why = arpipe::cli::check_output_path(flag, path, input_names, other); !why.empty()) {
            logger->error("{}", why);
            return kExitUsage;
        }
    }
    const std::string journal = f.out.empty() ? std::string() : arpipe::cli::journal_path(f.out);
    if (f.resume) {
        struct stat st {};
        if (::stat(f.out.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
            logger->error("--resume needs --out to name a regular file, and {} is not one", f.out);
            return kExitUsage;
        }
        if (std::string why = arpipe::cli::check_output_path("--out", journal, input_names, f.memory_csv); !why.empty()) {
            logger->error("{} (the journal of --resume)", why);
            return kExitUsage;
        }
    } else if (!journal.empty() && ::access(journal.c_str(), F_OK) == 0) {
        // Left by an interrupted --resume run: this run does not use it, and does not remove it either.
        logger->warn("{} exists (the journal of an interrupted --resume run); this run ignores it and leaves it; "
                     "run with --resume to continue it, or remove it",
                     journal);
    }

    // --shard: this task's part of the list, in list order (src/cli/shard.h).
    std::vector<arpipe::Input> mine =
        *shard.value ? arpipe::cli::take_shard(inputs, **shard.value, config, *logger) : inputs;
    std::unique_ptr<arpipe::cli::Output> output;
    std::size_t resumed = 0, resumed_failed = 0;  // inputs the journal already holds
    if (f.resume) {
        std::string header;  // what the writer writes before any record
        {
            std::ostringstream probe;
            auto w = f.scores ? arpipe::make_writer(f.format, probe, loaded.engine->model().labels)
                              : arpipe::make_writer(f.format, probe);
            header = probe.str();
        }
        arpipe::cli::Journal j = arpipe::cli::open_journal(f.out, f.format == arpipe::OutputFormat::csv, header, mine);
        if (!j.output) {
            logger->error("{}", j.error);
            return j.exit_code;
        }
        if (j.dropped_bytes > 0)
            logger->info("{}: cut {} byte(s) after its last complete input (a torn record, an input that did not "
                         "finish, or the `cancelled` records of an interrupted run)",
                         journal, j.dropped_bytes);
        if (!f.quiet && j.done > 0)
            std::fprintf(stderr, "arpipe: resuming %s: %zu of %zu input(s) already done\n", journal.c_str(), j.done, mine.size());
        output = std::move(j.output);
        resumed = j.done;
        resumed_failed = j.failed;
        mine.erase(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(resumed));
    } else if (f.out.empty()) {
        output = arpipe::cli::Output::to_stdout();
    } else {
        std::string why;
        output = arpipe::cli::Output::to_file(f.out, &why);
        if (!output) {
            logger->error("{}", why);
            return kExitOutput;
        }
    }
    auto writer = f.scores ? arpipe::make_writer(f.format, output->stream(), loaded.engine->model().labels)
                           : arpipe::make_writer(f.format, output->stream());
    WatchedWriter watched(*writer, *output);
    watched.errors_to_stderr(arpipe::transcript_only(f.format));
    arpipe::cli::ProgressSink progress(watched, !f.quiet && isatty(STDERR_FILENO) != 0);
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> csv(nullptr, &std::fclose);
    std::optional<arpipe::cli::MemorySampler> sampler;
    if (!f.memory_csv.empty()) {
        csv.reset(std::fopen(f.memory_csv.c_str(), "w"));
        if (!csv) {
            logger->error("cannot write {}: {}", f.memory_csv, std::strerror(errno));
            return kExitOutput;
        }
        sampler.emplace(progress, csv.get(), f.memory_interval_ms);
    }
    arpipe::Sink& sink = sampler ? static_cast<arpipe::Sink&>(*sampler) : progress;

    install_signal_handlers();
    arpipe::RunOptions options;
    options.cancel = &g_stop;
    options.scores = f.scores;
    const arpipe::RunStats stats = loaded.engine->run(mine, sink, options);
    std::string memory_csv_error;  // reported after the records are safe: the CSV is a by-product
    if (csv) {
        // The sampler wrote its last row at on_finish; a full disk shows up only now, in the stream's error
        // flag or at the close that flushes what is left.
        std::FILE* file = csv.release();
        const bool write_failed = std::ferror(file) != 0;
        const bool close_failed = std::fclose(file) != 0;
        if (write_failed || close_failed)
            memory_csv_error = close_failed ? std::strerror(errno) : "a write failed";
    }

    if (f.resume && stats.cancelled) {
        // The journal stays, so that --resume continues from its last complete input.
        if (std::string why = output->sync(); !why.empty()) {
            logger->error("cannot write {}: {}", output->name(), why);
            return kExitOutput;
        }
    } else if (std::string why = output->commit(); !why.empty()) {
        // A reader that closed the pipe (`| head`) wanted no more: stop quietly. Anything else is an error.
        if (!output->reader_gone()) logger->error("cannot write {}: {}", output->name(), why);
        return kExitOutput;
    }
    if (!memory_csv_error.empty()) {
        logger->error("cannot write {}: {}", f.memory_csv, memory_csv_error);
        return kExitOutput;
    }
    if (!f.quiet) {
        const double speed = stats.wall_seconds > 0 ? stats.audio_seconds / stats.wall_seconds : 0.0;
        std::fprintf(stderr, "arpipe: %zu ok, %zu failed, %.1f s of audio in %.2f s (%.1fx real time, %d threads)\n",
                     stats.files_ok, stats.files_failed, stats.audio_seconds, stats.wall_seconds, speed, stats.threads);
    }
    if (f.memory_report) {
        const arpipe::MemoryStats m = arpipe::memory_stats();
        std::fprintf(stderr, "arpipe: memory: rss %.1f MB (anonymous %.1f MB), peak rss %.1f MB", m.rss_mb, m.anon_rss_mb,
                     m.peak_rss_mb);
        if (m.jemalloc)
            std::fprintf(stderr, "; jemalloc allocated %.1f MB, active %.1f MB, resident %.1f MB, mapped %.1f MB", m.allocated_mb,
                         m.active_mb, m.resident_mb, m.mapped_mb);
        std::fputc('\n', stderr);
    }
    if (stats.cancelled) {
        std::fprintf(stderr, "arpipe: interrupted; %zu input(s) not processed:\n", progress.not_processed().size());
        for (const auto& name : progress.not_processed()) std::fprintf(stderr, "  %s\n", name.c_str());
        if (f.resume)
            std::fprintf(stderr, "arpipe: the journal %s keeps the completed inputs; run again with --resume to continue\n",
                         journal.c_str());
        return kExitInterrupted;
    }
    return stats.files_failed + resumed_failed == 0 ? kExitOk : kExitSomeFailed;
}

int cmd_info(const std::string& model_path, bool as_json) {
    auto logger = make_cli_logger();
    arpipe::Config config;
    config.model_path = model_path;
    config.parallel.batch = 1;
    auto loaded = arpipe::Engine::load(config);
    if (!loaded.engine) {
        logger->error("{}", loaded.error);
        return kExitUsage;
    }
    const arpipe::ModelInfo& m = loaded.engine->model();
    if (as_json) {
        std::cout << nlohmann::json::parse(m.description_json).dump(2) << '\n';
        return kExitOk;
    }
    std::cout << "model        " << m.path << '\n'
              << "name         " << m.name << (m.description.empty() ? "" : " - " + m.description) << '\n'
              << "sample rate  " << m.sample_rate_hz << " Hz\n"
              << "input        " << arpipe::to_string(m.input_kind);
    if (m.input_kind == arpipe::InputKind::log_mel)
        std::cout << " (n_fft " << m.n_fft << ", win " << m.win_length << ", hop " << m.hop_length << ", " << m.n_mels
                  << " mels " << m.f_min_hz << "-" << m.f_max_hz << " Hz, " << arpipe::to_string(m.mel_scale) << " scale, norm "
                  << arpipe::to_string(m.mel_norm) << ", power " << m.power << ", log offset " << m.log_offset << ")";
    std::cout << '\n'
              << "segment      " << m.segment_seconds << " s, hop " << m.hop_seconds << " s\n"
              << "output       " << arpipe::to_string(m.output_kind);
    if (m.output_kind == arpipe::OutputKind::ctc) {
        std::cout << " (frame hop " << m.frame_hop_seconds << " s, scores " << arpipe::to_string(m.ctc_scores) << ", blank "
                  << m.blank << " \"" << m.labels[static_cast<std::size_t>(m.blank)] << "\", word separator "
                  << (m.word_separator.empty() ? std::string("none") : "\"" + m.word_separator + "\"") << ")\n"
                  << "tokens       ";
    } else {
        if (m.output_kind == arpipe::OutputKind::frames) std::cout << " (frame hop " << m.frame_hop_seconds << " s)";
        std::cout << ", activation " << arpipe::to_string(m.activation) << '\n' << "labels       ";
    }
    for (std::size_t i = 0; i < m.labels.size(); ++i) std::cout << (i ? ", " : "") << m.labels[i];
    std::cout << '\n';
    if (m.output_kind == arpipe::OutputKind::ctc) {
        std::cout << "lexicon      ";
        if (m.lexicon.empty()) {
            std::cout << "none (greedy decoding unless --lexicon FILE)\n";
        } else {
            std::cout << m.lexicon.size() << " words, word penalty " << m.word_penalty
                      << " (decoded with them unless --decoding greedy):";
            for (std::size_t i = 0; i < std::min<std::size_t>(m.lexicon.size(), 12); ++i) std::cout << ' ' << m.lexicon[i];
            std::cout << (m.lexicon.size() > 12 ? " ...\n" : "\n");
        }
        std::cout << "language     ";
        if (m.language_model.empty()) {
            std::cout << "none (lexicon decoding without one unless --lm FILE)\n";
        } else {
            const auto& size = m.language_model_size;
            std::cout << (size.bigrams > 0 ? "bigram" : "unigram") << " model, " << size.unigrams << " unigrams, "
                      << size.bigrams << " bigrams, weight " << m.lm_weight;
            if (size.lexicon_words_missing > 0) std::cout << " (" << size.lexicon_words_missing << " lexicon words not in it)";
            std::cout << '\n';
        }
    }
    return kExitOk;
}

}  // namespace

/// Ends the process once a command is done, without static destructors: tearing down LibTorch's operator
/// registry alone took ~70 ms per run here (docs/performance.md, "Start-up"), and every record has been
/// written, flushed and (with --out) renamed by then. Sanitizer builds return normally so that LeakSanitizer
/// still runs at exit.
static int exit_now(int code) {
    std::cout.flush();
    std::cerr.flush();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return code;
#else
    std::fflush(nullptr);
    std::_Exit(code);
#endif
}

int main(int argc, char** argv) {
    // Writes to a closed pipe fail with EPIPE instead of killing the process, so the run can end on its own
    // terms (Output::reader_gone).
    std::signal(SIGPIPE, SIG_IGN);
    // Likewise a file-size limit (ulimit -f): the write fails with EFBIG and is reported, instead of the
    // process being killed.
    std::signal(SIGXFSZ, SIG_IGN);
    // A standard descriptor the caller closed (`>&-`) is held by /dev/null opened read-only, so that no file
    // the run opens can take its number and receive records; writes to it then fail (EBADF) and are reported.
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        if (::fcntl(fd, F_GETFD) != -1) continue;
        const int held = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (held >= 0 && held != fd) {
            ::dup2(held, fd);
            ::close(held);
        }
    }
    CLI::App app{"arpipe: audio files to timestamped tags with a TorchScript model.\n"
                 "Decode -> features -> inference -> events, in one TBB pipeline.",
                 "arpipe"};
    app.footer(kExitCodesHelp);
    app.set_version_flag("--version", std::string("arpipe ") + arpipe::version_string());
    app.require_subcommand(1);

    RunFlags f;
    CLI::App* run = app.add_subcommand("run", "Tag audio files; records stream to stdout (or --out) as they are ready.");
    run->footer(kExitCodesHelp);
    arpipe::Config& c = f.config;
    // One declaration per flag (alike in shape only); numeric engine settings go through add_setting.
    run->add_option("inputs", f.inputs,
                    "Audio files or directories (walked recursively, sorted, audio extensions only), or - alone for "
                    "standard input, read as it arrives (WAV, FLAC, Ogg; raw PCM with --raw-format), each record "
                    "written as soon as it is final");
    run->add_option("--name", f.stdin_name, "The file name the records of standard input (-) carry")->capture_default_str();
    run->add_option("--files-from", f.files_from, "Read input paths from LIST, one per line ('-' = stdin)");
    run->add_option("-m,--model", c.model_path, "TorchScript model with an arpipe.json description (default: the bundled tagger, or $ARPIPE_MODEL)");
    add_parsed(run, "-f,--format", f.format, arpipe::parse_output_format,
               "Output format: jsonl (one JSON object per line), csv, table, audacity (a label track), rttm (NIST RTTM); "
               "for ctc models also srt (SubRip), vtt (WebVTT) or txt (one line per utterance), which hold the "
               "transcripts of one input (input errors go to stderr)")
        ->default_str("jsonl");
    run->add_option("-o,--out", f.out, "Write records to FILE instead of stdout; FILE appears (or is replaced) only when the run is complete");
    run->add_flag("--resume", f.resume,
                  "With --out FILE: write through a journal, FILE.partial, kept when the run is interrupted or killed; "
                  "run again with --resume to do only the inputs it does not hold yet (jsonl and csv only)");
    add_setting(run, "-j,--threads", c.parallel.threads, "parallel.threads", "Worker threads (TBB arena size); 0 = all hardware threads");
    add_setting(run, "--tokens", c.parallel.tokens, "parallel.tokens", "Chunks in flight at once (bounds memory); 0 = 2 x threads + 2");
    add_setting(run, "--batch", c.parallel.batch, "parallel.batch", "Segments per model call");
    add_setting(run, "--chunk-seconds", c.decode.chunk_seconds, "decode.chunk_seconds",
                "Audio per chunk: long inputs are cut into chunks that threads decode at once (memory grows with "
                "chunk x tokens)");
    add_setting(run, "--top-k", c.post.top_k, "post.top_k", "Labels kept per segment or frame; 0 = all (multi-label models)");
    add_setting(run, "--threshold", c.post.threshold, "post.threshold", "Score at which an event opens");
    add_setting(run, "--off-threshold", c.post.off_threshold, "post.off_threshold",
                "Score below which an event closes, at most --threshold; -1 = threshold - 0.15");
    add_setting(run, "--min-event", c.post.min_event_seconds, "post.min_event_seconds", "Drop events shorter than this many seconds");
    add_setting(run, "--min-gap", c.post.min_gap_seconds, "post.min_gap_seconds", "Bridge gaps shorter than this many seconds between events of one label");
    add_setting(run, "--utterance-gap", c.post.utterance_gap_seconds, "post.utterance_gap_seconds",
                "ctc models: a pause between words longer than this many seconds ends a transcript record (an utterance)");
    add_parsed(run, "--decoding", c.post.decoding, arpipe::parse_ctc_decoding,
               "ctc models: how frames become words: auto (with the model's lexicon or --lexicon when there is one, "
               "else greedy), greedy (the best token of each frame), lexicon (only words of the lexicon)")
        ->default_str("auto");
    add_setting(run, "--word-penalty", c.post.word_penalty, "post.word_penalty",
                "ctc models, lexicon decoding: nats taken off a path's score per word (higher: fewer, longer words); "
                "-1 = the model's own (arpipe info)");
    add_setting(run, "--lm-weight", c.post.lm_weight, "post.lm_weight",
                "ctc models, lexicon decoding: weight of the word language model (the model's own or --lm); 0 = "
                "none; -1 = the model's own (arpipe info)");
    add_setting(run, "--beam-width", c.post.beam_width, "post.beam_width",
                "ctc models, lexicon decoding: paths kept per frame (higher: slower, fewer search errors)");
    run->add_option("--lm", f.lm_file,
                    "ctc models, lexicon decoding: a word language model in ARPA format (unigram or bigram) to use "
                    "instead of the model's own");
    run->add_option("--lexicon", f.lexicon_file,
                    "ctc models: decode with the words of FILE only (one per line, # comments), instead of the "
                    "model's own lexicon (arpipe info shows whether it has one)");
    add_parsed(run, "--max-memory", c.max_memory_bytes, parse_size,
               "Cap on the memory the model's tensors may hold at once (e.g. 4G, 512M): a model that asks for more on "
               "some input fails that input (model_output) instead of the whole run; auto = 3/4 of the machine's "
               "memory or cgroup limit, none = no cap")
        ->default_str("auto");
    add_parsed(run, "--raw-format", c.raw_format, arpipe::parse_raw_format,
               "Read .raw/.pcm files, and standard input (-), as headerless PCM ENCODING:RATE:CHANNELS (s16le, "
               "s32le, f32le, u8), e.g. s16le:16000:1");
    run->add_flag("--scores", f.scores,
                  "Also write every window's (or frame's) scores for all labels, after the activation and before "
                  "--top-k: JSONL {\"type\":\"scores\",...}, CSV one column per label, table one line per step");
    run->add_flag("-q,--quiet", f.quiet, "No progress line, no closing summary, errors only");
    run->add_flag("-v,--verbose", f.verbose, "More log messages on stderr (-vv for debug)");
    run->add_flag("--memory-report", f.memory_report, "At the end, print RSS, peak RSS and jemalloc's allocated/active/resident/mapped figures to stderr");
    run->add_option("--memory-csv", f.memory_csv, "Sample memory over the run into a CSV file (wall time, audio time, RSS, jemalloc figures)");
    run->add_option("--memory-interval", f.memory_interval_ms, "Milliseconds between --memory-csv samples")->capture_default_str()->check(CLI::Range(1, 600000));
    arpipe::cli::add_shard_flags(run, f.shard);
    run->add_flag("--mpi", f.mpi,
                  std::string("Run as one rank of `mpirun -np P arpipe run --mpi ...`: rank 0 hands the inputs out to "
                              "ranks 1..P-1 as they ask (longest first) and writes one output in input order, the "
                              "bytes of a plain run (jsonl and csv; --resume works with it)") +
                      (arpipe::cli::mpi_built() ? "" : " [this build has no Open MPI]"));

    std::string info_model;
    bool info_json = false;
    CLI::App* info = app.add_subcommand("info", "Show what a model expects and emits (its arpipe.json)");
    info->add_option("model", info_model, "Model file (default: the bundled tagger)");
    info->add_flag("--json", info_json, "Print the raw arpipe.json");
    arpipe::cli::PlanCommand plan(app);
    arpipe::cli::MergeCommand merge(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? kExitOk : kExitUsage;
    }
    if (run->parsed()) return exit_now(cmd_run(f));
    if (info->parsed()) return exit_now(cmd_info(info_model, info_json));
    if (plan.parsed()) return exit_now(plan.run());
    if (merge.parsed()) return exit_now(merge.run());
    return kExitUsage;
}
