// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "shard.h"

#include <fcntl.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <numeric>
#include <queue>
#include <sstream>
#include <tuple>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "arpipe/result.h"

namespace arpipe::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitOutput = 3;

/// The largest N accepted: a typing slip should not allocate a table of billions of shards.
constexpr std::size_t kMaxShards = 1'000'000;

/// Bytes per second of audio assumed for sizes when no input's header gave a length: 128 kbit/s, a common
/// rate of compressed audio. With any length known, the inputs' own rate is used instead.
constexpr std::int64_t kDefaultBytesPerSecond = 16'000;

/// Bytes read ahead of libsndfile from each file, outside its lock (see read_header_milliseconds): the first
/// page, where a header starts. 64 KiB made 50,000 warm-cache headers take 1.3 s instead of 1.0 s here.
constexpr std::size_t kHeaderPrefetchBytes = 4 * 1024;

/// A whole number in [0, limit], digits only (no sign, no spaces, no suffix).
std::optional<std::size_t> parse_count(const std::string& text, std::size_t limit) {
    if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const std::size_t value = std::stoull(text);
    if (value > limit) return std::nullopt;
    return value;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

/// K and N from "K/N".
ParseResult<std::optional<Shard>> parse_explicit(const std::string& spec) {
    const std::string refused = "--shard " + quoted(spec) + " is not K/N (0 <= K < N <= " + std::to_string(kMaxShards) +
                                ", e.g. 0/8) or auto";
    const std::size_t slash = spec.find('/');
    if (slash == std::string::npos) return {std::nullopt, refused};
    const auto k = parse_count(spec.substr(0, slash), kMaxShards);
    const auto n = parse_count(spec.substr(slash + 1), kMaxShards);
    if (!k || !n || *n == 0 || *k >= *n) return {std::nullopt, refused};
    return {Shard{*k, *n, {}}, {}};
}

/// The value of `name` as a count, when set. `*error` is set when it is set but not a whole number.
std::optional<std::size_t> env_count(const GetEnv& getenv, const char* name, std::string* error) {
    const char* value = getenv(name);
    if (value == nullptr) return std::nullopt;
    const auto n = parse_count(value, std::numeric_limits<std::size_t>::max() / 2);
    if (!n && error->empty()) *error = std::string(name) + "=" + quoted(value) + " is not a whole number";
    return n;
}

std::string var(const char* name, std::size_t value) { return std::string(name) + "=" + std::to_string(value); }

/// N as the user states it: --shard-count, or ARPIPE_SHARD_COUNT (both: they must agree). Nothing when
/// neither is given.
ParseResult<std::optional<std::size_t>> stated_count(const ShardFlags& flags, const GetEnv& getenv) {
    std::string error;
    const auto from_env = env_count(getenv, kShardCountVariable, &error);
    if (!error.empty()) return {std::nullopt, "--shard auto: " + error};
    std::optional<std::size_t> from_flag;
    if (!flags.count.empty()) from_flag = parse_count(flags.count, kMaxShards);
    if (from_flag && from_env && *from_flag != *from_env)
        return {std::nullopt, "--shard auto: --shard-count " + flags.count + " disagrees with " +
                                  var(kShardCountVariable, *from_env)};
    const auto n = from_flag ? from_flag : from_env;
    if (n && (*n == 0 || *n > kMaxShards))
        return {std::nullopt, "--shard auto: " + var(kShardCountVariable, *n) + " is not in [1, " +
                                  std::to_string(kMaxShards) + "]"};
    return {n, {}};
}

/// K and N from a Slurm array. With a stated count (--shard-count, ARPIPE_SHARD_COUNT), the task id is the
/// shard: K = SLURM_ARRAY_TASK_ID, whatever ids the array holds, so that single tasks of an array can be
/// submitted again (`sbatch --array=3`). Without one, the array is the plan: K = SLURM_ARRAY_TASK_ID -
/// SLURM_ARRAY_TASK_MIN (so --array=1-8 works as well as --array=0-7) and N = SLURM_ARRAY_TASK_COUNT, which
/// must equal MAX - MIN + 1: an array with a step or a list of ids (--array=0-15:4, --array=1,5,7) has gaps
/// that no shard number can follow.
ParseResult<std::optional<Shard>> from_slurm(const ShardFlags& flags, const GetEnv& getenv) {
    std::string error;
    const auto id = env_count(getenv, "SLURM_ARRAY_TASK_ID", &error);
    const auto count = env_count(getenv, "SLURM_ARRAY_TASK_COUNT", &error);
    const auto min = env_count(getenv, "SLURM_ARRAY_TASK_MIN", &error);
    const auto max = env_count(getenv, "SLURM_ARRAY_TASK_MAX", &error);
    if (!error.empty()) return {std::nullopt, "--shard auto: " + error};
    const auto stated = stated_count(flags, getenv);
    if (!stated) return {std::nullopt, stated.error};
    if (*stated.value) {
        const std::size_t n = **stated.value;
        const std::string seen = var("SLURM_ARRAY_TASK_ID", *id) + ", " + std::to_string(n) + " shards";
        if (*id >= n)
            return {std::nullopt, "--shard auto: " + var("SLURM_ARRAY_TASK_ID", *id) + " is not below the number of shards, " +
                                      std::to_string(n) + " (with --shard-count or " + kShardCountVariable +
                                      " the task ids are the shard numbers, 0-based: --array=0-" + std::to_string(n - 1) + ")"};
        return {Shard{*id, n, seen}, {}};
    }
    const std::string seen = var("SLURM_ARRAY_TASK_ID", *id) + (count ? ", " + var("SLURM_ARRAY_TASK_COUNT", *count) : "") +
                             (min ? ", " + var("SLURM_ARRAY_TASK_MIN", *min) : "") +
                             (max ? ", " + var("SLURM_ARRAY_TASK_MAX", *max) : "");
    auto refuse = [&](const std::string& why) {
        return ParseResult<std::optional<Shard>>{std::nullopt, "--shard auto: " + why + " (" + seen + ")"};
    };
    if (min.has_value() != max.has_value())
        return refuse("SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX must be set together");
    if (min && *max < *min) return refuse("SLURM_ARRAY_TASK_MAX is below SLURM_ARRAY_TASK_MIN");
    std::size_t n = 0;
    if (min) {
        n = *max - *min + 1;
        if (count && *count != n)
            return refuse("the array's ids are not one contiguous range (SLURM_ARRAY_TASK_COUNT is not MAX - MIN + 1): "
                          "submit it as --array=0-" + std::to_string(*count - 1) + ", or give --shard-count");
    } else if (count) {
        n = *count;
    } else {
        return refuse("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/_MAX");
    }
    const std::size_t first = min.value_or(0);
    if (*id < first || *id - first >= n) return refuse("SLURM_ARRAY_TASK_ID is outside the array");
    if (n > kMaxShards) return refuse("more than " + std::to_string(kMaxShards) + " shards");
    return {Shard{*id - first, n, seen}, {}};
}

/// K from an index variable (Kubernetes, AWS Batch); N must be stated (--shard-count, ARPIPE_SHARD_COUNT).
ParseResult<std::optional<Shard>> from_index(const ShardFlags& flags, const GetEnv& getenv, const char* index_var) {
    std::string error;
    const auto k = env_count(getenv, index_var, &error);
    if (!error.empty()) return {std::nullopt, "--shard auto: " + error};
    const auto stated = stated_count(flags, getenv);
    if (!stated) return {std::nullopt, stated.error};
    if (!*stated.value)
        return {std::nullopt, "--shard auto: " + std::string(index_var) +
                                  " is set, but not the number of shards: give --shard-count N or set " + kShardCountVariable};
    const std::size_t n = **stated.value;
    if (*k >= n)
        return {std::nullopt, "--shard auto: " + var(index_var, *k) + " is not below the number of shards, " + std::to_string(n)};
    return {Shard{*k, n, var(index_var, *k) + ", " + std::to_string(n) + " shards"}, {}};
}

/// A length in whole milliseconds, rounded to nearest: frames * 1000 / rate without overflow.
std::int64_t milliseconds(std::int64_t frames, std::int64_t rate_hz) {
    const __int128 ms = (static_cast<__int128>(frames) * 1000 + rate_hz / 2) / rate_hz;
    return static_cast<std::int64_t>(std::min<__int128>(ms, std::numeric_limits<std::int64_t>::max() / 4));
}

int raw_bytes_per_sample(RawFormat::Encoding e) {
    switch (e) {
        case RawFormat::Encoding::s16le: return 2;
        case RawFormat::Encoding::s32le: return 4;
        case RawFormat::Encoding::f32le: return 4;
        case RawFormat::Encoding::u8: return 1;
    }
    return 2;
}

bool has_raw_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".raw" || ext == ".pcm";
}

/// What one input weighs before the sizes are turned into lengths.
struct Weight {
    std::int64_t milliseconds = -1;  ///< from the header; -1 when it gives none
    std::int64_t bytes = -1;         ///< the file's size; -1 when it has none (not a regular file, not found)
};

/// The audio length the header of the regular file `fd` announces, or -1. libsndfile keeps the error of a
/// failed open in one global that every open writes, so opens are serialised here as in the decoder
/// (src/stages/decode.cpp); the start of the file is read first, outside the lock, so that on a slow
/// filesystem the waiting happens in parallel and libsndfile parses from the page cache.
std::int64_t read_header_milliseconds(int fd) {
    static std::mutex open_mutex;
    char ahead[kHeaderPrefetchBytes];
    if (::pread(fd, ahead, sizeof ahead, 0) <= 0) return -1;
    SF_INFO info{};
    std::lock_guard<std::mutex> lock(open_mutex);
    // close_desc false: the descriptor stays ours, also when the open fails (the decoder's rule).
    SNDFILE* file = sf_open_fd(fd, SFM_READ, &info, /*close_desc=*/SF_FALSE);
    if (file == nullptr) return -1;
    sf_close(file);
    if (info.frames <= 0 || info.frames >= SF_COUNT_MAX || info.samplerate <= 0) return -1;
    return milliseconds(info.frames, info.samplerate);
}

Weight weigh(const Input& in, const std::optional<RawFormat>& raw) {
    Weight w;
    if (in.in_memory) {
        if (in.channels > 0 && in.sample_rate_hz > 0)
            w.milliseconds = milliseconds(static_cast<std::int64_t>(in.samples.size()) / in.channels, in.sample_rate_hz);
        return w;
    }
    if (!in.problem.empty()) return w;  // it gets its error record at once
    struct stat st {};
    if (::stat(in.name.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return w;  // never open a FIFO: it would block
    w.bytes = st.st_size;
    if (st.st_size == 0) return w;
    if (raw && has_raw_extension(in.name)) {
        const std::int64_t frame_bytes = static_cast<std::int64_t>(raw_bytes_per_sample(raw->encoding)) * raw->channels;
        w.milliseconds = milliseconds(st.st_size / frame_bytes, raw->sample_rate_hz);
        return w;
    }
    const int fd = ::open(in.name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return w;
    w.milliseconds = read_header_milliseconds(fd);
    ::close(fd);
    return w;
}

double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

const char* basis_name(PlanBasis b) {
    switch (b) {
        case PlanBasis::header: return "header";
        case PlanBasis::size: return "size";
        case PlanBasis::none: return "none";
    }
    return "none";
}

}  // namespace

void add_shard_flags(CLI::App* app, ShardFlags& flags) {
    CLI::Option* shard = app->add_option(
        "--shard", flags.spec,
        "Take part K of N of the input list (K = 0 .. N-1), balanced by audio length; 'auto' reads K and N from a "
        "Slurm array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT or _MIN/_MAX), a Kubernetes Indexed Job "
        "(JOB_COMPLETION_INDEX) or AWS Batch (AWS_BATCH_JOB_ARRAY_INDEX). `arpipe merge` joins the parts");
    shard->type_name("K/N|auto");
    app->add_option("--shard-count", flags.count,
                    std::string("N for --shard auto where the scheduler gives only an index (Kubernetes, AWS Batch); "
                                "with Slurm it makes the task id the shard number (to submit single tasks again). The "
                                "environment variable ") +
                        kShardCountVariable + " does the same")
        ->type_name("N")
        ->needs(shard)
        ->check(CLI::Validator(
            [](std::string& text) -> std::string {
                const auto n = parse_count(text, kMaxShards);
                return n && *n > 0 ? std::string() : text + " is not in [1, " + std::to_string(kMaxShards) + "]";
            },
            "[1, " + std::to_string(kMaxShards) + "]", "shard count"));
}

ParseResult<std::optional<Shard>> resolve_shard(const ShardFlags& flags, const GetEnv& getenv) {
    if (flags.spec.empty()) return {std::optional<Shard>(), {}};
    if (flags.spec != "auto") {
        auto shard = parse_explicit(flags.spec);
        if (shard && !flags.count.empty() && parse_count(flags.count, kMaxShards) != (*shard.value)->count)
            return {std::nullopt, "--shard-count " + flags.count + " disagrees with --shard " + flags.spec};
        return shard;
    }
    // Exactly one scheduler's index: with two, which one is meant cannot be told.
    static constexpr const char* kIndexVariables[] = {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX",
                                                      "AWS_BATCH_JOB_ARRAY_INDEX"};
    std::vector<const char*> set;
    for (const char* name : kIndexVariables)
        if (getenv(name) != nullptr) set.push_back(name);
    if (set.empty())
        return {std::nullopt,
                "--shard auto: no array index in the environment; expected one of SLURM_ARRAY_TASK_ID (Slurm "
                "--array), JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch "
                "array job); outside an array job give --shard K/N"};
    if (set.size() > 1) {
        std::string names;
        for (const char* name : set) names += std::string(names.empty() ? "" : " and ") + name;
        return {std::nullopt, "--shard auto: " + names + " are set at once; which scheduler's index to use is unclear: give --shard K/N"};
    }
    if (set[0] == kIndexVariables[0]) return from_slurm(flags, getenv);
    return from_index(flags, getenv, set[0]);
}

Plan make_plan(const std::vector<Input>& inputs, std::size_t count, const std::optional<RawFormat>& raw, int threads) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<Weight> weights(inputs.size());
    tbb::task_arena arena(threads > 0 ? threads : tbb::this_task_arena::max_concurrency());
    arena.execute([&] {
        // Small grains: one header read may wait on a slow filesystem much longer than its neighbours.
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, inputs.size(), 16), [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t i = r.begin(); i != r.end(); ++i) weights[i] = weigh(inputs[i], raw);
        });
    });

    Plan plan;
    plan.inputs.resize(inputs.size());
    // Sizes become lengths at the byte rate of the inputs whose headers gave a length.
    __int128 known_bytes = 0, known_ms = 0;
    for (const Weight& w : weights)
        if (w.milliseconds > 0 && w.bytes > 0) {
            known_bytes += w.bytes;
            known_ms += w.milliseconds;
        }
    plan.bytes_per_second = known_ms > 0 ? static_cast<std::int64_t>(known_bytes * 1000 / known_ms) : 0;
    if (plan.bytes_per_second <= 0) plan.bytes_per_second = kDefaultBytesPerSecond;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        PlannedInput& p = plan.inputs[i];
        if (weights[i].milliseconds >= 0) {
            p.basis = PlanBasis::header;
            p.milliseconds = weights[i].milliseconds;
        } else if (weights[i].bytes >= 0) {
            p.basis = PlanBasis::size;
            p.milliseconds = milliseconds(weights[i].bytes, plan.bytes_per_second);
        }
    }

    // Longest first (ties: list order) into the shard with the least audio so far (ties: the lower shard).
    std::vector<std::size_t> order(inputs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const std::int64_t ma = plan.inputs[a].milliseconds, mb = plan.inputs[b].milliseconds;
        return ma != mb ? ma > mb : a < b;
    });
    // Equal audio goes to the shard with fewer inputs, so that inputs weighed 0 (missing files) spread out too.
    using Load = std::tuple<std::int64_t, std::size_t, std::size_t>;  // (planned ms, inputs, shard)
    std::priority_queue<Load, std::vector<Load>, std::greater<>> lightest;
    for (std::size_t s = 0; s < count; ++s) lightest.emplace(0, 0, s);
    plan.shard_milliseconds.assign(count, 0);
    for (std::size_t i : order) {
        const auto [load, taken, shard] = lightest.top();
        lightest.pop();
        plan.inputs[i].shard = shard;
        plan.shard_milliseconds[shard] = load + plan.inputs[i].milliseconds;
        lightest.emplace(plan.shard_milliseconds[shard], taken + 1, shard);
    }
    plan.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return plan;
}

std::vector<Input> select_shard(const std::vector<Input>& inputs, const Plan& plan, std::size_t shard) {
    std::vector<Input> mine;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (plan.inputs[i].shard == shard) mine.push_back(inputs[i]);
    return mine;
}

std::vector<Input> take_shard(const std::vector<Input>& inputs, const Shard& shard, const Config& config,
                              spdlog::logger& log) {
    const bool say = config.log_level < LogLevel::error;
    const std::string from = shard.origin.empty() ? "" : " (" + shard.origin + ")";
    if (shard.count == 1) {
        if (say) log.info("shard 0/1{}: all {} inputs", from, inputs.size());
        return inputs;
    }
    const Plan plan = make_plan(inputs, shard.count, config.raw_format, config.parallel.threads);
    std::vector<Input> mine = select_shard(inputs, plan, shard.index);
    if (say)
        log.info("shard {}/{}{}: {} of {} inputs, {:.3f} s of audio planned; plan made in {:.3f} s", shard.index, shard.count,
                 from, mine.size(), inputs.size(), seconds(plan.shard_milliseconds[shard.index]), plan.wall_seconds);
    return mine;
}

void report_walk(const ExpandReport& walked, spdlog::logger& log) {
    for (const ExpandReport::Directory& d : walked.directories) {
        if (!d.problem.empty()) continue;  // it has an error record of its own
        std::string skipped;
        if (d.skipped_files > 0) {
            skipped = std::to_string(d.skipped_files) + " file(s) skipped by extension:";
            for (const std::string& ext : d.skipped_extensions) skipped += " " + (ext.empty() ? std::string("(none)") : ext);
        }
        if (d.audio_files == 0)
            log.warn("{} holds no audio files{}", d.directory, skipped.empty() ? " (it is empty)" : "; " + skipped);
        else if (!skipped.empty())
            log.info("{}: {} audio file(s); {}", d.directory, d.audio_files, skipped);
    }
}

spdlog::logger& cli_log() {
    // The logger main.cpp makes for `arpipe run`, or one like it.
    std::shared_ptr<spdlog::logger> log = spdlog::get("arpipe-cli");
    if (!log) {
        log = spdlog::stderr_color_mt("arpipe-cli");
        log->set_pattern("arpipe: %^%l%$: %v");
    }
    return *log;
}

std::optional<std::vector<std::string>> gather_paths(const std::vector<std::string>& given, const std::string& files_from,
                                                     const std::string& none, spdlog::logger& log) {
    std::vector<std::string> paths = given;
    if (!files_from.empty()) {
        std::ifstream file;
        std::istream* in = &std::cin;
        if (files_from != "-") {
            file.open(files_from);
            if (!file) {
                log.error("cannot read the list file {}", files_from);
                return std::nullopt;
            }
            in = &file;
        }
        for (std::string line; std::getline(*in, line);) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) paths.push_back(line);
        }
    }
    if (paths.empty()) {
        log.error("{}", none);
        return std::nullopt;
    }
    return paths;
}

PlanCommand::PlanCommand(CLI::App& app) {
    app_ = app.add_subcommand("plan", "Print the inputs a shard of `run --shard` would take, with their planned lengths");
    app_->footer("One tab-separated line per input: its index in the whole list, planned seconds, what the length came "
                 "from (header, size, none) and the name; the shards' loads and the planning time go to stderr. "
                 "docs/scale-out.md has more.");
    app_->add_option("inputs", inputs_, "Audio files or directories, as given to `arpipe run`");
    app_->add_option("--files-from", files_from_, "Read input paths from LIST, one per line ('-' = stdin)");
    app_->add_option_function<std::string>(
        "--raw-format",
        [this](const std::string& text) {
            auto parsed = parse_raw_format(text);
            if (!parsed) throw CLI::ValidationError("--raw-format", parsed.error);
            raw_format_ = *parsed.value;
        },
        "Weigh .raw/.pcm files as headerless PCM ENCODING:RATE:CHANNELS, as `arpipe run --raw-format` reads them");
    const SettingRange* range = setting_range("parallel.threads");
    app_->add_option("-j,--threads", threads_, "Threads reading headers; 0 = all hardware threads")
        ->capture_default_str()
        ->check(CLI::Validator(
            [range](std::string& text) -> std::string {
                char* end = nullptr;
                const double value = std::strtod(text.c_str(), &end);
                if (end == text.c_str() || *end != '\0') return "not a number: " + text;
                return range->contains(value) ? std::string() : text + " is not in " + range->text();
            },
            range->text(), "parallel.threads"));
    app_->add_flag("--list", list_,
                   "Print only the shard's input names, one per line in list order, as `--files-from` reads them "
                   "(for an `arpipe run --mpi` job per shard: docs/scale-out.md, \"shards of shards\")");
    add_shard_flags(app_, shard_);
    app_->get_option("--shard")->required();
}

bool PlanCommand::parsed() const { return app_->parsed(); }

int PlanCommand::run() {
    spdlog::logger& log = cli_log();
    const auto shard = resolve_shard(shard_, [](const char* name) { return std::getenv(name); });
    if (!shard) {
        log.error("{}", shard.error);
        return kExitUsage;
    }
    const auto paths = gather_paths(inputs_, files_from_, "no inputs: give files or directories, or --files-from LIST", log);
    if (!paths) return kExitUsage;
    const std::vector<Input> inputs = expand_paths(*paths);
    const Shard& s = **shard.value;
    const Plan plan = make_plan(inputs, s.count, raw_format_, threads_);

    // Names as the table format writes them (README, "Output formats"): a name stays on its line and cannot
    // send escape sequences to a terminal. The table writer is that rule's one source.
    std::ostringstream rendered;
    const std::unique_ptr<Sink> table = make_writer(OutputFormat::table, rendered);
    auto table_name = [&](const std::string& name) {
        rendered.str({});
        FileError e;
        e.file = name;
        table->on_error(e);
        const std::string text = rendered.str();
        return text.substr(0, text.find('\n'));
    };

    std::size_t taken = 0;
    std::string out = list_ ? "" : "index\tseconds\tfrom\tfile\n";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const PlannedInput& p = plan.inputs[i];
        if (p.shard != s.index) continue;
        ++taken;
        if (list_) {
            // The raw name, as --files-from reads it back: a line each, so a name cannot hold a line break
            // (nor end in a carriage return, which the reader drops).
            const std::string& name = inputs[i].name;
            if (name.find('\n') != std::string::npos || (!name.empty() && name.back() == '\r')) {
                log.error("--list: input {} has a line break in its name, which a list file cannot hold: {}", i,
                          table_name(name));
                return kExitUsage;
            }
            out += name;
            out += '\n';
            continue;
        }
        char number[64];
        std::snprintf(number, sizeof number, "%zu\t%.3f\t", i, seconds(p.milliseconds));
        out += number;
        out += basis_name(p.basis);
        out += '\t';
        out += table_name(inputs[i].name);
        out += '\n';
    }
    std::cout << out << std::flush;
    if (!std::cout) {
        log.error("cannot write the plan to standard output");
        return kExitOutput;
    }
    const auto [lightest, heaviest] = std::minmax_element(plan.shard_milliseconds.begin(), plan.shard_milliseconds.end());
    const std::int64_t total = std::accumulate(plan.shard_milliseconds.begin(), plan.shard_milliseconds.end(), std::int64_t{0});
    const std::string from = s.origin.empty() ? "" : " (" + s.origin + ")";
    std::size_t by_size = 0, by_nothing = 0;
    for (const PlannedInput& p : plan.inputs) {
        by_size += p.basis == PlanBasis::size;
        by_nothing += p.basis == PlanBasis::none;
    }
    std::fprintf(stderr,
                 "arpipe: shard %zu/%zu%s: %zu of %zu inputs, %.3f s planned; all %zu shards: %.3f to %.3f s, "
                 "%.3f s in all\n",
                 s.index, s.count, from.c_str(), taken, inputs.size(), seconds(plan.shard_milliseconds[s.index]), s.count,
                 seconds(*lightest), seconds(*heaviest), seconds(total));
    std::fprintf(stderr,
                 "arpipe: lengths from %zu headers, %zu file sizes (at %lld bytes/s), %zu inputs weighed 0 (nothing to "
                 "read); plan made in %.3f s\n",
                 inputs.size() - by_size - by_nothing, by_size, static_cast<long long>(plan.bytes_per_second), by_nothing,
                 plan.wall_seconds);
    return kExitOk;
}

}  // namespace arpipe::cli
