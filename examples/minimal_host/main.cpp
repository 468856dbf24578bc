// A host program that tags one audio file through an installed arpipe.
// Build: cmake -S examples/minimal_host -B host-build -DCMAKE_PREFIX_PATH=<arpipe prefix> && cmake --build host-build
#include <arpipe/engine.h>

#include <iostream>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: minimal_host AUDIO [MODEL]\n";
        return 2;
    }
    arpipe::Config config;
    if (argc > 2) config.model_path = argv[2];  // default: the installed tagger
    config.parallel.threads = 2;
    auto loaded = arpipe::Engine::load(config);
    if (!loaded.engine) {
        std::cerr << loaded.error << '\n';
        return 2;
    }
    const arpipe::FileResult result = loaded.engine->process_file(argv[1]);
    if (result.error) {
        std::cerr << result.error->file << ": " << result.error->message << '\n';
        return 1;
    }
    for (const arpipe::Event& e : result.events)
        std::cout << e.label << ' ' << e.start_seconds << ' ' << e.end_seconds << ' ' << e.score << '\n';
    return 0;
}
