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

RunStats NaiveEngine::run(const std::vector<Input>& inputs, std::int64_t* events) const {
    const Impl& e = *impl_;
    const ModelInfo& info = e.model->info();
    const int batch = e.config.batch;
    const auto S = static_cast<std::size_t>(info.segment_samples);
    const auto n_labels = static_cast<std::int64_t>(info.labels.size());
    const auto per_segment = static_cast<std::size_t>(e.steps * n_labels);
    const auto t_start = Clock::now();
    const double cpu_start = process_cpu_seconds();

    std::vector<FileState> files(inputs.size());
    RunStats stats;
    std::mutex stats_mutex;  // guards `stats` and `error`
    std::exception_ptr error;
    std::atomic<std::int64_t> n_events{0};

    // Stage 1 (decode, resample, segment) is shared: whichever thread holds the lock reads the next batch.
    std::mutex reader_mutex;
    std::size_t next_input = 0, current = 0;
    std::unique_ptr<Decoder> decoder;
    std::unique_ptr<Segmenter> segmenter;

    auto count_unopened = [&] {  // an input that could not even be opened
        std::lock_guard<std::mutex> lock(stats_mutex);
        ++stats.files_failed;
    };

    auto read_batch = [&](Work& w, float* audio) -> bool {
        std::lock_guard<std::mutex> lock(reader_mutex);
        while (!decoder) {
            if (next_input >= inputs.size()) return false;
            current = next_input++;
            try {
                if (!inputs[current].problem.empty()) throw Failure(ErrorCode::not_found, inputs[current].problem);
                decoder = std::make_unique<Decoder>(inputs[current], info.sample_rate_hz, std::nullopt);
                segmenter = std::make_unique<Segmenter>(*decoder, info.segment_samples, info.hop_samples);
            } catch (const std::exception&) {
                segmenter.reset();
                decoder.reset();
                count_unopened();
            }
        }
        w.file = current;
        w.count = 0;
        w.failed = false;
        bool last = false;
        double source_seconds = 0;
        try {
            while (w.count < batch && segmenter->next(audio + w.count * S, &w.segments[static_cast<std::size_t>(w.count)]))
                ++w.count;
            last = segmenter->finished() || w.count < batch;
            if (last && decoder->source_frames() == 0) w.failed = true;  // empty input, as arpipe reports it
        } catch (const std::exception&) {
            w.failed = true;
            last = true;
        }
        if (last) {
            source_seconds = static_cast<double>(decoder->source_frames()) / decoder->source_rate_hz();
            segmenter.reset();
            decoder.reset();
        }
        FileState& f = files[w.file];
        std::lock_guard<std::mutex> file_lock(f.m);
        ++f.issued;
        if (last) {
            f.all_issued = true;
            f.source_seconds = source_seconds;
        }
        return true;
    };

    // Stage 4: the thread that finishes an input's last batch runs the tracker over all its segments in order.
    auto post_process = [&](FileState& f) {
        std::int64_t file_events = 0;
        if (!f.failed) {
            EventTracker tracker(info.labels.size(), e.config.post);
            std::vector<TrackedEvent> ready;
            for (std::size_t i = 0; i < f.segments.size(); ++i) {
                track_segment(info, e.steps, f.segments[i], f.scores.data() + i * per_segment, tracker, ready);
                file_events += static_cast<std::int64_t>(ready.size());
                ready.clear();
            }
            tracker.finish(ready);
            file_events += static_cast<std::int64_t>(ready.size());
        }
        n_events += file_events;
        std::lock_guard<std::mutex> lock(stats_mutex);
        if (f.failed) {
            ++stats.files_failed;
        } else {
            ++stats.files_ok;
            stats.audio_seconds += f.source_seconds;
            stats.segments += static_cast<std::int64_t>(f.segments.size());
        }
    };

    auto worker = [&](const Model& model) {
        RunStats local;
        try {
            std::vector<float> audio(static_cast<std::size_t>(batch) * S, 0.0f);
            std::vector<float> features(e.logmel ? static_cast<std::size_t>(batch) * e.item_size : 0);
            std::vector<float> scores;
            std::unique_ptr<LogMel::Scratch> scratch = e.logmel ? e.logmel->make_scratch() : nullptr;
            Work w;
            w.segments.resize(static_cast<std::size_t>(batch));
            for (;;) {
                auto t0 = Clock::now();
                if (!read_batch(w, audio.data())) break;
                // Opening, decoding and cutting happen here, in the engine's own threads (one at a time, under
                // the reader lock, whose wait is counted too): all of it is decode time; stage.input_seconds
                // (arpipe's serial input filter) stays 0 for this engine.
                local.stage.decode_seconds += seconds_since(t0);
                if (w.count > 0 && !w.failed) {
                    for (int i = w.count; i < batch; ++i) std::fill_n(audio.begin() + static_cast<std::ptrdiff_t>(i * S), S, 0.0f);
                    t0 = Clock::now();
                    if (e.logmel) {
                        // The same feature code as arpipe's pipeline (frames shared by overlapping windows
                        // computed once), so the comparison is about threading alone.
                        e.logmel->compute_windows(audio.data(), info.segment_samples, w.count, info.segment_samples, info.hop_samples,
                                                  features.data(), *scratch);
                        for (int i = w.count; i < batch; ++i)
                            std::copy(e.silent_features.begin(), e.silent_features.end(),
                                      features.begin() + static_cast<std::ptrdiff_t>(i * e.item_size));
                        local.token_seconds_features.push_back(seconds_since(t0));
                        local.stage.features_seconds += local.token_seconds_features.back();
                    }
                    t0 = Clock::now();
                    try {
                        model.forward(e.logmel ? features.data() : audio.data(), batch, scores);
                        score_steps(scores.data(), static_cast<std::int64_t>(w.count) * e.steps, n_labels, e.activation,
                                    e.config.post.top_k);
                    } catch (const Failure&) {
                        w.failed = true;
                    }
                    local.token_seconds_infer.push_back(seconds_since(t0));
                    local.stage.infer_seconds += local.token_seconds_infer.back();
                    ++local.tokens;
                }
                t0 = Clock::now();
                FileState& f = files[w.file];
                bool complete = false;
                {
                    std::lock_guard<std::mutex> lock(f.m);
                    if (w.failed) f.failed = true;
                    for (int i = 0; i < w.count && !w.failed; ++i) {
                        const auto idx = static_cast<std::size_t>(w.segments[static_cast<std::size_t>(i)].index);
                        if (f.segments.size() <= idx) {
                            f.segments.resize(idx + 1);
                            f.scores.resize((idx + 1) * per_segment);
                        }
                        f.segments[idx] = w.segments[static_cast<std::size_t>(i)];
                        std::copy_n(scores.begin() + static_cast<std::ptrdiff_t>(i * per_segment), per_segment,
                                    f.scores.begin() + static_cast<std::ptrdiff_t>(idx * per_segment));
                    }
                    ++f.done;
                    complete = f.all_issued && f.done == f.issued;
                }
                if (complete) post_process(f);
                local.stage.output_seconds += seconds_since(t0);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(stats_mutex);
            if (!error) error = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(stats_mutex);
        stats.tokens += local.tokens;
        stats.stage.decode_seconds += local.stage.decode_seconds;
        stats.stage.features_seconds += local.stage.features_seconds;
        stats.stage.infer_seconds += local.stage.infer_seconds;
        stats.stage.output_seconds += local.stage.output_seconds;
        stats.token_seconds_features.insert(stats.token_seconds_features.end(), local.token_seconds_features.begin(),
                                            local.token_seconds_features.end());
        stats.token_seconds_infer.insert(stats.token_seconds_infer.end(), local.token_seconds_infer.begin(),
                                         local.token_seconds_infer.end());
    };

    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(e.config.threads));
    for (int i = 0; i < e.config.threads; ++i)
        pool.emplace_back(worker, std::cref(e.thread_models.empty() ? *e.model : *e.thread_models[static_cast<std::size_t>(i)]));
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);

    stats.threads = e.config.threads;
    stats.wall_seconds = seconds_since(t_start);
    stats.cpu_seconds = process_cpu_seconds() - cpu_start;
    if (events != nullptr) *events = n_events.load();
    return stats;
}

}  // namespace arpipe::bench
