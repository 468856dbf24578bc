// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// One run: a tbb::parallel_pipeline inside a task_arena of the run's size.
//
//   produce (serial_in_order)   take the next input, open and validate it, plan it in chunks (one token each)
//   decode (parallel)           decode, downmix and resample the token's chunk from this thread's own handle
//   features (parallel)         log-mel per segment, on per-thread FFTW buffers
//   infer (parallel)            model calls of `batch` segments, activation, top-k
//   consume (serial_in_order)   events with hysteresis, records to the sink, progress
//
// Every thread of a run is a worker of its arena; an observer pins LibTorch's pools to one thread on each
// worker as it enters (Engine::Impl::pin_threads; not when Config::keep_host_threading is set). In the library, this file alone creates threads (through TBB); the lab, arpipe-bench
// (src/bench), makes its own worker processes and threads (docs/architecture.md, "Where threads live").
#include <spdlog/logger.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>
#include <tbb/task_scheduler_observer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "engine_impl.h"
#include "host.h"
#include "stages/decode.h"
#include "stages/failure.h"
#include "stages/segment.h"
#include "token.h"

namespace arpipe {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ThreadSanitizer cannot see the synchronisation inside libtbb (Debian's build is not instrumented), so
// under TSan every filter body enters and leaves through one acq_rel read-modify-write on this atomic: that
// gives TSan exactly the happens-before edges TBB provides (hand-offs between filters, the caller's setup
// before the run, the run's results after it) while races between bodies running at the same time stay
// visible. Compiled to nothing in other builds.
#if defined(__SANITIZE_THREAD__)
std::atomic<unsigned> g_tsan_handoff{0};
struct TsanHandoff {
    TsanHandoff() { g_tsan_handoff.fetch_add(1, std::memory_order_acq_rel); }
    ~TsanHandoff() { g_tsan_handoff.fetch_add(1, std::memory_order_acq_rel); }
};
#else
struct TsanHandoff {};
#endif

/// A filter body that enters and leaves through TsanHandoff (a plain call outside TSan builds).
template <typename Body>
auto handing_off(Body body) {
    return [body](auto&&... args) {
        [[maybe_unused]] TsanHandoff h;
        return body(std::forward<decltype(args)>(args)...);
    };
}

/// Pins LibTorch's intra-op pool to one thread on every worker that joins the arena (Engine::Impl::pin_threads:
/// nothing when the host keeps its own threading).
class TorchPinObserver final : public tbb::task_scheduler_observer {
public:
    TorchPinObserver(tbb::task_arena& arena, const Engine::Impl& engine)
        : tbb::task_scheduler_observer(arena), engine_(engine) {
        observe(true);
    }
    // observe(false) waits for the callbacks in flight, so none reads the engine after the run. TBB's wait is
    // invisible to TSan: the callbacks and the end of observation hand off through TsanHandoff, as filters do.
    ~TorchPinObserver() override {
        observe(false);
        [[maybe_unused]] TsanHandoff after_callbacks;
    }
    void on_scheduler_entry(bool /*is_worker*/) override {
        [[maybe_unused]] TsanHandoff h;
        engine_.pin_threads();
    }

private:
    const Engine::Impl& engine_;
};

/// Counts threads inside a serial filter, to prove it never runs concurrently.
class SerialProbe {
public:
    class Scope {
    public:
        explicit Scope(SerialProbe& p) : p_(p) {
            const int now = ++p_.inside_;
            int seen = p_.max_.load();
            while (now > seen && !p_.max_.compare_exchange_weak(seen, now)) {}
        }
        ~Scope() { --p_.inside_; }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        SerialProbe& p_;
    };
    [[nodiscard]] int max() const { return max_.load(); }

private:
    std::atomic<int> inside_{0};
    std::atomic<int> max_{0};
};

/// Opens the headers of the inputs the input filter will take next, so that the serial filter only collects
/// an open, validated handle and plans. The input filter schedules the next inputs; the decode workers open
/// them between chunks (`help`). Slot j % K serves input j; a slot's word packs (input, state) so that a
/// worker never opens an input the filter has already opened itself, or a slot that moved on to another
/// input.
class HeaderPrefetch {
public:
    HeaderPrefetch(const std::vector<Input>& inputs, const std::optional<RawFormat>& raw, int slots)
        : inputs_(inputs), raw_(raw), slots_(static_cast<std::size_t>(std::max(2, slots))) {
        for (Slot& s : slots_) s.word.store(kEmpty, std::memory_order_relaxed);
    }
    HeaderPrefetch(const HeaderPrefetch&) = delete;
    HeaderPrefetch& operator=(const HeaderPrefetch&) = delete;

    /// Input filter: it takes input `i` now; schedule the inputs after it, each only into an empty slot (one
    /// whose last input was taken; take() opens an input it could not schedule). A cancelled run takes no
    /// handles: rescheduling a slot that was still being opened, or held an untaken handle, let the next
    /// worker's assignment to `source` race with the last one's (found by TSan, two runs at once, one cancelled).
    void ahead_of(std::size_t i) {
        const std::size_t k = slots_.size();
        for (std::size_t j = std::max(next_, i + 1); j < inputs_.size() && j < i + k; ++j) {
            next_ = j + 1;
            const Input& in = inputs_[j];
            if (in.in_memory || !in.problem.empty()) continue;  // nothing to open, or nothing to open with
            std::uint64_t empty = kEmpty;
            slots_[j % k].word.compare_exchange_strong(empty, pack(j, kScheduled), std::memory_order_acq_rel);
        }
    }

    /// Decode workers: opens one scheduled input, if any.
    void help() {
        for (Slot& slot : slots_) {
            std::uint64_t word = slot.word.load(std::memory_order_acquire);
            if ((word & 7u) != kScheduled) continue;
            if (!slot.word.compare_exchange_strong(word, (word & ~std::uint64_t{7}) | kRunning, std::memory_order_acq_rel))
                continue;
            catch_failure([&] { slot.source = AudioSource::open(inputs_[static_cast<std::size_t>(word >> 3)], raw_); },
                          [&](ErrorCode code, std::string message) {
                              slot.code = code;
                              slot.message = std::move(message);
                          });
            slot.word.store((word & ~std::uint64_t{7}) | kReady, std::memory_order_release);
            return;
        }
    }

    /// Input filter: input `i`'s handle, the prefetched one, or opened here when no worker has started on it.
    /// Throws Failure as AudioSource::open does.
    std::unique_ptr<AudioSource> take(std::size_t i) {
        Slot& slot = slots_[i % slots_.size()];
        std::uint64_t expected = pack(i, kScheduled);
        if (slot.word.load(std::memory_order_acquire) >> 3 != i ||
            slot.word.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel))
            return AudioSource::open(inputs_[i], raw_);
        // A worker is opening it (a header read, it does not block on anything of ours) or has.
        while ((slot.word.load(std::memory_order_acquire) & 7u) != kReady) std::this_thread::yield();
        ++prefetched_;
        std::unique_ptr<AudioSource> source = std::move(slot.source);
        const ErrorCode code = slot.code;
        std::string message = std::move(slot.message);
        slot.code = ErrorCode::internal;
        slot.message.clear();
        slot.word.store(kEmpty, std::memory_order_release);
        if (!source) throw Failure(code, message);
        return source;
    }

    /// Inputs whose header a worker opened ahead of the input filter.
    [[nodiscard]] std::int64_t prefetched() const { return prefetched_; }

private:
    static constexpr std::uint64_t kScheduled = 1, kRunning = 2, kReady = 3;
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0} << 3;  // no input, no state
    static std::uint64_t pack(std::size_t input, std::uint64_t state) { return (static_cast<std::uint64_t>(input) << 3) | state; }

    struct Slot {
        std::atomic<std::uint64_t> word;
        std::unique_ptr<AudioSource> source;
        ErrorCode code = ErrorCode::internal;
        std::string message;
    };

    const std::vector<Input>& inputs_;
    const std::optional<RawFormat>& raw_;
    std::vector<Slot> slots_;
    std::size_t next_ = 0;  // the first input not yet scheduled
    std::int64_t prefetched_ = 0;
};

class PipelineRun {
public:
    PipelineRun(const Engine::Impl& engine, const std::vector<Input>& inputs, Sink& sink, const RunOptions& options,
                int batch, int threads)
        : e_(engine),
          info_(engine.model->info()),
          inputs_(inputs),
          sink_(sink),
          options_(options),
          batch_(batch),
          per_chunk_(segments_per_chunk(engine.config.decode.chunk_seconds, info_.hop_samples, info_.sample_rate_hz)),
          rows_(static_cast<int>((per_chunk_ + batch - 1) / batch * batch)),
          pool_(rows_, static_cast<std::size_t>((per_chunk_ - 1) * info_.hop_samples + info_.segment_samples),
                engine.logmel ? engine.item_size : 0),
          prefetch_(inputs, engine.config.raw_format, 2 * threads),
          records_(info_, engine.steps, engine.config.post, options.scores) {
        progress_.files_total = inputs.size();
        if (options.diagnostics != nullptr) *options.diagnostics = {};
    }

    /// Serial input filter: the next token, or nullptr when every input has its record. It only takes the
    /// next input, opens and validates it and plans its chunks; the decode filter does the decoding. Inputs
    /// whose length is unknown, or that cannot seek, are read start to end here instead.
    std::unique_ptr<Token> produce(tbb::flow_control& fc) {
        SerialProbe::Scope probe(input_probe_);
        const auto t0 = Clock::now();
        if (!cancelled_ && options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed))
            cancelled_ = true;
        std::unique_ptr<Token> tok;
        if (!file_open()) {
            if (next_input_ >= inputs_.size()) {
                fc.stop();
                return nullptr;
            }
            current_ = next_input_++;
            prefetch_.ahead_of(current_);
            tok = pool_.acquire(current_);
            open_current(*tok);
        } else {
            tok = pool_.acquire(current_);
            if (cancelled_) {
                tok->fail(ErrorCode::cancelled, "the run was cancelled part way through this input");
                close_current();
            }
        }
        if (!tok->failed) {
            tok->source_rate_hz = source_rate_;
            tok->source_channels = source_channels_;
            tok->file_segments_announced = segments_announced_;
            if (sequential_) fill_sequential(*tok);
            else plan_next_chunk(*tok);
        }
        // An input read start to end is decoded here, serially: that time counts as decoding.
        const double spent = seconds_since(t0);
        if (tok->job == Token::Job::filled) stats_.stage.decode_seconds += spent;
        else stats_.stage.input_seconds += spent;
        return tok;
    }

    /// Parallel: decodes the token's chunk from this thread's own handle on the input.
    void decode(Token& tok) const {
        const auto t0 = Clock::now();
        prefetch_.help();  // open an input the input filter will take soon
        if (tok.job != Token::Job::decode || tok.failed) {
            tok.decode_seconds = seconds_since(t0);
            return;
        }
        DecodeState& st = decode_state_.local();
        pool_.ensure_buffers(tok);
        catch_failure([&] {
            if (tok.source) {
                st.source = std::move(tok.source);
                st.file = tok.file_index;
            } else if (!st.source || st.file != tok.file_index) {
                st.source.reset();
                st.file = kNoFile;
                st.source = AudioSource::open(inputs_[tok.file_index], e_.config.raw_format);
                st.file = tok.file_index;
            }
            const DecodedRange r = decode_range(*st.source, info_.sample_rate_hz, tok.first_sample, tok.end_sample,
                                                tok.end_frame, tok.audio, st.range);
            // The stream's true length, when this chunk found the data ending before the header said.
            const std::int64_t stream = r.reached_end ? resampled_length(r.source_frames, tok.source_rate_hz,
                                                                         info_.sample_rate_hz)
                                                      : tok.stream_samples;
            const std::int64_t total = Segmenter::count_for(stream, info_.segment_samples, info_.hop_samples);
            tok.count = static_cast<int>(describe_segments(tok.first_segment, per_chunk_, stream,
                                                           info_.segment_samples, info_.hop_samples,
                                                           tok.segments.data()));
            if (total <= tok.first_segment + per_chunk_) {
                tok.closes_file = true;
                const std::int64_t frames = r.reached_end ? r.source_frames : tok.end_frame;
                tok.source_seconds = static_cast<double>(frames) / tok.source_rate_hz;
                if (total == 0) tok.fail(ErrorCode::empty_file, "no audio frames after the header");
            }
            pad_audio(tok);
        }, [&](ErrorCode code, std::string message) {
            tok.fail(code, std::move(message));
            st.source.reset();  // its state after an error is unknown: the next chunk opens afresh
            st.file = kNoFile;
        });
        tok.decode_seconds = seconds_since(t0);
    }

    /// Parallel: features for each segment of the token (log_mel models), read in place from its audio.
    void features(Token& tok) const {
        if (tok.count == 0 || !e_.logmel) return;
        const auto t0 = Clock::now();
        auto& scratch = decode_state_.local().logmel;
        if (!scratch) scratch = e_.logmel->make_scratch();
        // The token's windows are consecutive windows of one stream, `hop` apart: the frames they share are
        // computed once.
        e_.logmel->compute_windows(tok.audio.data(), info_.segment_samples, tok.count, info_.hop_samples,
                                   info_.hop_samples, tok.features.data(), *scratch);
        const int padded = padded_rows(tok.count);
        for (int i = tok.count; i < padded; ++i)
            std::copy(e_.silent_features.begin(), e_.silent_features.end(), tok.features.begin() + i * e_.item_size);
        tok.features_seconds = seconds_since(t0);
    }

    /// Parallel: the model calls (`batch` segments each), activation and top-k.
    void infer(Token& tok) const {
        if (tok.count == 0) return;
        const auto t0 = Clock::now();
        DecodeState& st = decode_state_.local();
        const auto labels = static_cast<std::int64_t>(info_.labels.size());
        const std::int64_t per_row = e_.steps * labels;
        const std::size_t S = static_cast<std::size_t>(info_.segment_samples);
        catch_failure([&] {
            tok.scores.resize(static_cast<std::size_t>(padded_rows(tok.count) * per_row));
            for (int row = 0; row < tok.count; row += batch_) {
                const float* input = nullptr;
                if (e_.logmel) {
                    input = tok.features.data() + static_cast<std::size_t>(row) * e_.item_size;
                } else {
                    // Waveform models take [batch][segment] rows: copy the windows out of the stream; pad rows
                    // must be silent.
                    st.rows.assign(static_cast<std::size_t>(batch_) * S, 0.0f);
                    const int n = std::min(batch_, tok.count - row);
                    for (int i = 0; i < n; ++i)
                        std::copy_n(tok.audio.data() + (row + i) * info_.hop_samples, S, st.rows.data() + i * S);
                    input = st.rows.data();
                }
                e_.model->forward(input, batch_, st.scores);
                std::copy(st.scores.begin(), st.scores.end(), tok.scores.begin() + row * per_row);
            }
            // The scores records carry every label's score: they are kept before top-k.
            score_steps(tok.scores.data(), static_cast<std::int64_t>(tok.count) * e_.steps, labels, info_.activation,
                        effective_top_k(info_, e_.config.post), options_.scores ? &tok.all_scores : nullptr);
        }, [&](ErrorCode code, std::string message) {
            tok.scores_valid = false;
            tok.fail(code, std::move(message));
        });
        tok.infer_seconds = seconds_since(t0);
    }

    /// Serial output filter: events and records, in input order then time order.
    void consume(std::unique_ptr<Token> tok) {
        SerialProbe::Scope probe(output_probe_);
        const auto t0 = Clock::now();
        ++stats_.tokens;
        if (tok->job != Token::Job::filled) stats_.stage.decode_seconds += tok->decode_seconds;
        if (tok->count > 0) {
            if (options_.diagnostics != nullptr) {
                options_.diagnostics->token_seconds_features.push_back(tok->features_seconds);
                options_.diagnostics->token_seconds_infer.push_back(tok->infer_seconds);
            }
            stats_.stage.features_seconds += tok->features_seconds;
            stats_.stage.infer_seconds += tok->infer_seconds;
        }
        if (tok->file_index != out_file_) start_file(*tok);
        if (!out_closed_) {
            if (tok->scores_valid) {
                for (int i = 0; i < tok->count; ++i) push_segment(*tok, i);
            }
            if (tok->failed) {
                if (tok->error_code == ErrorCode::cancelled && records_.segments() > 0) {
                    // Cancelled inside this input: what was analysed keeps its events. Those still open are
                    // closed at the last analysed step and marked as cut; the analysed audio counts.
                    records_.close(sink_, true);
                    audio_before_file_ += records_.analysed_seconds();
                }
                ++stats_.files_failed;
                out_closed_ = true;
                FileError err{tok->file_index, inputs_[tok->file_index].name, tok->error_code, tok->error_message};
                sink_.on_error(err);
                ++progress_.files_done;
            } else if (tok->closes_file) {
                records_.close(sink_);
                ++stats_.files_ok;
                out_closed_ = true;
                sink_.on_summary(records_.summary(tok->source_seconds, tok->source_rate_hz, tok->source_channels));
                ++progress_.files_done;
                audio_before_file_ += tok->source_seconds;
            }
        }
        progress_.audio_seconds_done = out_closed_ ? audio_before_file_ : audio_before_file_ + records_.analysed_seconds();
        progress_.wall_seconds = seconds_since(start_);
        progress_.file_index = tok->file_index;
        const std::int64_t file_segments = records_.segments();
        progress_.file_segments_done = file_segments;
        // The header's count until the input's record is out (never below what was already written), then
        // the true count.
        std::int64_t total = tok->file_segments_announced;
        if (out_closed_) total = file_segments;
        else if (total >= 0) total = std::max(total, file_segments);
        progress_.file_segments_total = total;
        sink_.on_progress(progress_);
        pool_.release(std::move(tok));
        stats_.stage.output_seconds += seconds_since(t0);
    }

    RunStats finish() {
        if (e_.log) e_.log->debug("run: {} of {} input headers opened ahead by decode workers", prefetch_.prefetched(), inputs_.size());
        stats_.max_live_tokens = pool_.max_live();
        if (options_.diagnostics != nullptr)
            options_.diagnostics->max_serial_concurrency = std::max(input_probe_.max(), output_probe_.max());
        stats_.audio_seconds = audio_before_file_;
        stats_.cancelled = cancelled_;
        stats_.wall_seconds = seconds_since(start_);
        stats_.cpu_seconds = process_cpu_seconds() - cpu_start_;
        return std::move(stats_);
    }

    RunStats& stats() { return stats_; }

private:
    static constexpr std::size_t kNoFile = static_cast<std::size_t>(-1);

    /// One worker's state: its handle on the input it decoded last (kept for that input's next chunk, so a
    /// long file is opened, and an MP3 scanned, once per thread) and its scratch buffers.
    struct DecodeState {
        std::size_t file = kNoFile;
        std::unique_ptr<AudioSource> source;
        RangeScratch range;
        std::unique_ptr<LogMel::Scratch> logmel;
        std::vector<float> rows, scores;
    };

    [[nodiscard]] int padded_rows(int count) const { return (count + batch_ - 1) / batch_ * batch_; }
    [[nodiscard]] bool file_open() const { return sequential_ != nullptr || next_chunk_ < plan_chunks_; }

    void open_current(Token& tok) {
        const Input& in = inputs_[current_];
        if (cancelled_) {
            tok.fail(ErrorCode::cancelled, "not processed: the run was cancelled");
            ++stats_.files_not_started;
            return;
        }
        if (!in.problem.empty()) {
            tok.fail(in.problem_code, in.problem);
            return;
        }
        catch_failure([&] {
            std::unique_ptr<AudioSource> source = prefetch_.take(current_);
            source_rate_ = source->rate_hz();
            source_channels_ = source->channels();
            const std::int64_t frames = source->announced_frames();
            if (frames > 0 && source->can_seek()) {
                plan_ = ChunkPlan{resampled_length(frames, source_rate_, info_.sample_rate_hz), info_.segment_samples,
                                  info_.hop_samples, per_chunk_};
                plan_frames_ = frames;
                plan_chunks_ = plan_.chunks();
                next_chunk_ = 0;
                segments_announced_ = plan_.segments();
                handoff_ = std::move(source);
            } else {
                // No length to plan with, or no seeking: read it start to end in this filter.
                if (e_.log)
                    e_.log->debug("{}: {}; decoding it sequentially", in.name,
                                  frames > 0 ? "the source cannot seek" : "the header gives no length");
                sequential_ = std::make_unique<Segmenter>(std::make_unique<Decoder>(std::move(source), info_.sample_rate_hz),
                                                          info_.segment_samples, info_.hop_samples);
                segments_announced_ = Segmenter::count_for(sequential_->decoder().announced_samples(),
                                                           info_.segment_samples, info_.hop_samples);
            }
        }, [&](ErrorCode code, std::string message) {
            tok.fail(code, std::move(message));
            close_current();
        });
    }

    void close_current() {
        sequential_.reset();
        handoff_.reset();
        plan_chunks_ = next_chunk_ = 0;
    }

    /// Plans the open input's next chunk into `tok`, for the decode filter.
    void plan_next_chunk(Token& tok) {
        const std::int64_t k = next_chunk_++;
        tok.job = Token::Job::decode;
        tok.first_segment = plan_.first_segment(k);
        tok.first_sample = plan_.first_sample(k);
        tok.end_sample = plan_.end_sample(k);
        tok.stream_samples = plan_.samples;
        tok.end_frame = plan_frames_;
        tok.source = std::move(handoff_);  // the first chunk reuses the handle that validated the input
        if (next_chunk_ == plan_chunks_) close_current();  // the plan's last chunk
    }

    /// Reads up to one chunk of segments of a sequentially read input into `tok`; marks the token that ends it.
    void fill_sequential(Token& tok) {
        tok.job = Token::Job::filled;
        pool_.ensure_buffers(tok);
        const std::size_t S = static_cast<std::size_t>(info_.segment_samples);
        const std::size_t H = static_cast<std::size_t>(info_.hop_samples);
        tok.audio.assign(static_cast<std::size_t>(per_chunk_ - 1) * H + S, 0.0f);
        catch_failure([&] {
            // Consecutive windows overlap by S - H samples with the same values: each is written at its
            // place in the token's contiguous audio.
            while (tok.count < per_chunk_ &&
                   sequential_->next(tok.audio.data() + tok.count * H, &tok.segments[tok.count]))
                ++tok.count;
            if (sequential_->finished() || tok.count < per_chunk_) {
                const Decoder& decoder = sequential_->decoder();
                if (decoder.source_frames() == 0 && tok.count == 0) {
                    tok.fail(ErrorCode::empty_file, "no audio frames after the header");
                } else {
                    tok.closes_file = true;
                    tok.source_seconds = static_cast<double>(decoder.source_frames()) / decoder.source_rate_hz();
                }
                close_current();
            }
        }, [&](ErrorCode code, std::string message) {
            tok.fail(code, std::move(message));
            close_current();
        });
    }

    /// Zeros after the decoded samples, up to the end of the token's last window.
    void pad_audio(Token& tok) const {
        const std::size_t need =
            tok.count > 0 ? static_cast<std::size_t>((tok.count - 1) * info_.hop_samples + info_.segment_samples) : 0;
        if (tok.audio.size() < need) tok.audio.resize(need, 0.0f);
    }

    void start_file(const Token& tok) {
        out_file_ = tok.file_index;
        out_closed_ = false;
        records_.start(tok.file_index, inputs_[tok.file_index].name);
    }

    void push_segment(const Token& tok, int i) {
        ++progress_.segments_done;
        ++stats_.segments;
        const std::int64_t at = static_cast<std::int64_t>(i) * e_.steps * static_cast<std::int64_t>(info_.labels.size());
        records_.segment(tok.segments[i], tok.scores.data() + at, options_.scores ? tok.all_scores.data() + at : nullptr,
                         sink_);
    }

    const Engine::Impl& e_;
    const ModelInfo& info_;
    const std::vector<Input>& inputs_;
    Sink& sink_;
    const RunOptions& options_;
    const int batch_;
    const std::int64_t per_chunk_;  // segments per chunk (and per token)
    const int rows_;                // token rows: per_chunk_ rounded up to whole batches
    TokenPool pool_;
    SerialProbe input_probe_, output_probe_;
    mutable tbb::enumerable_thread_specific<DecodeState> decode_state_;
    mutable HeaderPrefetch prefetch_;

    // Input filter state: the open input is either planned in chunks (plan_chunks_ > 0) or read start to end
    // (sequential_).
    std::size_t next_input_ = 0, current_ = 0;
    ChunkPlan plan_;
    std::int64_t plan_frames_ = 0, plan_chunks_ = 0, next_chunk_ = 0, segments_announced_ = -1;
    int source_rate_ = 0, source_channels_ = 0;
    std::unique_ptr<AudioSource> handoff_;
    std::unique_ptr<Segmenter> sequential_;  // an input read start to end
    bool cancelled_ = false;

    // Output filter state.
    InputRecords records_;  // the output filter's input: its tracker, scores records and counts
    std::size_t out_file_ = static_cast<std::size_t>(-1);
    bool out_closed_ = true;
    double audio_before_file_ = 0;
    Progress progress_;

    RunStats stats_;
    const Clock::time_point start_ = Clock::now();
    const double cpu_start_ = process_cpu_seconds();
};

}  // namespace

namespace {
std::atomic<int> g_active_runs{0};  // runs of this library in progress, in any engine
}  // namespace

RunStats run_pipeline(const Engine::Impl& engine, const std::vector<Input>& inputs, Sink& sink, const RunOptions& options) {
    g_active_runs.fetch_add(1);
    struct Leave {
        ~Leave() { g_active_runs.fetch_sub(1); }
    } leave;
    const ParallelConfig tc = options.parallel ? *options.parallel : engine.config.parallel;
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = options.use_caller_arena ? tbb::this_task_arena::max_concurrency() : tc.threads > 0 ? tc.threads : hw;
    const int tokens = tc.tokens > 0 ? tc.tokens : 2 * threads + 2;

    PipelineRun run(engine, inputs, sink, options, std::max(1, tc.batch), threads);
    run.stats().threads = threads;
    run.stats().token_limit = tokens;

    auto body = [&] {
        engine.pin_threads();  // the calling thread works in the arena too
        constexpr auto serial = tbb::filter_mode::serial_in_order;
        constexpr auto parallel = tbb::filter_mode::parallel;
        const auto chain =
            tbb::make_filter<void, TokenRef>(serial, handing_off([&](tbb::flow_control& fc) { return TokenRef(run.produce(fc)); })) &
            tbb::make_filter<TokenRef, TokenRef>(parallel, handing_off([&](TokenRef t) { run.decode(*t); return t; })) &
            tbb::make_filter<TokenRef, TokenRef>(parallel, handing_off([&](TokenRef t) { run.features(*t); return t; })) &
            tbb::make_filter<TokenRef, TokenRef>(parallel, handing_off([&](TokenRef t) { run.infer(*t); return t; })) &
            tbb::make_filter<TokenRef, void>(serial, handing_off([&](TokenRef t) { run.consume(t.take()); }));
        { [[maybe_unused]] TsanHandoff before_run; }
        tbb::parallel_pipeline(static_cast<std::size_t>(tokens), chain);
        { [[maybe_unused]] TsanHandoff after_run; }
    };
    if (options.use_caller_arena) {
        // The host's arena: observe it for this run so its workers pin LibTorch's pools too.
        tbb::task_arena current(tbb::task_arena::attach{});
        TorchPinObserver observer(current, engine);
        body();
    } else {
        // TBB caps its worker pool at the hardware concurrency; a run asking for more (to measure
        // oversubscription) raises the cap for its duration.
        const bool raised = threads > hw;
        std::optional<tbb::task_scheduler_handle> scheduler;
        if (raised) scheduler.emplace(tbb::attach{});
        {
            std::optional<tbb::global_control> cap;
            if (raised) cap.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
            tbb::task_arena arena(threads);
            arena.initialize();  // an observer attached to an arena that is not yet initialised leaks its proxy in TBB
            TorchPinObserver observer(arena, engine);
            arena.execute(body);
        }
        // The workers made beyond the cap would stay in TBB's pool, asleep, for the life of the process. When
        // no other run is in progress, wait for TBB to end its workers (it makes them again when a run needs
        // them); finalize declines, and leaves them, when the host uses TBB itself at that moment.
        if (scheduler && g_active_runs.load() == 1) {
            const bool ended = tbb::finalize(*scheduler, std::nothrow);
            if (engine.log) engine.log->debug("run: {} the extra TBB workers", ended ? "ended" : "could not end");
        }
    }
    sink.on_finish();
    RunStats stats = run.finish();
    if (engine.log) {
        engine.log->info("run: {} files ok, {} failed, {:.1f} s audio in {:.2f} s wall ({:.1f}x real time), {} threads, "
                         "{} tokens max {} live",
                         stats.files_ok, stats.files_failed, stats.audio_seconds, stats.wall_seconds,
                         stats.wall_seconds > 0 ? stats.audio_seconds / stats.wall_seconds : 0.0, stats.threads,
                         stats.token_limit, stats.max_live_tokens);
    }
    return stats;
}

}  // namespace arpipe
