// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "bench/naive_engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "bench/measure.h"
#include "stages/decode.h"
#include "stages/failure.h"
#include "stages/features.h"
#include "stages/infer.h"
#include "stages/prepared_model.h"
#include "stages/model_info.h"
#include "stages/postprocess.h"
#include "stages/segment.h"

namespace arpipe::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// One input's results as batches finish, in any order; the thread that finishes its last batch turns them
/// into events.
struct FileState {
    std::mutex m;
    std::vector<SegmentInfo> segments;  // by segment index
    std::vector<float> scores;          // [segment][steps][labels], by segment index
    int issued = 0, done = 0;           // batches handed out / finished
    bool all_issued = false;            // the reader has handed out the input's last batch
    bool failed = false;
    double source_seconds = 0;
};

/// A batch of consecutive segments of one input, as one thread carries it through the stages.
struct Work {
    std::size_t file = 0;
    int count = 0;
    std::vector<SegmentInfo> segments;
    bool failed = false;
};

/// One call of NaiveEngine::run: the state its threads share, and what each of them does. Stage 1 (decode,
/// resample, segment) is shared: whichever thread holds the reader lock reads the next batch. Stages 2 and 3
/// (features, inference) run in every thread on its own batch. Stage 4: the thread that finishes an input's
/// last batch runs the tracker over all its segments in order.
/// One engine thread's counts and times, merged into the run's when the thread ends.
struct Tally {
    RunStats stats;
    RunDiagnostics diag;
};

class NaiveRun {
public:
    NaiveRun(const PreparedModel& prepared, const NaiveConfig& config, const std::vector<Input>& inputs)
        : e_(prepared),
          config_(config),
          info_(prepared.model->info()),
          inputs_(inputs),
          batch_(config.batch),
          segment_samples_(static_cast<std::size_t>(info_.segment_samples)),
          n_labels_(static_cast<std::int64_t>(info_.labels.size())),
          per_segment_(static_cast<std::size_t>(prepared.steps * n_labels_)),
          files_(inputs.size()) {}

    /// Runs `config.threads` std::threads, each on `models[i]` (or all on the shared model when `models` is
    /// empty), joins them and rethrows the first exception one of them caught. Fills the counts and stage
    /// times of the returned stats; the caller adds the wall and CPU times.
    RunStats run(const std::vector<std::unique_ptr<Model>>& models, std::int64_t* events, RunDiagnostics* diagnostics) {
        std::vector<std::thread> pool;
        pool.reserve(static_cast<std::size_t>(config_.threads));
        for (int i = 0; i < config_.threads; ++i)
            pool.emplace_back(&NaiveRun::worker, this,
                              std::cref(models.empty() ? *e_.model : *models[static_cast<std::size_t>(i)]));
        for (auto& t : pool) t.join();
        if (error_) std::rethrow_exception(error_);
        stats_.threads = config_.threads;
        if (events != nullptr) *events = n_events_.load();
        if (diagnostics != nullptr) *diagnostics = std::move(diagnostics_);
        return stats_;
    }

private:
    /// One engine thread: batches through every stage until the reader has none left.
    void worker(const Model& model) {
        Tally local;
        try {
            std::vector<float> audio(static_cast<std::size_t>(batch_) * segment_samples_, 0.0f);
            std::vector<float> features(e_.logmel ? static_cast<std::size_t>(batch_) * e_.item_size : 0);
            std::vector<float> scores;
            std::unique_ptr<LogMel::Scratch> scratch = e_.logmel ? e_.logmel->make_scratch() : nullptr;
            Work w;
            w.segments.resize(static_cast<std::size_t>(batch_));
            for (;;) {
                auto t0 = Clock::now();
                if (!read_batch(w, audio.data())) break;
                // Opening, decoding and cutting happen here, in the engine's own threads (one at a time, under
                // the reader lock, whose wait is counted too): all of it is decode time; stage.input_seconds
                // (arpipe's serial input filter) stays 0 for this engine.
                local.stats.stage.decode_seconds += seconds_since(t0);
                if (w.count > 0 && !w.failed) infer_batch(model, w, audio, features, scratch.get(), scores, local);
                t0 = Clock::now();
                if (store_batch(w, scores)) post_process(w.file);
                local.stats.stage.output_seconds += seconds_since(t0);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(stats_mutex_);
            if (!error_) error_ = std::current_exception();
        }
        merge(local);
    }

    /// Stage 1, under the reader lock: the next batch of segments into `audio`, opening the next input when
    /// the current one is done. False when every input has been read.
    bool read_batch(Work& w, float* audio) {
        std::lock_guard<std::mutex> lock(reader_mutex_);
        while (!segmenter_) {
            if (next_input_ >= inputs_.size()) return false;
            current_ = next_input_++;
            try {
                if (!inputs_[current_].problem.empty()) throw Failure(ErrorCode::not_found, inputs_[current_].problem);
                segmenter_ = std::make_unique<Segmenter>(
                    std::make_unique<Decoder>(inputs_[current_], info_.sample_rate_hz, std::nullopt),
                    info_.segment_samples, info_.hop_samples);
            } catch (const std::exception&) {
                segmenter_.reset();
                count_unopened();
            }
        }
        w.file = current_;
        w.count = 0;
        w.failed = false;
        bool last = false;
        double source_seconds = 0;
        try {
            while (w.count < batch_ &&
                   segmenter_->next(audio + w.count * segment_samples_, &w.segments[static_cast<std::size_t>(w.count)]))
                ++w.count;
            last = segmenter_->finished() || w.count < batch_;
            if (last && segmenter_->decoder().source_frames() == 0) w.failed = true;  // empty input, as arpipe reports it
        } catch (const std::exception&) {
            w.failed = true;
            last = true;
        }
        if (last) {
            const Decoder& decoder = segmenter_->decoder();
            source_seconds = static_cast<double>(decoder.source_frames()) / decoder.source_rate_hz();
            segmenter_.reset();
        }
        FileState& f = files_[w.file];
        std::lock_guard<std::mutex> file_lock(f.m);
        ++f.issued;
        if (last) {
            f.all_issued = true;
            f.source_seconds = source_seconds;
        }
        return true;
    }

    /// An input that could not even be opened.
    void count_unopened() {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.files_failed;
    }

    /// Stages 2 and 3 on this thread's batch: log-mel features (when the model takes them), the model call
    /// and the activation into `scores`. A model that fails marks the batch failed.
    void infer_batch(const Model& model, Work& w, std::vector<float>& audio, std::vector<float>& features,
                     LogMel::Scratch* scratch, std::vector<float>& scores, Tally& local) const {
        for (int i = w.count; i < batch_; ++i)
            std::fill_n(audio.begin() + static_cast<std::ptrdiff_t>(i * segment_samples_), segment_samples_, 0.0f);
        auto t0 = Clock::now();
        if (e_.logmel) {
            // The same feature code as arpipe's pipeline (frames shared by overlapping windows computed once),
            // so the comparison is about threading alone.
            e_.logmel->compute_windows(audio.data(), info_.segment_samples, w.count, info_.segment_samples,
                                       info_.hop_samples, features.data(), *scratch);
            for (int i = w.count; i < batch_; ++i)
                std::copy(e_.silent_features.begin(), e_.silent_features.end(),
                          features.begin() + static_cast<std::ptrdiff_t>(i * e_.item_size));
            local.diag.token_seconds_features.push_back(seconds_since(t0));
            local.stats.stage.features_seconds += local.diag.token_seconds_features.back();
        }
        t0 = Clock::now();
        try {
            model.forward(e_.logmel ? features.data() : audio.data(), batch_, scores);
            score_steps(scores.data(), static_cast<std::int64_t>(w.count) * e_.steps, n_labels_, info_.activation,
                        effective_top_k(info_, config_.post));
        } catch (const Failure&) {
            w.failed = true;
        }
        local.diag.token_seconds_infer.push_back(seconds_since(t0));
        local.stats.stage.infer_seconds += local.diag.token_seconds_infer.back();
        ++local.stats.tokens;
    }

    /// Files the batch's segments and scores under its input, by segment index. True when this was the
    /// input's last batch to finish: the caller then post-processes the input.
    bool store_batch(const Work& w, const std::vector<float>& scores) {
        FileState& f = files_[w.file];
        std::lock_guard<std::mutex> lock(f.m);
        if (w.failed) f.failed = true;
        for (int i = 0; i < w.count && !w.failed; ++i) {
            const auto idx = static_cast<std::size_t>(w.segments[static_cast<std::size_t>(i)].index);
            if (f.segments.size() <= idx) {
                f.segments.resize(idx + 1);
                f.scores.resize((idx + 1) * per_segment_);
            }
            f.segments[idx] = w.segments[static_cast<std::size_t>(i)];
            std::copy_n(scores.begin() + static_cast<std::ptrdiff_t>(i * per_segment_), per_segment_,
                        f.scores.begin() + static_cast<std::ptrdiff_t>(idx * per_segment_));
        }
        ++f.done;
        return f.all_issued && f.done == f.issued;
    }

    /// Stage 4: the post-process stage's records over all of input `file`'s segments in order (the event
    /// tracker, or a ctc model's decoder); counts its events or transcripts.
    void post_process(std::size_t file) {
        FileState& f = files_[file];
        if (!f.failed) {
            /// The records are counted, not kept.
            struct Discard final : Sink {
                void on_event(const Event&) override {}
                void on_summary(const FileSummary&) override {}
                void on_error(const FileError&) override {}
            } discard;
            InputRecords records(info_, e_.steps, config_.post, /*scores=*/false);
            records.start(file, inputs_[file].name);
            for (std::size_t i = 0; i < f.segments.size(); ++i) {
                const float* scores = f.scores.data() + i * per_segment_;
                records.segment(f.segments[i], scores, scores, discard);
            }
            records.close(discard);
            n_events_ += records.events() + records.transcripts();
        }
        std::lock_guard<std::mutex> lock(stats_mutex_);
        if (f.failed) {
            ++stats_.files_failed;
        } else {
            ++stats_.files_ok;
            stats_.audio_seconds += f.source_seconds;
            stats_.segments += static_cast<std::int64_t>(f.segments.size());
        }
    }

    /// Adds one thread's token count and stage times to the run's.
    void merge(const Tally& local) {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.tokens += local.stats.tokens;
        stats_.stage.decode_seconds += local.stats.stage.decode_seconds;
        stats_.stage.features_seconds += local.stats.stage.features_seconds;
        stats_.stage.infer_seconds += local.stats.stage.infer_seconds;
        stats_.stage.output_seconds += local.stats.stage.output_seconds;
        auto append = [](std::vector<double>& to, const std::vector<double>& from) { to.insert(to.end(), from.begin(), from.end()); };
        append(diagnostics_.token_seconds_features, local.diag.token_seconds_features);
        append(diagnostics_.token_seconds_infer, local.diag.token_seconds_infer);
    }

    const PreparedModel& e_;
    const NaiveConfig& config_;
    const ModelInfo& info_;
    const std::vector<Input>& inputs_;
    const int batch_;
    const std::size_t segment_samples_;
    const std::int64_t n_labels_;
    const std::size_t per_segment_;  // scores per segment: steps x labels

    std::vector<FileState> files_;  // by input index
    RunStats stats_;
    RunDiagnostics diagnostics_;
    std::mutex stats_mutex_;  // guards `stats_`, `diagnostics_` and `error_`
    std::exception_ptr error_;
    std::atomic<std::int64_t> n_events_{0};

    // Stage 1's state, under reader_mutex_: the input being read and the next one to open.
    std::mutex reader_mutex_;
    std::size_t next_input_ = 0, current_ = 0;
    std::unique_ptr<Segmenter> segmenter_;  // owns the input's decoder
};

}  // namespace

struct NaiveEngine::Impl : PreparedModel {
    NaiveConfig config;
    std::vector<std::unique_ptr<Model>> thread_models;  // with model_per_thread: one copy per thread
};

NaiveEngine::NaiveEngine(const NaiveConfig& config) : impl_(std::make_unique<Impl>()) {
    if (config.threads < 1 || config.intra_op_threads < 1 || config.batch < 1)
        throw Failure(ErrorCode::bad_config, "naive engine: threads, intra-op threads and batch must be >= 1");
    Impl& e = *impl_;
    e.config = config;
    pin_torch_threads();  // inter-op 1, as arpipe's engine sets it; the intra-op count is set below
    static_cast<PreparedModel&>(e) = PreparedModel::load(config.model_path, config.batch);
    if (config.model_per_thread) {
        for (int i = 0; i < config.threads; ++i) {
            e.thread_models.push_back(Model::load(config.model_path));
            e.thread_models.back()->prepare(e.item_shape, config.batch);
        }
    }
    // The case study's setup: one call, on the main thread; the engine's own threads never set it.
    set_torch_intra_op_threads(config.intra_op_threads);
}

NaiveEngine::~NaiveEngine() = default;

const ModelInfo& NaiveEngine::model() const noexcept { return impl_->model->info(); }

RunStats NaiveEngine::run(const std::vector<Input>& inputs, std::int64_t* events, RunDiagnostics* diagnostics) const {
    const auto t_start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    NaiveRun naive(*impl_, impl_->config, inputs);
    RunStats stats = naive.run(impl_->thread_models, events, diagnostics);
    stats.wall_seconds = seconds_since(t_start);
    stats.cpu_seconds = process_cpu_seconds() - cpu_start;
    return stats;
}

}  // namespace arpipe::bench
