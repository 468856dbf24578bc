// A host that tags live audio through an installed arpipe: a sound file stands in for a capture device and
// is pushed in 20 ms blocks at real time (or `--speed` times faster). Each event is printed the moment the
// stream sends it, with its latency: how much audio had been pushed past the event's end at that moment.
// Build: cmake -S examples/live_host -B live-build -DCMAKE_PREFIX_PATH=<arpipe prefix> && cmake --build live-build
#include <arpipe/engine.h>
#include <sndfile.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

/// Prints events as they come, one line each: label, start, end, score, and the latency in audio seconds.
class Printer final : public arpipe::Sink {
public:
    Printer(const arpipe::Stream*& stream, int rate) : stream_(stream), rate_(rate) {}
    void on_event(const arpipe::Event& e) override {
        const double pushed = static_cast<double>(stream_->frames_pushed()) / rate_;
        const double latency = pushed - e.end_seconds;
        if (latency > worst_latency) worst_latency = latency;
        std::printf("event %s %.3f %.3f %.4f latency %.3f\n", e.label.c_str(), e.start_seconds, e.end_seconds, e.score,
                    latency);
        std::fflush(stdout);
    }
    void on_summary(const arpipe::FileSummary& s) override {
        std::printf("summary %.3f s, %lld windows, %lld events\n", s.duration_seconds,
                    static_cast<long long>(s.segments), static_cast<long long>(s.events));
    }
    void on_error(const arpipe::FileError& e) override {
        std::fprintf(stderr, "%s: %s (%s)\n", e.file.c_str(), e.message.c_str(), std::string(arpipe::to_string(e.code)).c_str());
        failed = true;
    }
    double worst_latency = 0;
    bool failed = false;

private:
    const arpipe::Stream*& stream_;
    int rate_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: live_host AUDIO [--speed X] [--model MODEL]\n");
        return 2;
    }
    double speed = 1.0;
    arpipe::Config config;  // default model: the installed tagger
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--speed") speed = std::atof(argv[i + 1]);
        else if (flag == "--model") config.model_path = argv[i + 1];
    }
    SF_INFO info{};
    SNDFILE* file = sf_open(argv[1], SFM_READ, &info);
    if (file == nullptr) {
        std::fprintf(stderr, "%s: %s\n", argv[1], sf_strerror(nullptr));
        return 1;
    }
    auto loaded = arpipe::Engine::load(config);
    if (!loaded.engine) {
        std::fprintf(stderr, "%s\n", loaded.error.c_str());
        return 2;
    }
    const arpipe::Stream* current = nullptr;
    Printer printer(current, info.samplerate);
    arpipe::StreamOptions options;
    options.name = argv[1];
    std::unique_ptr<arpipe::Stream> stream = loaded.engine->open_stream(info.samplerate, info.channels, printer, options);
    current = stream.get();

    // 20 ms blocks, each pushed when a capture device would have delivered it.
    const sf_count_t block = info.samplerate / 50;
    std::vector<float> buf(static_cast<std::size_t>(block * info.channels));
    const auto start = std::chrono::steady_clock::now();
    sf_count_t pushed = 0;
    for (sf_count_t got; (got = sf_readf_float(file, buf.data(), block)) > 0;) {
        pushed += got;
        const auto due = start + std::chrono::duration<double>(static_cast<double>(pushed) / info.samplerate / speed);
        std::this_thread::sleep_until(due);
        if (!stream->push(buf.data(), static_cast<std::size_t>(got * info.channels))) break;
    }
    sf_close(file);
    stream->finish();
    std::printf("worst latency %.3f s of audio\n", printer.worst_latency);
    return printer.failed ? 1 : 0;
}
