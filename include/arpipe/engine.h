// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// arpipe::Engine: audio in, timestamped tags out, through one TBB pipeline
// (decode/segment -> features -> inference -> events).
//
// Thread-safety contract
//   * `Engine::load` builds an engine; after that the engine is immutable. One engine may be shared by any
//     number of threads, and `run` may be called from several threads at once: each call makes its own TBB
//     arena of `threads` workers and its own per-run state. Two engines in one process are independent.
//   * A run uses exactly the threads of its arena (the calling thread is one of them); LibTorch's intra-op
//     and inter-op pools are held at one thread on every worker, and no other library starts a pool (unless
//     Config::keep_host_threading is set; see below).
//   * Sink callbacks of one run come from one thread at a time, in input order, then time order.
//   * Streams (arpipe/stream.h) run on their caller's thread, no arena; one thread at a time per stream.
//   * To cancel, set the `std::atomic<bool>` named in RunOptions from any thread; the run stops taking new
//     audio, finishes what is in flight, and reports every unfinished input as an error with code
//     `cancelled`.
//
// Process-wide state: what loading and running change for the whole process. Nothing is restored.
//   * LibTorch inter-op threads: the first Engine::load sets at::set_num_interop_threads(1), unless the host
//     set it (or started inter-op work) before. LibTorch refuses any later setting, the host's too.
//   * LibTorch intra-op threads: at::set_num_threads(1) on every thread before it runs the model: the thread
//     that calls Engine::load, the thread that calls `run`, every worker as it enters the run's arena
//     (with RunOptions::use_caller_arena, the host's own arena), and the thread that analyses a stream
//     (Stream::push, Stream::finish, analyse_streams, run_pipe). The count is per thread and stays 1 after
//     the run; TBB's workers serve every arena of the process, so they keep it in the host's own TBB work.
//     at::set_num_threads also sets ATen's process default: a thread that first uses LibTorch later (a new
//     std::thread) starts at 1 as well.
//   * OpenBLAS: the first Engine::load brings the pthreads build to one thread and stops its thread pool, for
//     every BLAS call in the process.
//   * LibTorch's CPU allocator: Engine::load with Config::max_memory_bytes != 0 wraps it, once per process
//     (c10::SetCPUAllocator, never removed), so every CPU tensor the process allocates afterwards counts
//     against the cap; the engine loaded last sets the cap (0 lifts it, the wrapper stays).
//   * During a run only: a TBB observer on its arena (the host's arena with use_caller_arena); with more
//     threads than the hardware has, a raised tbb::global_control limit and, after the run, tbb::finalize when
//     no other run is in progress (it declines, and does nothing, while the host uses TBB).
//   With Config::keep_host_threading the first three items are left out: no thread count is set on any thread
//   and OpenBLAS keeps its pool; the allocator follows max_memory_bytes either way. Shared but not changed:
//   FFTW's single-precision planner, called by Engine::load under arpipe's own mutex (a host planning
//   fftwf_ transforms in another thread at the same time must not overlap a load).
//
// Usage
//   arpipe::Config config;
//   config.model_path = "data/models/tagger.pt";
//   auto loaded = arpipe::Engine::load(config);
//   if (!loaded.engine) { std::cerr << loaded.error << '\n'; return 2; }
//   auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, std::cout);
//   arpipe::RunStats stats = loaded.engine->run(arpipe::expand_paths({"a.wav", "dir/"}), *writer);
//   return stats.files_failed == 0 ? 0 : 1;
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/export.h"
#include "arpipe/result.h"
#include "arpipe/stream.h"

namespace arpipe {

/// What a model reads: log-mel features computed by arpipe, or the waveform itself.
enum class InputKind { log_mel, waveform };
/// What a model returns per window: one score vector (clip), one per frame (frames), or per-frame token
/// scores that greedy CTC decoding turns into transcripts (ctc).
enum class OutputKind { clip, frames, ctc };
/// What the numbers of a ctc model's output are: log-probabilities (log_softmax already applied) or raw
/// logits. arpipe applies a softmax over the vocabulary to both (for true log-probabilities it changes
/// nothing) and uses the resulting posteriors for the argmax and the confidences.
enum class CtcScores { log_probs, logits };
/// How raw outputs become scores in [0, 1].
enum class Activation { softmax, sigmoid, none };
/// The mel scale of a log_mel input: HTK (torchaudio's default) or Slaney's.
enum class MelScale { htk, slaney };
/// Filter normalisation of a log_mel input: none, or Slaney's area normalisation.
enum class MelNorm { none, slaney };

/// The name each kind has in arpipe.json, e.g. "log_mel", "frames", "softmax".
[[nodiscard]] ARPIPE_API std::string_view to_string(InputKind kind) noexcept;
[[nodiscard]] ARPIPE_API std::string_view to_string(OutputKind kind) noexcept;
[[nodiscard]] ARPIPE_API std::string_view to_string(Activation activation) noexcept;
[[nodiscard]] ARPIPE_API std::string_view to_string(CtcScores scores) noexcept;
[[nodiscard]] ARPIPE_API std::string_view to_string(CtcDecoding decoding) noexcept;
[[nodiscard]] ARPIPE_API std::string_view to_string(MelScale scale) noexcept;
[[nodiscard]] ARPIPE_API std::string_view to_string(MelNorm norm) noexcept;

/// What a model expects and emits, read from its arpipe.json (docs/model-contract.md).
struct ModelInfo {
    std::string path;
    std::string name;
    std::string description;
    int sample_rate_hz = 0;
    InputKind input_kind = InputKind::log_mel;
    int n_fft = 0, win_length = 0, hop_length = 0, n_mels = 0;
    double f_min_hz = 0, f_max_hz = 0;
    MelScale mel_scale = MelScale::htk;
    MelNorm mel_norm = MelNorm::none;
    double power = 2.0;
    double log_offset = 1e-6;
    double segment_seconds = 0, hop_seconds = 0;
    std::int64_t segment_samples = 0, hop_samples = 0;
    OutputKind output_kind = OutputKind::clip;
    double frame_hop_seconds = 0; ///< frames and ctc
    /// frames and clip: from the description. ctc: always softmax (over the vocabulary, see CtcScores).
    Activation activation = Activation::none;
    CtcScores ctc_scores = CtcScores::log_probs;  ///< ctc only
    int blank = 0;                                ///< ctc only: index of the blank token in `labels`
    /// ctc only: the token that separates words ("|" or " "); empty when the model has none, and every
    /// token is then a word of its own.
    std::string word_separator;
    std::vector<std::string> labels;  ///< class names; for ctc the token vocabulary
    /// ctc only: the description's `output.lexicon`, a closed vocabulary for lexicon decoding (empty: none).
    std::vector<std::string> lexicon;
    /// ctc only: the description's `output.word_penalty` for lexicon decoding (see PostConfig::word_penalty).
    double word_penalty = 0;
    /// ctc only: the description's `output.language_model`, ARPA text of a unigram or bigram word model for
    /// lexicon decoding (empty: none), checked when the model loads.
    std::string language_model;
    /// ctc only: the description's `output.lm_weight` (see PostConfig::lm_weight); 1 when it has none.
    double lm_weight = 1;
    /// ctc only: the size of `language_model`, and how many lexicon words it lacks (they read its <unk>).
    struct LanguageModelSize {
        std::size_t unigrams = 0, bigrams = 0, lexicon_words_missing = 0;
    } language_model_size;
    std::string description_json; ///< the arpipe.json text as stored in the model
};

/// One input: a file path, or PCM samples held by the host.
struct Input {
    std::string name;                ///< the path, or a name for an in-memory input
    std::vector<float> samples;      ///< interleaved PCM in [-1, 1] (in-memory inputs only)
    int sample_rate_hz = 0;          ///< in-memory inputs only
    int channels = 0;                ///< in-memory inputs only
    bool in_memory = false;
    std::string problem;             ///< set by expand_paths when the input cannot be read at all
    ErrorCode problem_code = ErrorCode::not_found;  ///< the code of the error record `problem` gives

    ARPIPE_API static Input file(std::string path);
    ARPIPE_API static Input pcm(std::string name, std::vector<float> interleaved, int sample_rate_hz, int channels);
};

/// What `expand_paths` found in the directories it was given, so that a caller can say when a directory held
/// no audio (an empty directory, or one of .m4a and .txt files, gives no input and so no record).
struct ExpandReport {
    /// One directory given to `expand_paths` (files given directly have no entry).
    struct Directory {
        std::string directory;           ///< the path as given
        std::size_t audio_files = 0;     ///< inputs it gave: files with an audio extension, at any depth
        std::size_t skipped_files = 0;   ///< files left out because their extension is not an audio one
        /// Up to 5 of the skipped extensions, lower-case with the dot (".m4a"; "" for a name without one), the
        /// most frequent first (ties in name order).
        std::vector<std::string> skipped_extensions;
        /// Set when the directory could not be read; it then also gave one input carrying this problem, which
        /// gets an error record.
        std::string problem;
    };
    std::vector<Directory> directories;  ///< in the order the directories were given
};

/// Expands paths into inputs: files as given, directories walked recursively in sorted order keeping audio
/// extensions only (wav, flac, ogg, oga, opus, mp3, aif, aiff, au, caf, w64, raw, pcm); directory symlinks are
/// not followed, so symlink loops cannot recur. A path that does not exist stays an input and gets a
/// `not_found` error record when the run reaches it. When `report` is set, it is cleared and then receives
/// one entry per directory given: how many audio files it gave and how many files it skipped.
[[nodiscard]] ARPIPE_API std::vector<Input> expand_paths(const std::vector<std::string>& paths,
                                                         ExpandReport* report = nullptr);

/// Measurements for benchmarks and tests, filled at the end of a run that asks for them
/// (`RunOptions::diagnostics`). The timing vectors grow by one entry per token, so runs collect them only on
/// request.
struct RunDiagnostics {
    int max_serial_concurrency = 0;              ///< most threads seen inside one serial filter at once (must be 1)
    std::vector<double> token_seconds_features;  ///< per-token time in the features filter, in output order
    std::vector<double> token_seconds_infer;     ///< per-token time in the inference filter, in output order
};

/// Per-call settings of `Engine::run`.
struct RunOptions {
    const std::atomic<bool>* cancel = nullptr;  ///< set to true (from any thread) to stop the run
    std::optional<ParallelConfig> parallel;  ///< overrides the engine's ParallelConfig for this run
    /// Run inside the caller's current TBB arena (a host that already owns one) instead of making an arena of
    /// `threads` workers; the arena's concurrency then sets the thread count. arpipe still pins LibTorch's
    /// pools on every worker of that arena while the run lasts.
    bool use_caller_arena = false;
    RunDiagnostics* diagnostics = nullptr;  ///< when set, receives the run's diagnostics (see RunDiagnostics)
    bool scores = false;  ///< also send every step's scores to Sink::on_scores (off: they cost a record per step)
};
// The pause that splits a ctc model's transcripts into utterances is Config::post.utterance_gap_seconds.

/// Everything one input produced, for `Engine::process_file`.
struct FileResult {
    std::vector<Event> events;
    std::vector<Transcript> transcripts;  ///< ctc models
    std::optional<FileSummary> summary;  ///< set when the input was processed to its end
    std::optional<FileError> error;      ///< set when it failed
};

class Engine;

/// What `Engine::load` returns: an engine, or an error message naming the problem.
struct [[nodiscard]] LoadResult {
    std::shared_ptr<const Engine> engine;
    ErrorCode code = ErrorCode::internal;  ///< bad_config or bad_model when `engine` is null
    std::string error;
};

class Engine {
public:
    /// Validates the config, loads the model and its description, and runs it once on a zero batch to check
    /// the output shape. Never throws for bad input; the message says which field or file is wrong.
    /// Changes process-wide settings and restores none (the list is at the top of this header): LibTorch's
    /// thread counts and OpenBLAS's pool unless `config.keep_host_threading`, the allocator cap unless
    /// `config.max_memory_bytes` is 0.
    ARPIPE_API static LoadResult load(const Config& config);
    /// The same with the model's bytes (the content of a TorchScript file with its arpipe.json) instead of
    /// `config.model_path`, for hosts that ship models inside their own bundle. `config.model_path`, when set,
    /// only names the model in messages and in `ModelInfo::path` (default "model in memory").
    ARPIPE_API static LoadResult load(const Config& config, const std::string& model_bytes);

    ARPIPE_API ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Processes `inputs` through the pipeline, streaming records to `sink`. Every input ends in exactly one
    /// `on_summary` or `on_error`. Safe to call concurrently on one engine. Throws std::invalid_argument, before
    /// any record, when `options.parallel` is out of range (the message names the field, as validate() does);
    /// an exception thrown by the sink ends the run and propagates.
    ARPIPE_API RunStats run(const std::vector<Input>& inputs, Sink& sink, const RunOptions& options = {}) const;

    /// Convenience: one file, results collected in memory.
    [[nodiscard]] ARPIPE_API FileResult process_file(const std::string& path) const;

    /// A stream for live audio of `sample_rate_hz` and `channels` (interleaved), whose records go to `sink`
    /// as they become final (see arpipe/stream.h). Throws std::invalid_argument when the rate is outside
    /// [1000, 768000] Hz, the channels outside [1, 64], or an option out of range.
    [[nodiscard]] ARPIPE_API std::unique_ptr<Stream> open_stream(int sample_rate_hz, int channels, Sink& sink,
                                                                 const StreamOptions& options = {}) const;

    /// Analyses the windows waiting in `streams` (streams of this engine opened with analyse_on_push false),
    /// batching windows of different streams into shared model calls of up to `parallel.batch` rows; each
    /// stream's records go to its own sink, in its own time order. Runs on the calling thread. Streams that
    /// have ended, or have nothing waiting, are skipped.
    ARPIPE_API void analyse_streams(const std::vector<Stream*>& streams) const;

    /// Tags the audio read from file descriptor `fd` (a pipe, standard input, a socket) until it ends, through
    /// a stream, so that records reach `sink` as soon as they are final. The audio is raw PCM in
    /// `config().raw_format` when that is set, otherwise any format libsndfile recognises from its first bytes
    /// and can read without seeking (WAV, FLAC, Ogg Vorbis/Opus, AU, ...). The input ends in one summary or
    /// one error record, as a file does; `on_finish` follows. `fd` is read, never closed. Returns the stats of
    /// this one-input run.
    ARPIPE_API RunStats run_pipe(int fd, Sink& sink, const PipeOptions& options = {}) const;

    [[nodiscard]] ARPIPE_API const ModelInfo& model() const noexcept;
    [[nodiscard]] ARPIPE_API const Config& config() const noexcept;

    struct Impl;

private:
    explicit Engine(std::unique_ptr<Impl> impl);
    static LoadResult load_impl(const Config& config, const std::string* model_bytes);
    std::unique_ptr<Impl> impl_;
};

/// The process's memory as the kernel and the allocator see it. The jemalloc figures are filled when the
/// process runs on jemalloc (the arpipe CLI links it; a host may too), found at run time, so the library
/// itself does not depend on it.
struct MemoryStats {
    double rss_mb = 0;       ///< resident set size now (VmRSS)
    double peak_rss_mb = 0;  ///< highest resident set size so far (VmHWM)
    double anon_rss_mb = 0;  ///< resident anonymous memory now (RssAnon): the heap, without mapped library code
    bool jemalloc = false;   ///< whether the figures below are set
    double allocated_mb = 0; ///< bytes the application holds (stats.allocated)
    double active_mb = 0;    ///< pages backing those allocations (stats.active)
    double resident_mb = 0;  ///< allocator pages resident in RAM, metadata included (stats.resident)
    double mapped_mb = 0;    ///< allocator extents mapped (stats.mapped)
};

/// A snapshot of the process's memory. Cheap (a /proc read and a few mallctl calls); safe from any thread.
[[nodiscard]] ARPIPE_API MemoryStats memory_stats();

/// The path of the bundled default model: $ARPIPE_MODEL if set, else share/arpipe/models/tagger.pt of the
/// prefix this library is installed in (found relative to the library, so a moved prefix works), of the
/// build tree, or of the configured install prefix, whichever exists. Never a compiled-in source-tree path.
[[nodiscard]] ARPIPE_API std::string default_model_path();

}  // namespace arpipe
