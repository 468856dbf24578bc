// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Streams: the pipeline's stages for audio that arrives in pieces. A stream downmixes and resamples each
// piece as it comes (its own libsoxr state), keeps the model-rate samples from the next unanalysed window on,
// and analyses a window once one more sample shows whether it is the last: the same windows, in the same
// places, that an offline run cuts (describe_segments), so the records equal the offline ones. Everything
// runs on the calling thread; the engine's TBB arena is not involved.
#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "arpipe/engine.h"
#include "arpipe/stream.h"
#include "engine_impl.h"
#include "host.h"
#include "stages/decode.h"
#include "stages/failure.h"
#include "stages/postprocess.h"
#include "stages/segment.h"

namespace arpipe {
namespace {

/// Frames downmixed and resampled at a time: a push of minutes of audio is taken in slices, so a stream
/// holds at most one slice beyond its window.
constexpr std::int64_t kSliceFrames = 4096;

}  // namespace

struct Stream::Impl {
    Impl(const Engine::Impl& engine, int rate, int channels, Sink& sink, const StreamOptions& options)
        : e(engine),
          info(engine.model->info()),
          rate_hz(rate),
          channels(channels),
          sink(sink),
          options(options),
          records(info, engine.steps, engine.config.post, options.scores) {
        if (rate != info.sample_rate_hz) resampler = std::make_unique<Resampler>(rate, info.sample_rate_hz);
        records.start(options.index, options.name);
    }

    bool push(const float* samples, std::size_t count) {
        if (ended) return false;
        guarded([&] {
            const auto ch = static_cast<std::size_t>(channels);
            if (!carry.empty()) {  // complete the partial frame of the previous push first
                const std::size_t take = std::min(count, ch - carry.size());
                carry.insert(carry.end(), samples, samples + take);
                samples += take;
                count -= take;
                if (carry.size() < ch) return;
                take_frames(carry.data(), 1);
                carry.clear();
            }
            const std::size_t frames = count / ch;
            for (std::size_t done = 0; done < frames && !ended;) {
                const std::size_t n = std::min<std::size_t>(kSliceFrames, frames - done);
                take_frames(samples + done * ch, static_cast<std::int64_t>(n));
                done += n;
            }
            if (!ended) carry.assign(samples + frames * ch, samples + count);
        });
        return !ended;
    }

    void finish() {
        if (ended) return;
        guarded([&] {
            if (frames == 0) throw Failure(ErrorCode::empty_file, "no audio frames were pushed");
            if (resampler) {
                resampler->process(nullptr, 0, buf);
                // The length an offline run plans with (resampled_length), whatever libsoxr's flush gave.
                const std::int64_t total = resampled_length(frames, rate_hz, info.sample_rate_hz);
                buf.resize(static_cast<std::size_t>(std::max<std::int64_t>(0, total - buf_start)), 0.0f);
                received = total;
            }
            final_length = true;
            analyse(ready_windows());
            records.close(sink);
            ended = summarised = true;
            sink.on_summary(records.summary(static_cast<double>(frames) / rate_hz, rate_hz, channels));
        });
    }

    /// Runs `body`; a Failure (bad samples, a model error) ends the stream with its error record. Any other
    /// exception (from the sink, or out of memory) ends the stream without one and propagates.
    template <typename Body>
    void guarded(Body&& body) {
        try {
            body();
        } catch (const Failure& f) {
            fail(f.code(), f.what());
        } catch (...) {
            ended = true;
            throw;
        }
    }

    /// Destroyed without finish(): what was analysed keeps its events, the open ones marked as cut.
    void abandon() noexcept {
        if (ended) return;
        catch_failure([&] {
            if (records.segments() > 0) records.close(sink, true);
            ended = true;
            sink.on_error(FileError{options.index, options.name, ErrorCode::cancelled,
                                    "the stream was closed before finish()"});
        }, [](ErrorCode, const std::string&) {});
        ended = true;
    }

    /// Samples received at the model rate so far.
    [[nodiscard]] std::int64_t total_samples() const { return received; }

    /// Windows that can be analysed now: those a later sample shows are not the last, and all of them once the
    /// length is final.
    [[nodiscard]] std::int64_t ready_windows() const {
        const std::int64_t total = total_samples();
        const std::int64_t known = Segmenter::count_for(total, info.segment_samples, info.hop_samples);
        if (final_length) return known - next_window;
        // Window w is not the last once total > w * hop + length, i.e. once window w + 1 exists.
        return std::max<std::int64_t>(0, known - 1 - next_window);
    }

    /// The model-rate samples of windows [next_window, next_window + n), zero-padded past the end of the audio.
    const float* window_audio(std::int64_t n) {
        const std::int64_t first = next_window * info.hop_samples - buf_start;
        const std::int64_t need = first + (n - 1) * info.hop_samples + info.segment_samples;
        if (static_cast<std::int64_t>(buf.size()) < need) {
            // Only the last window reads past the audio; the padding is never taken for audio since the
            // length is final by then.
            buf.resize(static_cast<std::size_t>(need), 0.0f);
        }
        return buf.data() + first;
    }

    /// Analyses up to `n` waiting windows of this stream alone, in model calls of up to `batch` rows.
    void analyse(std::int64_t n) {
        if (n <= 0) return;
        e.pin_threads();  // OpenMP's thread count is per thread: this thread's, before its model calls
        const int batch = std::max(1, e.config.parallel.batch);
        while (n > 0 && !ended) {
            const int rows = static_cast<int>(std::min<std::int64_t>(n, batch));
            prepare_rows(rows, input);
            e.model->forward(input.data(), rows, scores);
            take_scores(rows, scores.data());
            n -= rows;
        }
    }

    /// The model input of the next `rows` waiting windows, appended to `out` ([rows][item]).
    void prepare_rows(int rows, std::vector<float>& out) {
        const std::size_t at = out.size();
        if (at == 0) out.reserve(static_cast<std::size_t>(std::max(1, e.config.parallel.batch)) * e.item_size);
        out.resize(at + static_cast<std::size_t>(rows) * e.item_size);
        const float* audio = window_audio(rows);
        if (e.logmel) {
            if (!scratch) scratch = e.logmel->make_scratch();
            e.logmel->compute_windows(audio, info.segment_samples, rows, info.hop_samples, info.hop_samples,
                                      out.data() + at, *scratch);
        } else {
            const auto S = static_cast<std::size_t>(info.segment_samples);
            for (int i = 0; i < rows; ++i)
                std::copy_n(audio + i * info.hop_samples, S, out.data() + at + static_cast<std::size_t>(i) * S);
        }
        prepared = rows;
    }

    /// Post-processes the raw scores of the `rows` windows prepare_rows took, sends their records and moves
    /// past them.
    void take_scores(int rows, float* raw) {
        const auto labels = static_cast<std::int64_t>(info.labels.size());
        const std::int64_t per_row = e.steps * labels;
        score_steps(raw, rows * e.steps, labels, info.activation, effective_top_k(info, e.config.post), options.scores ? &all : nullptr);
        segs.resize(static_cast<std::size_t>(rows));
        // Before the length is final, the windows described here are whole and not the last, which is what
        // the length so far says of them.
        describe_segments(next_window, rows, total_samples(), info.segment_samples, info.hop_samples, segs.data());
        for (int i = 0; i < rows; ++i)
            records.segment(segs[static_cast<std::size_t>(i)], raw + i * per_row,
                            options.scores ? all.data() + i * per_row : nullptr, sink);
        next_window += rows;
        prepared = 0;
        input.clear();
        drop_analysed();
    }

    void fail(ErrorCode code, std::string message) {
        if (ended) return;
        ended = true;
        buf.clear();
        buf.shrink_to_fit();
        if (e.log) e.log->debug("{}: {}", options.name, message);
        sink.on_error(FileError{options.index, options.name, code, std::move(message)});
    }

    const Engine::Impl& e;
    const ModelInfo& info;
    const int rate_hz, channels;
    Sink& sink;
    const StreamOptions options;
    InputRecords records;

    std::unique_ptr<Resampler> resampler;  // null when the stream is at the model's rate
    std::vector<float> carry;              // the start of a frame whose other channels have not come yet
    std::vector<float> mono;
    std::vector<float> buf;                // model-rate samples from buf_start on
    std::int64_t buf_start = 0;
    std::int64_t received = 0;             // model-rate samples so far (buf may hold zero padding past them)
    std::int64_t frames = 0;               // whole frames pushed
    std::int64_t next_window = 0;          // the first window not yet analysed
    bool final_length = false;             // finish() has flushed the resampler: the length is known
    bool ended = false;                    // the terminal record is out
    bool summarised = false;               // ... and it is a summary

    std::unique_ptr<LogMel::Scratch> scratch;
    std::vector<float> input, scores, all;  // model input rows, raw scores, scores before top-k
    std::vector<SegmentInfo> segs;
    int prepared = 0;  // rows of `input` waiting for Engine::analyse_streams' model call

private:
    /// Downmixes, checks and resamples `n` whole frames, then analyses what they completed (or leaves it for
    /// analyse_streams, within the pending bound).
    void take_frames(const float* interleaved, std::int64_t n) {
        mono.resize(static_cast<std::size_t>(n));
        downmix(interleaved, n, channels, frames, mono.data());
        frames += n;
        if (resampler) resampler->process(mono.data(), static_cast<std::size_t>(n), buf);
        else buf.insert(buf.end(), mono.begin(), mono.end());
        received = buf_start + static_cast<std::int64_t>(buf.size());
        const std::int64_t ready = ready_windows();
        if (options.analyse_on_push || ready >= options.max_pending_windows) analyse(ready);
    }

    /// Forgets the samples no later window reads.
    void drop_analysed() {
        const std::int64_t keep_from = std::min(next_window * info.hop_samples, total_samples());
        const std::int64_t drop = keep_from - buf_start;
        if (drop <= 0) return;
        buf.erase(buf.begin(), buf.begin() + drop);
        buf_start = keep_from;
    }
};

Stream::Stream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Stream::~Stream() {
    if (impl_) impl_->abandon();
}

bool Stream::push(const float* samples, std::size_t count) { return impl_->push(samples, count); }
void Stream::finish() { impl_->finish(); }
std::size_t Stream::pending_windows() const noexcept {
    return impl_->ended ? 0 : static_cast<std::size_t>(std::max<std::int64_t>(0, impl_->ready_windows()));
}
bool Stream::ended() const noexcept { return impl_->ended; }
std::int64_t Stream::frames_pushed() const noexcept { return impl_->frames; }

std::unique_ptr<Stream> Engine::open_stream(int sample_rate_hz, int channels, Sink& sink,
                                            const StreamOptions& options) const {
    if (sample_rate_hz < kMinSampleRateHz || sample_rate_hz > kMaxSampleRateHz)
        throw std::invalid_argument("open_stream: sample rate " + std::to_string(sample_rate_hz) + " Hz is not in [" +
                                    std::to_string(kMinSampleRateHz) + ", " + std::to_string(kMaxSampleRateHz) + "]");
    if (channels < 1 || channels > kMaxChannels)
        throw std::invalid_argument("open_stream: " + std::to_string(channels) + " channels is not in [1, " +
                                    std::to_string(kMaxChannels) + "]");
    if (options.max_pending_windows < 1 || options.max_pending_windows > 4096)
        throw std::invalid_argument("open_stream: max_pending_windows = " + std::to_string(options.max_pending_windows) +
                                    " is not in [1, 4096]");
    return std::unique_ptr<Stream>(new Stream(std::make_unique<Stream::Impl>(*impl_, sample_rate_hz, channels, sink, options)));
}

void Engine::analyse_streams(const std::vector<Stream*>& streams) const {
    impl_->pin_threads();
    const int batch = std::max(1, impl_->config.parallel.batch);
    // Rounds: every stream with windows waiting gives up to `batch` of them; the rows of a round go to the
    // model in calls of `batch` rows, so one call can hold windows of several streams.
    std::vector<float> input, scores;
    std::vector<Stream::Impl*> owners;  // the stream of each row
    for (;;) {
        std::vector<Stream::Impl*> round;
        for (Stream* s : streams) {
            if (s == nullptr || s->impl_->ended || &s->impl_->e != impl_.get()) continue;
            if (s->impl_->ready_windows() > 0) round.push_back(s->impl_.get());
        }
        if (round.empty()) return;
        std::size_t next = 0;
        while (next < round.size()) {
            // Fill one model call with whole groups of windows, one group per stream.
            input.clear();
            owners.clear();
            int rows = 0;
            for (; next < round.size() && rows < batch; ++next) {
                Stream::Impl& s = *round[next];
                const int n = static_cast<int>(std::min<std::int64_t>(s.ready_windows(), batch - rows));
                s.guarded([&] {
                    s.prepare_rows(n, s.input);
                    input.insert(input.end(), s.input.begin(), s.input.end());
                    owners.insert(owners.end(), static_cast<std::size_t>(n), &s);
                    rows += n;
                });
            }
            if (rows == 0) continue;
            const auto per_row = static_cast<std::size_t>(impl_->steps * static_cast<std::int64_t>(impl_->model->info().labels.size()));
            try {
                impl_->model->forward(input.data(), rows, scores);
            } catch (const Failure&) {
                // A model error in a shared call cannot be pinned on one stream: each stream's windows go
                // through the model again on their own, so that only the stream whose audio raises fails.
                for (std::size_t row = 0; row < owners.size();) {
                    Stream::Impl& s = *owners[row];
                    row += static_cast<std::size_t>(s.prepared);
                    s.guarded([&] {
                        impl_->model->forward(s.input.data(), s.prepared, s.scores);
                        s.take_scores(s.prepared, s.scores.data());
                    });
                }
                continue;
            }
            for (std::size_t row = 0; row < owners.size();) {
                Stream::Impl& s = *owners[row];
                const int n = s.prepared;
                s.guarded([&] { s.take_scores(n, scores.data() + row * per_row); });
                row += static_cast<std::size_t>(n);
            }
        }
    }
}

RunStats Engine::run_pipe(int fd, Sink& sink, const PipeOptions& options) const {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = process_cpu_seconds();
    const StreamOptions& so = options.stream;
    RunStats stats;
    stats.threads = 1;
    const auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(); };
    stats.files_failed = 1;  // until the summary is out
    std::unique_ptr<AudioSource> source;
    try {
        source = AudioSource::open_pipe(fd, impl_->config.raw_format, options.cancel);
    } catch (const Failure& f) {
        sink.on_error(FileError{so.index, so.name, cancelled() ? ErrorCode::cancelled : f.code(), f.what()});
    }
    if (source) {
        StreamOptions live = so;
        live.analyse_on_push = true;
        const std::unique_ptr<Stream> stream = open_stream(source->rate_hz(), source->channels(), sink, live);
        Stream::Impl& st = *stream->impl_;
        // Blocks of about 20 ms: each read waits for its whole block, so this is the delay reading adds.
        const std::int64_t block = std::max(64, source->rate_hz() / 50);
        std::vector<float> buf(static_cast<std::size_t>(block * source->channels()));
        st.guarded([&] {
            for (;;) {
                if (cancelled()) return;
                const std::int64_t got = source->read(buf.data(), block);
                if (got == 0) break;
                if (!stream->push(buf.data(), static_cast<std::size_t>(got * source->channels()))) return;
            }
            if (!cancelled()) stream->finish();
        });
        stats.audio_seconds = static_cast<double>(st.frames) / source->rate_hz();
        stats.segments = st.records.segments();
        if (st.summarised) {
            stats.files_ok = 1;
            stats.files_failed = 0;
        }
        // Leaving the scope without finish() (cancelled) sends the cancelled record.
    }
    stats.cancelled = cancelled();
    sink.on_finish();
    stats.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats.cpu_seconds = process_cpu_seconds() - cpu0;
    return stats;
}

}  // namespace arpipe
