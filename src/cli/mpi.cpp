// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `arpipe run --mpi`: rank 0 coordinates, ranks 1 .. P-1 run the pipeline (mpi.h says how and why).
//
// Messages (all MPI_BYTE, rank 0 <-> worker; only the main thread of a rank calls MPI):
//   broadcast   status (int): 0 go, else rank 0's exit code and everyone stops
//   broadcast   the input list: count, then per input its name, problem and problem code
//   kHello      worker -> 0: empty when the worker loaded the model, else the load error's text
//   kWork       0 -> worker: a chunk of input indices (u64 each); an empty chunk means "stop"
//   kResult     worker -> 0: the chunk's audio seconds, then per input: index, status, the records' bytes
// Ranks are assumed to share byte order and a filesystem on which every input has the same path.
#include "mpi.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string_view>
#include <thread>
#include <spdlog/spdlog.h>

#include "arpipe/engine.h"
#include "output.h"
#include "resume.h"
#include "shard.h"

#ifdef ARPIPE_WITH_MPI
// The C API only: Open MPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace arpipe::cli {

Dispatcher::Dispatcher(const std::vector<std::int64_t>& weights, std::size_t first, std::size_t workers)
    : weights_(weights), workers_(std::max<std::size_t>(workers, 1)) {
    for (std::size_t i = first; i < weights.size(); ++i) order_.push_back(i);
    std::stable_sort(order_.begin(), order_.end(),
                     [&](std::uint64_t a, std::uint64_t b) { return weights[a] > weights[b]; });
    for (std::uint64_t i : order_) left_ms_ += std::max<std::int64_t>(weights[i], 0);
}

std::vector<std::uint64_t> Dispatcher::next_chunk() {
    std::vector<std::uint64_t> chunk;
    const std::int64_t target = left_ms_ / static_cast<std::int64_t>(2 * workers_);
    std::int64_t taken = 0;
    while (next_ < order_.size() && chunk.size() < kMaxChunkInputs && (chunk.empty() || taken < target)) {
        const std::uint64_t i = order_[next_++];
        chunk.push_back(i);
        taken += std::max<std::int64_t>(weights_[i], 0);
    }
    left_ms_ -= taken;
    return chunk;
}

#ifndef ARPIPE_WITH_MPI

bool mpi_built() noexcept { return false; }

std::optional<int> run_mpi(const MpiJob&) {
    cli_log().error("--mpi: this arpipe was built without Open MPI (configure with -DARPIPE_MPI=ON after "
                    "installing libopenmpi-dev)");
    return 2;
}

#else

bool mpi_built() noexcept { return true; }

namespace {

constexpr int kHello = 1;
constexpr int kWork = 2;
constexpr int kResult = 3;

// What became of one input, as a worker reports it.
enum GroupStatus : std::uint8_t { kOk = 0, kFailed = 1, kCancelled = 2 };

// Flat little buffers for the messages.
class Packer {
public:
    void u64(std::uint64_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void f64(double v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
    void str(std::string_view s) {
        u64(s.size());
        bytes_.append(s);
    }
    [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }

private:
    std::string bytes_;
};

class Unpacker {
public:
    explicit Unpacker(std::string_view bytes) : s_(bytes) {}
    std::uint64_t u64() { return fixed<std::uint64_t>(); }
    double f64() { return fixed<double>(); }
    std::uint8_t u8() { return fixed<std::uint8_t>(); }
    std::string_view str() {
        const std::uint64_t n = u64();
        if (!ok_ || n > s_.size() - pos_) {
            ok_ = false;
            return {};
        }
        const std::string_view v = s_.substr(pos_, n);
        pos_ += n;
        return v;
    }
    [[nodiscard]] bool ok() const noexcept { return ok_; }
    [[nodiscard]] bool done() const noexcept { return pos_ == s_.size(); }

private:
    template <class T>
    T fixed() {
        T v{};
        if (!ok_ || sizeof v > s_.size() - pos_) {
            ok_ = false;
            return v;
        }
        std::memcpy(&v, s_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::string_view s_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

void send(const std::string& bytes, int to, int tag) {
    MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD);
}

/// Receives a message already probed (`st`), whatever its length.
std::string receive(const MPI_Status& st) {
    int n = 0;
    MPI_Get_count(&st, MPI_BYTE, &n);
    std::string bytes(static_cast<std::size_t>(n), '\0');
    MPI_Recv(bytes.data(), n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return bytes;
}

std::string receive_from(int from, int tag) {
    MPI_Status st;
    MPI_Probe(from, tag, MPI_COMM_WORLD, &st);
    return receive(st);
}

/// Rank 0 sends `bytes` to everyone (length first).
void broadcast(std::string& bytes) {
    std::uint64_t n = bytes.size();
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    bytes.resize(n);
    // MPI counts are ints: long lists go in pieces of at most 1 GiB.
    for (std::uint64_t at = 0; at < n; at += std::uint64_t{1} << 30) {
        const auto piece = static_cast<int>(std::min<std::uint64_t>(n - at, std::uint64_t{1} << 30));
        MPI_Bcast(bytes.data() + at, piece, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

std::unique_ptr<Sink> make_job_writer(const MpiJob& job, std::ostream& out, const Engine& engine) {
    return job.scores ? make_writer(job.format, out, engine.model().labels) : make_writer(job.format, out);
}

/// A worker's sink: the writer's bytes, cut after each input's terminal record into that input's group.
class GroupSink final : public Sink {
public:
    GroupSink(Sink& writer, std::ostringstream& text) : writer_(writer), text_(text) {}
    void on_event(const Event& e) override { writer_.on_event(e); }
    void on_scores(const Scores& s) override { writer_.on_scores(s); }
    void on_transcript(const Transcript& t) override { writer_.on_transcript(t); }
    void on_summary(const FileSummary& s) override {
        writer_.on_summary(s);
        cut(kOk);
    }
    void on_error(const FileError& e) override {
        writer_.on_error(e);
        cut(e.code == ErrorCode::cancelled ? kCancelled : kFailed);
    }
    void on_finish() override { writer_.on_finish(); }

    std::vector<std::pair<GroupStatus, std::string>> groups;

private:
    void cut(GroupStatus status) {
        groups.emplace_back(status, text_.str());
        text_.str(std::string());
    }
    Sink& writer_;
    std::ostringstream& text_;
};

int work(const MpiJob& job, const Engine* engine, const std::string& load_error,
         const std::vector<Input>& inputs) {
    send(load_error, 0, kHello);
    RunOptions options;
    options.cancel = job.cancel;
    options.scores = job.scores;
    for (;;) {
        const std::string work = receive_from(0, kWork);
        if (work.empty()) return 0;
        std::vector<Input> chunk;
        std::vector<std::uint64_t> index(work.size() / sizeof(std::uint64_t));
        std::memcpy(index.data(), work.data(), index.size() * sizeof(std::uint64_t));
        for (std::uint64_t i : index) chunk.push_back(inputs.at(i));

        std::ostringstream text;
        auto writer = make_job_writer(job, text, *engine);
        text.str(std::string());  // the CSV header: rank 0 writes it once
        GroupSink sink(*writer, text);
        const RunStats stats = engine->run(chunk, sink, options);

        Packer result;
        result.f64(stats.audio_seconds);
        for (std::size_t k = 0; k < sink.groups.size() && k < index.size(); ++k) {
            result.u64(index[k]);
            result.u8(sink.groups[k].first);
            result.str(sink.groups[k].second);
        }
        send(result.bytes(), 0, kResult);
    }
}

/// Rank 0's output: groups written in input order. A group that comes before its turn waits, in memory up to
/// kMemoryBudget bytes in all and in a temporary file beyond that.
class OrderedOutput {
public:
    static constexpr std::size_t kMemoryBudget = std::size_t{64} << 20;

    OrderedOutput(Output& output, std::size_t next) : output_(output), next_(next) {}
    ~OrderedOutput() {
        if (spill_) std::fclose(spill_);
    }

    /// Takes input `index`'s group; false when it could not be kept (the temporary file failed).
    bool add(std::size_t index, std::string bytes, GroupStatus status) {
        if (index == next_ && status != kCancelled) {
            write(bytes);
            ++next_;
            return drain();
        }
        Held h;
        h.status = status;
        if (held_bytes_ + bytes.size() <= kMemoryBudget) {
            held_bytes_ += bytes.size();
            h.bytes = std::move(bytes);
        } else {
            if (!spill_ && !(spill_ = std::tmpfile())) return false;
            if (std::fseek(spill_, 0, SEEK_END) != 0) return false;
            h.offset = std::ftell(spill_);
            h.length = bytes.size();
            h.spilled = true;
            if (std::fwrite(bytes.data(), 1, bytes.size(), spill_) != bytes.size()) return false;
        }
        held_.emplace(index, std::move(h));
        return drain();
    }
    /// The first input not written yet.
    [[nodiscard]] std::size_t next() const noexcept { return next_; }

private:
    struct Held {
        std::string bytes;
        long offset = 0;
        std::size_t length = 0;
        bool spilled = false;
        GroupStatus status = kOk;
    };
    bool drain() {
        for (auto it = held_.begin(); it != held_.end() && it->first == next_ && it->second.status != kCancelled;
             it = held_.erase(it)) {
            Held& h = it->second;
            if (h.spilled) {
                h.bytes.resize(h.length);
                if (std::fseek(spill_, h.offset, SEEK_SET) != 0 ||
                    std::fread(h.bytes.data(), 1, h.length, spill_) != h.length)
                    return false;
            } else {
                held_bytes_ -= h.bytes.size();
            }
            write(h.bytes);
            ++next_;
        }
        return true;
    }
    void write(const std::string& bytes) {
        output_.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        output_.stream().flush();
        output_.input_done();
    }
    Output& output_;
    std::size_t next_;
    std::map<std::size_t, Held> held_;
    std::size_t held_bytes_ = 0;
    std::FILE* spill_ = nullptr;
};

/// The list as rank 0 sends it.
std::string pack_inputs(const std::vector<Input>& inputs) {
    Packer p;
    p.u64(inputs.size());
    for (const Input& in : inputs) {
        p.str(in.name);
        p.str(in.problem);
        p.u64(static_cast<std::uint64_t>(in.problem_code));
    }
    return p.bytes();
}

std::vector<Input> unpack_inputs(const std::string& bytes) {
    Unpacker u(bytes);
    std::vector<Input> inputs(u.u64());
    for (Input& in : inputs) {
        in = Input::file(std::string(u.str()));
        in.problem = std::string(u.str());
        in.problem_code = static_cast<ErrorCode>(u.u64());
    }
    return inputs;
}

/// What rank 0 set up before any work is handed out.
struct Setup {
    int status = 0;  // 0: go; else the exit code
    std::vector<Input> inputs;
    std::unique_ptr<Output> output;
    std::unique_ptr<Sink> header_writer;  // wrote the CSV header (kept for on_finish)
    std::size_t first = 0;                // inputs the journal holds already
    std::size_t resumed_failed = 0;
    std::vector<std::int64_t> weights;
};

Setup set_up(const MpiJob& job, const Engine* engine, const std::string& load_error, int ranks) {
    spdlog::logger& log = cli_log();
    Setup s;
    if (!engine) {
        log.error("{}", load_error);
        s.status = 2;
        return s;
    }
    ExpandReport walked;
    s.inputs = expand_paths(job.paths, &walked);
    report_walk(walked, log);
    if (s.inputs.empty()) {
        log.error("nothing to process: the inputs hold no audio files");
        s.status = 1;
        return s;
    }
    std::vector<std::string> names = job.paths;
    for (const Input& in : s.inputs) names.push_back(in.name);
    if (std::string why = check_output_path("--out", job.out, names, ""); !why.empty()) {
        log.error("{}", why);
        s.status = 2;
        return s;
    }
    std::string header;
    {
        std::ostringstream probe;
        auto w = make_job_writer(job, probe, *engine);
        header = probe.str();
    }
    if (job.resume) {
        Journal j = open_journal(job.out, job.format == OutputFormat::csv, header, s.inputs);
        if (!j.output) {
            log.error("{}", j.error);
            s.status = j.exit_code;
            return s;
        }
        if (!job.quiet && j.done > 0)
            std::fprintf(stderr, "arpipe: resuming %s: %zu of %zu input(s) already done\n",
                         journal_path(job.out).c_str(), j.done, s.inputs.size());
        s.output = std::move(j.output);
        s.first = j.done;
        s.resumed_failed = j.failed;
    } else if (job.out.empty()) {
        s.output = Output::to_stdout();
    } else {
        std::string why;
        s.output = Output::to_file(job.out, &why);
        if (!s.output) {
            log.error("{}", why);
            s.status = 3;
            return s;
        }
    }
    s.header_writer = make_job_writer(job, s.output->stream(), *engine);  // writes the header (or drops it)

    const Plan plan = make_plan(s.inputs, 1, job.config.raw_format, job.config.parallel.threads);
    for (const PlannedInput& p : plan.inputs) s.weights.push_back(p.milliseconds);
    if (!job.quiet)
        log.info("--mpi: {} input(s), {:.0f} s of audio planned (headers read in {:.2f} s), {} worker rank(s)",
                 s.inputs.size() - s.first,
                 static_cast<double>(std::accumulate(s.weights.begin() + static_cast<std::ptrdiff_t>(s.first),
                                                     s.weights.end(), std::int64_t{0})) / 1000.0,
                 plan.wall_seconds, ranks - 1);
    return s;
}

/// CPU seconds this process has used so far.
double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int coordinate(const MpiJob& job, Setup& s, int ranks) {
    spdlog::logger& log = cli_log();
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    Dispatcher dispatch(s.weights, s.first, static_cast<std::size_t>(ranks - 1));
    OrderedOutput ordered(*s.output, s.first);
    std::size_t ok = 0, failed = s.resumed_failed, cancelled = 0, chunks = 0;
    double audio_seconds = 0;
    bool stop = false;  // hand out no more work: a signal, a worker that could not load, an output that failed
    int exit_code = 0;
    int working = ranks - 1;

    auto give = [&](int rank) {
        std::vector<std::uint64_t> chunk;
        if (!stop && !(job.cancel && job.cancel->load())) chunk = dispatch.next_chunk();
        if (chunk.empty()) --working;
        else ++chunks;
        MPI_Send(chunk.data(), static_cast<int>(chunk.size() * sizeof(std::uint64_t)), MPI_BYTE, rank, kWork,
                 MPI_COMM_WORLD);
    };
    while (working > 0) {
        // Polled rather than blocking, so that a signal (the cancel flag) is seen while workers are busy.
        MPI_Status st;
        int ready = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &ready, &st);
        if (!ready) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            continue;
        }
        const std::string message = receive(st);
        if (st.MPI_TAG == kHello) {
            if (!message.empty()) {
                log.error("rank {}: {}", st.MPI_SOURCE, message);
                stop = true;
                exit_code = 2;
            }
            give(st.MPI_SOURCE);
            continue;
        }
        Unpacker u(message);
        audio_seconds += u.f64();
        while (u.ok() && !u.done()) {
            const std::size_t index = u.u64();
            const auto status = static_cast<GroupStatus>(u.u8());
            std::string bytes(u.str());
            if (!u.ok() || index >= s.inputs.size()) break;
            if (status == kOk) ++ok;
            else if (status == kFailed) ++failed;
            else ++cancelled;
            if (!ordered.add(index, std::move(bytes), status)) {
                log.error("cannot keep records that arrived ahead of their turn in a temporary file: {}",
                          std::strerror(errno));
                stop = true;
                exit_code = 3;
            }
        }
        if (!u.ok()) {
            log.error("rank {} sent a damaged result", st.MPI_SOURCE);
            stop = true;
            exit_code = 3;
        }
        if (s.output->error() != 0) stop = true;
        give(st.MPI_SOURCE);
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double coordinator_cpu = cpu_seconds() - cpu0;
    const bool complete = ordered.next() == s.inputs.size();
    if (complete) s.header_writer->on_finish();

    std::string why;
    if (complete && exit_code == 0) why = s.output->commit();
    else why = s.output->sync();  // a journal stays for --resume; a plain --out never appears
    if (!why.empty() || s.output->error() != 0) {
        if (!s.output->reader_gone())
            log.error("cannot write {}: {}", s.output->name(), why.empty() ? std::strerror(s.output->error()) : why);
        return 3;
    }
    if (!job.quiet) {
        std::fprintf(stderr,
                     "arpipe: %zu ok, %zu failed, %.1f s of audio in %.2f s (%.1fx real time; %d worker rank(s), "
                     "%zu chunk(s); rank 0 used %.2f s of CPU handing out work and writing)\n",
                     ok, failed - s.resumed_failed, audio_seconds, wall, wall > 0 ? audio_seconds / wall : 0.0,
                     ranks - 1, chunks, coordinator_cpu);
    }
    if (exit_code != 0) return exit_code;
    if (!complete) {
        std::fprintf(stderr, "arpipe: interrupted; %zu input(s) written in order, %zu not%s\n", ordered.next(),
                     s.inputs.size() - ordered.next(),
                     job.resume ? "; run again with --resume to do the rest" : "");
        return 130;
    }
    return failed == 0 ? 0 : 1;
}

}  // namespace

std::optional<int> run_mpi(const MpiJob& job) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (ranks == 1) {
        cli_log().warn("--mpi with one rank: running as a plain arpipe run (start it with mpirun -np P, P >= 2)");
        MPI_Finalize();
        return std::nullopt;
    }

    // Every rank loads the model itself: a worker needs it to run, rank 0 to check it and name its labels.
    LoadResult loaded = Engine::load(job.config);
    const Engine* engine = loaded.engine.get();

    int result = 0;
    if (rank == 0) {
        Setup s = set_up(job, engine, loaded.error, ranks);
        MPI_Bcast(&s.status, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (s.status == 0) {
            std::string list = pack_inputs(s.inputs);
            broadcast(list);
            result = coordinate(job, s, ranks);
        } else {
            result = s.status;
        }
    } else {
        int status = 0;
        MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (status == 0) {
            std::string list;
            broadcast(list);
            result = work(job, engine, engine ? std::string() : loaded.error, unpack_inputs(list));
        }
    }
    MPI_Finalize();
    return result;
}

#endif  // ARPIPE_WITH_MPI

}  // namespace arpipe::cli
