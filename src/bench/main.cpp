// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// arpipe-bench, the throughput lab as a program of its own: flags in, arpipe::bench::run out (bench.h). The
// driver starts this same program again as `arpipe-bench --worker SPEC` for every measuring process
// (worker.cpp); that flag is internal and hidden from --help.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "arpipe/version.h"
#include "bench/bench.h"
#include "bench/targets.h"
#include "bench/workload.h"

#ifdef ARPIPE_WITH_JEMALLOC
// The arpipe command's jemalloc options (src/cli/main.cpp, which says why), so that the workers measure
// the engine with the allocator set up as the product runs it. MALLOC_CONF in the environment still
// overrides them.
extern "C" {
const char* malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif

namespace {

constexpr int kExitUsage = 2;

const char* kDescription =
    "arpipe-bench: the throughput lab. Measure arpipe against the case study's naive threaded engine and against "
    "single-threaded processes, on one workload, and write bench.csv and bench.json (plot them with "
    "tools/bench/plot.py).";

const char* kFooter =
    "Engines: arpipe (one TBB arena of T threads, LibTorch pools at 1); naive (T std::threads running all stages, "
    "at::set_num_threads(intra) on the main thread only, as the case study did); multiproc (P processes of "
    "arpipe -j 1, each with a share of the files).\n"
    "Experiments: scaling (engine threads x intra-op threads x engines), batch and tokens (arpipe at -j cores), "
    "paired (arpipe -j 1, arpipe -j cores, multiproc P = cores and the naive engine, run back to back in rounds; "
    "the targets are medians of per-round ratios).\n"
    "Every configuration runs in fresh worker processes after a warm-up; each point keeps the median of its "
    "runs. At the end it prints the targets of docs/performance.md (paired medians; goals from the --targets "
    "file), Amdahl's bound at 16 cores from the 1-thread run's serial share ((input + output filter time) / wall "
    "time; an estimate) and a recommendation (threads, batch, tokens) for this host. Figures: wall time, "
    "throughput (audio seconds per second = x real time), CPU utilisation ((user+sys) / wall / cores), peak RSS "
    "(summed over processes), threads seen in /proc/self/task, per-stage time shares (input, decode, features, "
    "infer, output; input and output are the serial filters) and p50/p95 per-token times, speedup and parallel "
    "efficiency.\n"
    "Examples:\n"
    "  arpipe-bench --quick                               # ~10 s, a CI smoke run\n"
    "  arpipe-bench --synthetic 30m --out-dir docs/bench  # the sweep of docs/performance.md (see "
    "tools/bench/full_sweep.sh)\n"
    "  arpipe-bench --experiments paired --pairs 9 -m data/models/silero_vad.pt\n"
    "  arpipe-bench --synthetic 10m --synthetic-format mp3 --synthetic-rate 44100 --synthetic-channels 2  # "
    "decode MP3, downmix and resample\n"
    "Exit codes: 0 done; 2 bad options, a targets file that is missing or invalid, or a model or worker failed; "
    "3 the results could not be written.";

}  // namespace

int main(int argc, char** argv) {
    namespace bench = arpipe::bench;
    bench::Options o;
    std::string synthetic, worker_spec;

    CLI::App app{kDescription, "arpipe-bench"};
    app.footer(kFooter);
    // One declaration per flag. The declarations below look alike (CLI11's option chains), but each binds a
    // different setting; no logic repeats.
    app.set_version_flag("--version", std::string("arpipe-bench ") + arpipe::version_string());
    app.add_option("inputs", o.inputs, "Audio files or directories to use as the workload (default: synthetic audio)");
    app.add_option("--synthetic", synthetic,
                   "Synthetic workload of this much audio, e.g. 90s, 10m, 1h (default 2m; 20s with --quick)")
        ->take_last();
    app.add_option("--synthetic-files", o.synthetic_files,
                   "Split the synthetic audio into this many files (default 48, which divides evenly among 1, 2, 3, "
                   "4, 6, 8, 12, 16 and 24 processes; 8 with --quick)")
        ->take_last()
        ->check(CLI::Range(1, 100000));
    app.add_option("--synthetic-rate", o.synthetic_rate_hz,
                   "Sample rate of the synthetic audio in Hz (default 16000, the bundled models' rate; another rate "
                   "adds resampling). Opus takes 8000, 12000, 16000, 24000 or 48000; MP3 8000, 11025, 12000, "
                   "16000, 22050, 24000, 32000, 44100 or 48000")
        ->take_last()
        ->check(CLI::Range(1000, 768000));
    app.add_option("--synthetic-format", o.synthetic_format,
                   "Format of the synthetic files: wav (16-bit PCM, the default), flac (16-bit), mp3 or opus (Ogg), "
                   "written with libsndfile, so that the decode stage does a real decoder's work. MP3 and Opus are "
                   "encoded before the bench starts (10 minutes of 44.1 kHz stereo MP3: about 5 s on 2 cores)")
        ->take_last();
    app.add_option("--synthetic-channels", o.synthetic_channels,
                   "Channels of the synthetic audio (default 1); each channel gets its own small gain and delay, so "
                   "the decode stage's downmix averages different signals. MP3 takes 1 or 2, FLAC up to 8")
        ->take_last()
        ->check(CLI::Range(1, 64));
    app.add_flag("--in-memory", o.in_memory,
                 "Workers synthesize the audio in memory as float PCM (arpipe::Input::pcm, at --synthetic-rate with "
                 "--synthetic-channels) instead of reading files from a temporary folder; the RSS figures then "
                 "include the audio. Only with --synthetic-format wav");
    app.add_option("-m,--model", o.model,
                   "TorchScript model (default: the bundled tagger; data/models/silero_vad.pt while it is missing)")
        ->take_last();
    app.add_option("-j,--threads", o.threads,
                   "Engine threads to sweep, comma-separated; also the process counts of multiproc (default 1..2 x "
                   "cores up to 4 cores; powers of two, cores, 1.5 x and 2 x cores above)")
        ->delimiter(',')
        ->check(CLI::Range(1, 1024));
    app.add_option("--intra-op", o.intra_op,
                   "LibTorch intra-op thread counts for the naive engine, comma-separated (default 1, 2, 4, ..., "
                   "cores)")
        ->delimiter(',')
        ->check(CLI::Range(1, 1024));
    app.add_option("--batch", o.batch, "Segments per model call outside the batch sweep")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_flag("--naive-model-per-thread", o.naive_model_per_thread,
                 "Give each thread of the naive engine its own copy of the model instead of one shared module (to "
                 "measure what sharing one module costs)");
    app.add_option("--batches", o.batches, "Batch sizes for the batch sweep, comma-separated (default 1,2,4,8,16)")
        ->delimiter(',')
        ->check(CLI::Range(1, 1024));
    app.add_option("--tokens", o.tokens,
                   "Live-token bounds for the tokens sweep, comma-separated (default 1, T, T+1, 2T, 2T+2, 4T+4 for "
                   "T = cores)")
        ->delimiter(',')
        ->check(CLI::Range(1, 65536));
    app.add_option("--engines", o.engines, "Engines to run, comma-separated: arpipe, naive, multiproc (default all)")
        ->delimiter(',');
    app.add_option("--experiments", o.experiments,
                   "Experiments to run, comma-separated: scaling, batch, tokens, paired (default all; scaling and "
                   "paired with --quick)")
        ->delimiter(',');
    app.add_option("--repeats", o.repeats, "Timed runs per point; the median is kept (default 5; 1 with --quick)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--pairs", o.pairs, "Rounds of the paired experiment (default 7; 1 with --quick)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--cores", o.cores,
                   "Cores to plan the sweeps and compute utilisation for (default: the CPUs this process may use)")
        ->check(CLI::Range(1, 1024));
    app.add_flag("--quick", o.quick,
                 "Small and fast: 20 s of audio, threads and intra-op {1, cores}, scaling and paired only, one run "
                 "each");
    app.add_option("--targets", o.targets,
                   "JSON file of the targets checked at the end: each one's description and goal (default: " +
                       bench::default_targets_path() + ")")
        ->take_last();
    app.add_option("-o,--out-dir", o.out_dir, "Folder for bench.csv and bench.json")
        ->capture_default_str()
        ->take_last();
    app.add_flag("--keep-workload", o.keep_workload, "Keep the synthetic files; their folder is printed at the end");
    app.add_flag("-q,--quiet", o.quiet, "No progress lines on stderr");
    app.add_option("--worker", worker_spec, "Internal: run as a measuring worker (JSON spec)")->group("");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : kExitUsage;
    }
    if (!worker_spec.empty()) return bench::run_worker(worker_spec);
    if (!synthetic.empty()) {
        o.synthetic_seconds = bench::parse_duration(synthetic);
        if (o.synthetic_seconds <= 0) {
            std::cerr << "arpipe-bench: --synthetic " << synthetic << " is not a duration such as 90s, 10m or 1h\n";
            return kExitUsage;
        }
    }
    for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);
    return bench::run(std::move(o), std::cerr);
}
