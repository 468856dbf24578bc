// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// CTC models end to end: transcripts over overlapping windows equal those of one window over the whole input
// (the window-middle rule), and do not depend on threads, batch or tokens; the transcript formats read back
// with independent parsers (Python's srt and webvtt); the CLI's checks around them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "stages/ctc.h"
#include "support.h"

namespace {

using testing::TempDir;
constexpr int kRate = 8000;

/// The fixtures' tokens come from the loudness of a 440 Hz tone (tools/make_fixtures.py, CTC_AMPLITUDES).
std::vector<float> tone(double seconds, float amplitude, double phase_seconds = 0) {
    std::vector<float> x(static_cast<std::size_t>(std::llround(seconds * kRate)));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = amplitude * static_cast<float>(std::sin(2 * M_PI * 440.0 * (static_cast<double>(i) / kRate + phase_seconds)));
    return x;
}

/// Seeded "speech" for the fixtures: words of 1-4 letters (a, b, c: tones of three loudnesses), separators
/// (a quiet tone) between words, short pauses inside utterances and long ones (> 0.8 s) between them.
std::vector<float> utterances(std::uint32_t seed, double seconds) {
    std::mt19937 rng(seed);
    const float letters[] = {0.02f, 0.08f, 0.3f};
    auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
    std::vector<float> x = testing::silence(uniform(0.1, 0.7), kRate);
    auto add = [&x](const std::vector<float>& part) { x.insert(x.end(), part.begin(), part.end()); };
    while (static_cast<double>(x.size()) < seconds * kRate) {
        const int words = 1 + static_cast<int>(rng() % 4);
        for (int w = 0; w < words; ++w) {
            const int n = 1 + static_cast<int>(rng() % 4);
            for (int l = 0; l < n; ++l) {
                add(tone(uniform(0.06, 0.3), letters[rng() % 3]));
                if (rng() % 3 == 0) add(testing::silence(uniform(0.04, 0.2), kRate));  // a blank between letters
            }
            add(rng() % 2 ? tone(uniform(0.06, 0.2), 0.004f) : testing::silence(uniform(0.05, 0.3), kRate));
        }
        add(testing::silence(uniform(0.9, 2.5), kRate));
    }
    return x;
}

std::string model_path(const std::string& name) { return testing::repo_path("tests/data/models/" + name); }

/// A lexicon for the fixtures' letters: some of the words utterances() makes, not all, so that lexicon
/// decoding has to overrule the best tokens.
const std::vector<std::string> kFixtureLexicon{"a", "b", "c", "ab", "ba", "ca", "cc", "abc", "cab", "bca", "abca"};

/// A bigram model over kFixtureLexicon's words (ARPA), which favours some pairs: "ab" after "c", "ca" after
/// "ab", and an utterance that starts with "abc".
const std::string kFixtureLm =
    "\\data\\\nngram 1=13\nngram 2=4\n\n\\1-grams:\n-99 <s> -0.3\n-0.6 </s>\n-1.2 a -0.2\n-1.2 b -0.2\n-1.2 c -0.2\n"
    "-1.0 ab -0.2\n-1.0 ba -0.2\n-1.0 ca -0.2\n-1.3 cc -0.2\n-0.9 abc -0.2\n-1.1 cab -0.2\n-1.1 bca -0.2\n-1.4 abca -0.2\n\n"
    "\\2-grams:\n-0.2 <s> abc\n-0.3 c ab\n-0.3 ab ca\n-0.4 ca </s>\n\n\\end\\\n";

/// JSON Lines of a run of `model` over `inputs`, decoded with `lexicon` when it is not empty (and the bigram
/// model `lm`, ARPA text, when that is not empty).
std::string jsonl(const std::string& model, const std::vector<arpipe::Input>& inputs, int threads = 2, int batch = 4,
                  int tokens = 0, double chunk_seconds = 30, std::size_t failures = 0,
                  const std::vector<std::string>& lexicon = {}, const std::string& lm = {}) {
    arpipe::Config c;
    c.model_path = model_path(model);
    c.post.lexicon = lexicon;
    c.post.language_model = lm;
    c.post.lm_weight = lm.empty() ? -1 : 1.5;
    c.parallel.threads = threads;
    c.parallel.batch = batch;
    c.parallel.tokens = tokens;
    c.decode.chunk_seconds = chunk_seconds;
    auto loaded = arpipe::Engine::load(c);
    REQUIRE_MESSAGE(loaded.engine, loaded.error);
    std::ostringstream out;
    auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, out);
    const arpipe::RunStats stats = loaded.engine->run(inputs, *writer);
    CHECK(stats.files_failed == failures);
    return out.str();
}

/// The transcript records of JSON Lines, confidences left out (compared separately, with a tolerance).
struct Parsed {
    std::vector<nlohmann::json> transcripts;  // without the confidences
    std::vector<double> confidences;          // every word's, in order
};

Parsed parse(const std::string& text) {
    Parsed p;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        nlohmann::json j = nlohmann::json::parse(line);
        if (j["type"] != "transcript") continue;
        for (auto& w : j["words"]) {
            p.confidences.push_back(w["confidence"].get<double>());
            w.erase("confidence");
        }
        p.transcripts.push_back(j);
    }
    return p;
}

void same_transcripts(const std::string& a, const std::string& b) {
    const Parsed pa = parse(a), pb = parse(b);
    REQUIRE(pa.transcripts.size() == pb.transcripts.size());
    for (std::size_t i = 0; i < pa.transcripts.size(); ++i) CHECK(pa.transcripts[i].dump() == pb.transcripts[i].dump());
    REQUIRE(pa.confidences.size() == pb.confidences.size());
    for (std::size_t i = 0; i < pa.confidences.size(); ++i) CHECK(pa.confidences[i] == doctest::Approx(pb.confidences[i]).epsilon(1e-3));
}

}  // namespace

TEST_SUITE("ctc transcripts") {
    // Pins: a word cut by a window boundary was dropped or doubled, or depended on where the windows fell.
    TEST_CASE("overlapping windows give the transcript of one window over the whole input") {
        for (const std::uint32_t seed : {1u, 2u, 3u}) {
            const std::vector<float> speech = utterances(seed, 25.0);
            // Cut positions: the same audio after different lengths of silence, so that the window boundaries
            // fall elsewhere in it.
            for (const double lead : {0.0, 0.37, 1.01, 1.5}) {
                std::vector<float> x = testing::silence(lead, kRate);
                x.insert(x.end(), speech.begin(), speech.end());
                const std::vector<arpipe::Input> in{arpipe::Input::pcm("speech.wav", x, kRate, 1)};
                const std::string whole = jsonl("ctc_energy_whole.pt", in);
                CAPTURE(seed);
                CAPTURE(lead);
                REQUIRE(parse(whole).transcripts.size() >= 3);
                for (const char* model : {"ctc_energy.pt", "ctc_energy_s3_h1.pt", "ctc_energy_s2.4_h1.6.pt"}) {
                    CAPTURE(model);
                    same_transcripts(jsonl(model, in), whole);
                }
                same_transcripts(jsonl("ctc_wave_energy.pt", in), jsonl("ctc_wave_energy_whole.pt", in));
                // The same with lexicon decoding, which reads every posterior of every frame, not only the best.
                const std::string whole_lexicon = jsonl("ctc_energy_whole.pt", in, 2, 4, 0, 30, 0, kFixtureLexicon);
                CHECK(parse(whole_lexicon).transcripts.size() >= 3);
                CHECK(whole_lexicon != whole);
                for (const char* model : {"ctc_energy.pt", "ctc_energy_s3_h1.pt", "ctc_energy_s2.4_h1.6.pt"}) {
                    CAPTURE(model);
                    same_transcripts(jsonl(model, in, 2, 4, 0, 30, 0, kFixtureLexicon), whole_lexicon);
                }
            }
        }
    }

    TEST_CASE("transcripts are byte-identical for -j 1 and 2, --batch 1 and 3, --tokens 1 and 4, and chunked decoding") {
        TempDir dir;
        std::vector<arpipe::Input> inputs;
        for (std::uint32_t seed = 10; seed < 13; ++seed) {
            const std::string path = dir.file("in" + std::to_string(seed) + ".wav");
            testing::write_audio(path, utterances(seed, 12.0 + seed), kRate);
            inputs.push_back(arpipe::Input::file(path));
        }
        inputs.push_back(arpipe::Input::file(dir.file("missing.wav")));
        const std::string reference = jsonl("ctc_energy.pt", inputs, 1, 1, 1, 30, 1);
        CHECK(reference.find("\"type\":\"transcript\"") != std::string::npos);
        CHECK(reference.find("\"code\":\"not_found\"") != std::string::npos);
        for (const int threads : {1, 2})
            for (const int batch : {1, 3})
                for (const int tokens : {1, 4}) {
                    CAPTURE(threads);
                    CAPTURE(batch);
                    CAPTURE(tokens);
                    CHECK(jsonl("ctc_energy.pt", inputs, threads, batch, tokens, 30, 1) == reference);
                }
        CHECK(jsonl("ctc_energy.pt", inputs, 2, 3, 4, 1.0, 1) == reference);  // 1 s chunks decoded apart
        const std::string lexicon = jsonl("ctc_energy.pt", inputs, 1, 1, 1, 30, 1, kFixtureLexicon);
        CHECK(lexicon != reference);
        for (const int threads : {1, 2})
            for (const int batch : {1, 3}) {
                CAPTURE(threads);
                CAPTURE(batch);
                CHECK(jsonl("ctc_energy.pt", inputs, threads, batch, 4, 30, 1, kFixtureLexicon) == lexicon);
            }
        CHECK(jsonl("ctc_energy.pt", inputs, 2, 3, 4, 1.0, 1, kFixtureLexicon) == lexicon);
        // With a bigram language model too.
        const std::string with_lm = jsonl("ctc_energy.pt", inputs, 1, 1, 1, 30, 1, kFixtureLexicon, kFixtureLm);
        CHECK(with_lm != lexicon);
        CHECK(jsonl("ctc_energy.pt", inputs, 2, 3, 4, 30, 1, kFixtureLexicon, kFixtureLm) == with_lm);
        CHECK(jsonl("ctc_energy.pt", inputs, 2, 1, 4, 1.0, 1, kFixtureLexicon, kFixtureLm) == with_lm);
    }

    TEST_CASE("a stream gives the same transcripts as a run over the same audio, greedy, with a lexicon, and a language model") {
        const std::vector<float> x = utterances(7, 15.0);
        for (const int mode : {0, 1, 2}) {
            CAPTURE(mode);
            const std::vector<std::string> lexicon = mode > 0 ? kFixtureLexicon : std::vector<std::string>{};
            const std::string lm = mode == 2 ? kFixtureLm : std::string{};
            const std::string offline = jsonl("ctc_energy.pt", {arpipe::Input::pcm("live", x, kRate, 1)}, 2, 4, 0, 30, 0, lexicon, lm);
            arpipe::Config c;
            c.model_path = model_path("ctc_energy.pt");
            c.post.lexicon = lexicon;
            c.post.language_model = lm;
            c.post.lm_weight = lm.empty() ? -1 : 1.5;
            auto loaded = arpipe::Engine::load(c);
            REQUIRE_MESSAGE(loaded.engine, loaded.error);
            std::ostringstream out;
            auto writer = arpipe::make_writer(arpipe::OutputFormat::jsonl, out);
            arpipe::StreamOptions options;
            options.name = "live";
            auto stream = loaded.engine->open_stream(kRate, 1, *writer, options);
            for (std::size_t at = 0; at < x.size(); at += 1234)
                stream->push(x.data() + at, std::min<std::size_t>(1234, x.size() - at));
            stream->finish();
            CHECK(out.str() == offline);
        }
    }

    TEST_CASE("every input ends in one summary or one error, after its transcripts") {
        const std::vector<float> x = utterances(4, 8.0);
        const std::string text = jsonl("ctc_energy.pt", {arpipe::Input::pcm("a", x, kRate, 1), arpipe::Input::pcm("b", x, kRate, 1)});
        std::istringstream in(text);
        std::vector<std::string> types;
        std::int64_t transcripts = 0;  // of the current input
        for (std::string line; std::getline(in, line);) {
            const auto j = nlohmann::json::parse(line);
            types.push_back(j["type"]);
            if (j["type"] == "transcript") ++transcripts;
            if (j["type"] != "summary") continue;
            CHECK(j["events"] == 0);
            CHECK(j["transcripts"] == transcripts);
            CHECK(transcripts > 0);
            transcripts = 0;
        }
        REQUIRE(types.size() >= 4);
        CHECK(types.back() == "summary");
        CHECK(std::count(types.begin(), types.end(), "summary") == 2);
        CHECK(types.front() == "transcript");
    }
}

namespace {

/// Runs the built arpipe with `args` in `dir`.
testing::CliRun cli(const std::string& args, const TempDir& dir) { return testing::run_cli(args, dir); }

/// Runs `python3 tests/tools/read_cues.py KIND FILE`: the cues an independent parser reads.
nlohmann::json read_cues(const std::string& kind, const std::string& path, const TempDir& dir) {
    const std::string out = dir.file("cues.json");
    const std::string cmd = "/usr/bin/python3 " + testing::repo_path("tests/tools/read_cues.py") + " " + kind + " " + path +
                            " >" + out;
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, (std::string("the ") + kind + " reader refused " + path));
    return nlohmann::json::parse(testing::read_text(out));
}

std::vector<nlohmann::json> records(const std::string& jsonl_text, const std::string& type) {
    std::vector<nlohmann::json> out;
    std::istringstream in(jsonl_text);
    for (std::string line; std::getline(in, line);)
        if (auto j = nlohmann::json::parse(line); j["type"] == type) out.push_back(j);
    return out;
}

/// For the shell: single quotes around `s` (the test names hold no single quote).
std::string shell_quoted(const std::string& s) { return "'" + s + "'"; }

/// A WAV named `name` in `dir` with seeded utterances, the model flag for ctc_special.pt (whose tokens hold a
/// comma, a quote, "-->", non-ASCII and markup characters), and the transcripts its JSON Lines run gives.
struct SpecialInput {
    std::string wav, model;
    std::vector<nlohmann::json> transcripts;
};

SpecialInput special_input(const TempDir& dir, const std::string& name, std::uint32_t seed, double seconds) {
    SpecialInput in{dir.file(name), "-m " + model_path("ctc_special.pt") + " ", {}};
    testing::write_audio(in.wav, utterances(seed, seconds), kRate);
    const auto j = cli("run -q " + in.model + shell_quoted(in.wav), dir);
    REQUIRE_MESSAGE(j.code == 0, j.err);
    in.transcripts = records(j.out, "transcript");
    return in;
}

}  // namespace

TEST_SUITE("ctc formats") {
    TEST_CASE("srt and vtt read back with Python's srt and webvtt as the JSON Lines transcripts, txt line by line") {
        TempDir dir;
        const auto [wav, model, ts] = special_input(dir, "talk, \"1\" \xc3\xa9.wav", 21, 14.0);
        REQUIRE(ts.size() >= 3);
        bool special = false;
        for (const auto& t : ts) special |= t["text"].get<std::string>().find("-->") != std::string::npos;
        CHECK(special);
        for (const std::string kind : {"srt", "vtt"}) {
            CAPTURE(kind);
            const std::string out = dir.file("out." + kind);
            const auto r = cli("run -q " + model + "-f " + kind + " -o " + out + " " + shell_quoted(wav), dir);
            REQUIRE_MESSAGE(r.code == 0, r.err);
            const nlohmann::json cues = read_cues(kind, out, dir);
            REQUIRE(cues.size() == ts.size());
            for (std::size_t i = 0; i < ts.size(); ++i) {
                CHECK(cues[i]["text"] == ts[i]["text"]);
                CHECK(cues[i]["start"].get<double>() == doctest::Approx(ts[i]["start"].get<double>()).epsilon(1e-9));
                CHECK(cues[i]["end"].get<double>() == doctest::Approx(ts[i]["end"].get<double>()).epsilon(1e-9));
                if (kind == "srt") CHECK(cues[i]["index"] == i + 1);
            }
        }
        const auto txt = cli("run -q " + model + "-f txt " + shell_quoted(wav), dir);
        REQUIRE(txt.code == 0);
        std::string expected;
        for (const auto& t : ts) expected += t["text"].get<std::string>() + "\n";
        CHECK(txt.out == expected);
        const auto aud = cli("run -q " + model + "-f audacity " + shell_quoted(wav), dir);
        REQUIRE(aud.code == 0);
        std::istringstream labels(aud.out);
        std::size_t n = 0;
        for (std::string line; std::getline(labels, line); ++n) {
            REQUIRE(n < ts.size());
            char start[32], end[32];
            std::snprintf(start, sizeof start, "%.6f", ts[n]["start"].get<double>());
            std::snprintf(end, sizeof end, "%.6f", ts[n]["end"].get<double>());
            CHECK(line == std::string(start) + "\t" + end + "\t" + wav + ": " + ts[n]["text"].get<std::string>());
        }
        CHECK(n == ts.size());
    }

    TEST_CASE("CSV transcripts round-trip through Python's csv module: file, text and words") {
        TempDir dir;
        const auto [wav, model, ts] = special_input(dir, "a,b \"q\".wav", 22, 10.0);
        const auto c = cli("run -q " + model + "-f csv -o " + dir.file("out.csv") + " " + shell_quoted(wav), dir);
        REQUIRE(c.code == 0);
        const std::string rows = dir.file("rows.json");
        const std::string cmd = "/usr/bin/python3 -c 'import csv,json,sys; json.dump(list(csv.reader(open(sys.argv[1], "
                                "newline=\"\", encoding=\"utf-8\"))), sys.stdout)' " +
                                dir.file("out.csv") + " >" + rows;
        REQUIRE(std::system(cmd.c_str()) == 0);
        const auto table = nlohmann::json::parse(testing::read_text(rows));
        REQUIRE(table.size() == ts.size() + 2);  // the header and the summary
        for (std::size_t i = 0; i < ts.size(); ++i) {
            const auto& row = table[i + 1];
            CHECK(row[0] == "transcript");
            CHECK(row[1] == wav);
            CHECK(row[2] == ts[i]["text"]);
            CHECK(nlohmann::json::parse(row[7].get<std::string>()) == ts[i]["words"]);
        }
    }

    TEST_CASE("srt, vtt and txt refuse a model that is not ctc and more than one input; an input error goes to stderr") {
        TempDir dir;
        const std::string wav = dir.file("a.wav");
        testing::write_audio(wav, utterances(23, 4.0), kRate);
        const auto tagger = cli("run -q -f srt -m " + model_path("loudness_clip.pt") + " " + wav, dir);
        CHECK(tagger.code == 2);
        CHECK(tagger.err.find("-f srt writes transcripts") != std::string::npos);
        CHECK(tagger.err.find("not \"ctc\"") != std::string::npos);
        const auto two = cli("run -q -f vtt -m " + model_path("ctc_energy.pt") + " " + wav + " " + wav, dir);
        CHECK(two.code == 2);
        CHECK(two.err.find("holds the transcript of one input, and this run has 2 inputs") != std::string::npos);
        const auto missing = cli("run -q -f txt -m " + model_path("ctc_energy.pt") + " " + dir.file("gone.wav"), dir);
        CHECK(missing.code == 1);
        CHECK(missing.out.empty());
        CHECK(missing.err.find(dir.file("gone.wav") + ": error: not_found") != std::string::npos);
        const auto mpi = cli("run -q --mpi -f srt -m " + model_path("ctc_energy.pt") + " " + wav, dir);
        CHECK(mpi.code == 2);
        CHECK(mpi.err.find("--mpi needs -f jsonl or -f csv") != std::string::npos);
        const auto gap = cli("run -q --utterance-gap 0 -m " + model_path("ctc_energy.pt") + " " + wav, dir);
        CHECK(gap.code == 2);
        CHECK(gap.err.find("utterance") != std::string::npos);
    }

    TEST_CASE("a longer --utterance-gap joins utterances; arpipe info shows the ctc fields") {
        TempDir dir;
        const std::string wav = dir.file("a.wav");
        testing::write_audio(wav, utterances(24, 12.0), kRate);
        const auto normal = cli("run -q -m " + model_path("ctc_energy.pt") + " " + wav, dir);
        const auto joined = cli("run -q --utterance-gap 10 -m " + model_path("ctc_energy.pt") + " " + wav, dir);
        REQUIRE(normal.code == 0);
        REQUIRE(joined.code == 0);
        CHECK(records(normal.out, "transcript").size() > 1);
        CHECK(records(joined.out, "transcript").size() == 1);
        const auto info = cli("info " + model_path("ctc_special.pt"), dir);
        REQUIRE(info.code == 0);
        CHECK(info.out.find("ctc (frame hop 0.02 s, scores log_probs, blank 0 \"<blank>\", word separator \" \")") !=
              std::string::npos);
    }

    TEST_CASE("--resume and merge take transcript records in jsonl and csv") {
        TempDir dir;
        std::string inputs;
        for (int i = 0; i < 3; ++i) {
            const std::string wav = dir.file("in" + std::to_string(i) + ".wav");
            testing::write_audio(wav, utterances(30 + i, 6.0), kRate);
            inputs += " " + wav;
        }
        const std::string model = "-m " + model_path("ctc_energy.pt");
        for (const std::string format : {"jsonl", "csv"}) {
            CAPTURE(format);
            const auto whole = cli("run -q " + model + " -f " + format + inputs, dir);
            REQUIRE(whole.code == 0);
            CHECK(whole.out.find("transcript") != std::string::npos);
            // A journal holding the first input's records and a torn transcript of the second.
            const std::string out = dir.file("out." + format);
            const auto first = cli("run -q " + model + " -f " + format + " -o " + dir.file("first." + format) + " " +
                                       dir.file("in0.wav"),
                                   dir);
            REQUIRE(first.code == 0);
            const std::string one = testing::read_text(dir.file("first." + format));
            const std::string torn = format == "jsonl" ? "{\"type\":\"transcript\",\"file\":\"x" : "transcript,";
            testing::write_text(out + ".partial", one + torn);
            const auto resumed = cli("run -q --resume " + model + " -f " + format + " -o " + out + inputs, dir);
            CHECK_MESSAGE(resumed.code == 0, resumed.err);
            CHECK(testing::read_text(out) == whole.out);
            // Shards merged.
            const std::string a = dir.file("a." + format), b = dir.file("b." + format), merged = dir.file("m." + format);
            REQUIRE(cli("run -q --shard 0/2 " + model + " -f " + format + " -o " + a + inputs, dir).code == 0);
            REQUIRE(cli("run -q --shard 1/2 " + model + " -f " + format + " -o " + b + inputs, dir).code == 0);
            std::string flags;
            std::istringstream names(inputs);
            for (std::string p; names >> p;) flags += " -i " + p;
            const auto m = cli("merge -q -o " + merged + flags + " " + a + " " + b, dir);
            CHECK_MESSAGE(m.code == 0, m.err);
            CHECK(testing::read_text(merged) == whole.out);
        }
    }
}

namespace {

/// Collects scores and transcripts.
class Collect final : public arpipe::Sink {
public:
    void on_event(const arpipe::Event&) override {}
    void on_summary(const arpipe::FileSummary&) override { ++summaries; }
    void on_error(const arpipe::FileError& e) override { errors.push_back(e.message); }
    void on_scores(const arpipe::Scores& s) override { best.push_back(arpipe::argmax(s.values.data(), static_cast<std::int64_t>(s.values.size()))); }
    void on_transcript(const arpipe::Transcript& t) override { transcripts.push_back(t); }
    std::vector<int> best;
    std::vector<arpipe::Transcript> transcripts;
    std::vector<std::string> errors;
    int summaries = 0;
};

std::vector<float> read_mono(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    REQUIRE(f != nullptr);
    REQUIRE(info.channels == 1);
    std::vector<float> x(static_cast<std::size_t>(info.frames));
    sf_readf_float(f, x.data(), info.frames);
    sf_close(f);
    return x;
}

}  // namespace

TEST_SUITE("ctc bring your own model") {
    // tools/models/export_wav2vec2_ctc.py: torchaudio's wav2vec2_model (tiny, seeded weights) scripted with an
    // arpipe.json, and a plain Python greedy decode of it on the same windows.
    TEST_CASE("a torchaudio wav2vec2 CTC model gives the tokens and words of the Python greedy decode, per window and stitched") {
        const auto golden = nlohmann::json::parse(testing::read_text(testing::repo_path("tests/data/wav2vec2_ctc_golden.json")));
        REQUIRE(golden["min_top2_logit_margin"].get<double>() > 1e-3);  // no frame near a tie: argmax is stable
        const std::vector<float> audio = read_mono(testing::repo_path(golden["audio"].get<std::string>()));
        arpipe::Config c;
        c.model_path = testing::repo_path(golden["model"].get<std::string>());
        c.parallel.threads = 2;
        c.parallel.batch = 3;
        auto loaded = arpipe::Engine::load(c);
        REQUIRE_MESSAGE(loaded.engine, loaded.error);
        CHECK(loaded.engine->model().input_kind == arpipe::InputKind::waveform);
        CHECK(loaded.engine->model().ctc_scores == arpipe::CtcScores::logits);
        arpipe::RunOptions options;
        options.scores = true;

        const auto S = golden["segment_samples"].get<std::size_t>();
        for (const auto& w : golden["windows"]) {
            const auto start = w["start_sample"].get<std::size_t>();
            const std::vector<float> window(audio.begin() + static_cast<std::ptrdiff_t>(start),
                                            audio.begin() + static_cast<std::ptrdiff_t>(std::min(audio.size(), start + S)));
            Collect one;  // one input no longer than a segment: one window, all its frames kept
            (void)loaded.engine->run({arpipe::Input::pcm("window", window, 16000, 1)}, one, options);
            REQUIRE(one.summaries == 1);
            const auto expected = w["best"].get<std::vector<int>>();
            CAPTURE(start);
            REQUIRE(!one.best.empty());
            REQUIRE(one.best.size() <= expected.size());
            CHECK(std::vector<int>(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(one.best.size())) == one.best);
        }

        Collect all;
        (void)loaded.engine->run({arpipe::Input::pcm("speech", audio, 16000, 1)}, all, options);
        REQUIRE(all.summaries == 1);
        CHECK(all.best == golden["stitched_best"].get<std::vector<int>>());
        REQUIRE(all.transcripts.size() == golden["transcripts"].size());
        for (std::size_t i = 0; i < all.transcripts.size(); ++i) {
            const auto& want = golden["transcripts"][i];
            const arpipe::Transcript& got = all.transcripts[i];
            CHECK(got.text == want["text"].get<std::string>());
            REQUIRE(got.words.size() == want["words"].size());
            for (std::size_t k = 0; k < got.words.size(); ++k) {
                CHECK(got.words[k].word == want["words"][k]["word"].get<std::string>());
                CHECK(got.words[k].start_seconds == doctest::Approx(want["words"][k]["start"].get<double>()).epsilon(1e-9));
                CHECK(got.words[k].end_seconds == doctest::Approx(want["words"][k]["end"].get<double>()).epsilon(1e-9));
                CHECK(got.words[k].confidence == doctest::Approx(want["words"][k]["confidence"].get<double>()).epsilon(1e-4));
            }
        }
    }
}

TEST_SUITE("bundled transcriber") {
    // data/samples/speech_ivr_prompts.txt holds, below "start end word:", the words and times that the plain
    // Python reference (tools/models/transcriber_reference.py) decodes from the bundled model on that sample.
    TEST_CASE("arpipe run -m data/models/ivr_en_ctc.pt -f srt prints the sample's subtitles: the reference decode's characters and times") {
        TempDir dir;
        std::vector<std::pair<std::string, std::pair<double, double>>> want;
        {
            std::istringstream notes(testing::read_text(testing::repo_path("data/samples/speech_ivr_prompts.txt")));
            bool in_words = false;
            for (std::string line; std::getline(notes, line);) {
                if (line.find("start end word:") != std::string::npos) {
                    in_words = true;
                    continue;
                }
                if (!in_words) continue;
                std::istringstream fields(line);
                double start = 0, end = 0;
                std::string word;
                if (fields >> start >> end >> word) want.push_back({word, {start, end}});
            }
        }
        REQUIRE(want.size() > 0);
        const std::string model = "-m " + testing::repo_path("data/models/ivr_en_ctc.pt") + " ";
        const std::string sample = testing::repo_path("data/samples/speech_ivr_prompts.wav");
        // The reference is a greedy decode; the model's own lexicon is the next test's.
        const auto j = cli("run -q --decoding greedy " + model + sample, dir);
        REQUIRE_MESSAGE(j.code == 0, j.err);
        std::vector<nlohmann::json> words;
        std::string text;
        for (const auto& t : records(j.out, "transcript")) {
            for (const auto& w : t["words"]) words.push_back(w);
            text += (text.empty() ? "" : " ") + t["text"].get<std::string>();
        }
        // The same characters in the same order. arpipe also ends a word at a pause longer than
        // --utterance-gap, where the reference only splits at the separator, so one reference word may come
        // out as several; each of them lies inside the reference word's span (times printed to 0.01 s).
        std::string got_chars, want_chars;
        for (const auto& w : words) got_chars += w["word"].get<std::string>();
        for (const auto& w : want) want_chars += w.first;
        CHECK(got_chars == want_chars);
        REQUIRE(words.size() >= want.size());
        std::size_t k = 0;
        std::string piece;
        for (std::size_t i = 0; i < words.size() && k < want.size(); ++i) {
            CAPTURE(i);
            const double start = words[i]["start"].get<double>(), end = words[i]["end"].get<double>();
            if (piece.empty()) CHECK(std::abs(start - want[k].second.first) <= 0.0051);
            CHECK(start >= want[k].second.first - 0.0051);
            CHECK(end <= want[k].second.second + 0.0051);
            piece += words[i]["word"].get<std::string>();
            if (piece == want[k].first) {
                CHECK(std::abs(end - want[k].second.second) <= 0.0051);
                piece.clear();
                ++k;
            }
        }
        CHECK(k == want.size());
        const std::string srt = dir.file("sample.srt");
        const auto r = cli("run -q --decoding greedy " + model + "-f srt -o " + srt + " " + sample, dir);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        std::string cue_text;
        for (const auto& cue : read_cues("srt", srt, dir))
            cue_text += (cue_text.empty() ? "" : " ") + cue["text"].get<std::string>();
        CHECK(cue_text == text);
    }

    TEST_CASE("with its lexicon (the default), the transcriber writes only lexicon words, with fewer word errors than greedy") {
        TempDir dir;
        // The reference text: the line after "Reference text" in the sample's notes, utterances split by '|'.
        std::vector<std::string> reference;
        {
            std::istringstream notes(testing::read_text(testing::repo_path("data/samples/speech_ivr_prompts.txt")));
            std::string line;
            while (std::getline(notes, line) && line.find("Reference text") == std::string::npos) {}
            REQUIRE(std::getline(notes, line));
            std::istringstream words(line);
            for (std::string w; words >> w;)
                if (w != "|") reference.push_back(w);
        }
        REQUIRE(reference.size() == 17);
        const std::string model = "-m " + testing::repo_path("data/models/ivr_en_ctc.pt") + " ";
        const std::string sample = testing::repo_path("data/samples/speech_ivr_prompts.wav");
        const auto info = cli("info --json " + testing::repo_path("data/models/ivr_en_ctc.pt"), dir);
        REQUIRE_MESSAGE(info.code == 0, info.err);
        const auto lexicon = nlohmann::json::parse(info.out)["output"]["lexicon"].get<std::vector<std::string>>();
        REQUIRE(lexicon.size() > 100);
        const auto decode = [&](const std::string& flags) {
            const auto run = cli("run -q " + flags + model + sample, dir);
            REQUIRE_MESSAGE(run.code == 0, run.err);
            std::vector<std::string> words;
            double previous_end = 0;
            for (const auto& t : records(run.out, "transcript"))
                for (const auto& w : t["words"]) {
                    words.push_back(w["word"].get<std::string>());
                    CHECK(w["start"].get<double>() >= previous_end);
                    CHECK(w["end"].get<double>() > w["start"].get<double>());
                    previous_end = w["end"].get<double>();
                }
            return words;
        };
        const auto lex = decode("");
        CHECK(decode("--decoding lexicon ") == lex);
        const auto greedy = decode("--decoding greedy ");
        for (const auto& w : lex) CHECK_MESSAGE(std::find(lexicon.begin(), lexicon.end(), w) != lexicon.end(), w);
        // Word edit distance to the reference.
        const auto errors = [&](const std::vector<std::string>& hyp) {
            std::vector<std::size_t> row(hyp.size() + 1);
            for (std::size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
            for (std::size_t i = 1; i <= reference.size(); ++i) {
                std::size_t diagonal = row[0];
                row[0] = i;
                for (std::size_t j = 1; j <= hyp.size(); ++j) {
                    const std::size_t up = row[j];
                    row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (reference[i - 1] == hyp[j - 1] ? 0 : 1)});
                    diagonal = up;
                }
            }
            return row[hyp.size()];
        };
        CAPTURE(lex);
        CAPTURE(greedy);
        // Measured when this test was written: 5 errors in 17 words with the lexicon, 12 greedily.
        CHECK(errors(lex) < errors(greedy));
        CHECK(errors(lex) <= 6);
        // A lexicon file replaces the model's: with only these words, nothing else can come out.
        const std::string words_file = dir.file("words.txt");
        testing::write_text(words_file, "# digits only\nseven\nthree\n");
        for (const auto& w : decode("--lexicon " + words_file + " ")) CHECK((w == "seven" || w == "three"));
        CHECK(std::count(lex.begin(), lex.end(), "seven") == 1);
    }

    TEST_CASE("decoding flags: a bad lexicon or language model file, either for a tagger, out-of-range settings are usage errors that say why") {
        TempDir dir;
        const std::string ctc = "-m " + testing::repo_path("data/models/ivr_en_ctc.pt") + " ";
        const std::string sample = testing::repo_path("data/samples/speech_ivr_prompts.wav");
        // `arpipe run -q FLAGS sample` must fail with exit code 2 and say `why` on stderr.
        const auto refused = [&](const std::string& flags, const std::string& why) {
            CAPTURE(flags);
            const auto r = cli("run -q " + flags + sample, dir);
            CHECK(r.code == 2);
            CHECK_MESSAGE(r.err.find(why) != std::string::npos, r.err);
        };
        refused(ctc + "--lexicon " + dir.file("nope.txt") + " ",
                "--lexicon " + dir.file("nope.txt") + ": cannot read it: No such file or directory");
        const std::string two = dir.file("two.txt");
        testing::write_text(two, "seven\n\nfive six\n");
        refused(ctc + "--lexicon " + two + " ", two + ":3: \"five six\" is not one word");
        const std::string digits = dir.file("digits.txt");
        testing::write_text(digits, "seven\n7\n");
        refused(ctc + "--lexicon " + digits + " ", "post.lexicon: the word \"7\" cannot be spelled with the model's labels");
        refused("--decoding lexicon ", "post.decoding = lexicon applies to ctc models only");
        refused(ctc + "--decoding greedy --lexicon " + digits + " ", "post.lexicon is given, but post.decoding = greedy would not use it");
        refused(ctc + "--word-penalty 2000 ", "2000 is not in [-1, 1000]");
        refused(ctc + "--decoding beam ", "decoding \"beam\" is not one of: auto, greedy, lexicon");
        // Language model flags.
        refused(ctc + "--lm " + dir.file("nope.arpa") + " ", "--lm " + dir.file("nope.arpa") + ": cannot read it: No such file or directory");
        const std::string trigram = dir.file("trigram.arpa");
        testing::write_text(trigram, "\\data\\\nngram 1=1\nngram 2=1\nngram 3=1\n");
        refused(ctc + "--lm " + trigram + " ", "post.language_model: ARPA line 4: a model of order 3: arpipe reads unigram and bigram models only");
        const std::string unigram = dir.file("unigram.arpa");
        testing::write_text(unigram, "\\data\\\nngram 1=2\n\\1-grams:\n-0.3 seven\n-0.3 three\n\\end\\\n");
        refused(ctc + "--decoding greedy --lm " + unigram + " ", "post.language_model is given, but post.decoding = greedy would not use it");
        refused("--lm " + unigram + " ", "post.language_model applies to ctc models only");
        refused(ctc + "--lm-weight 200 ", "200 is not in [-1, 100]");
        refused(ctc + "--beam-width 0 ", "0 is not in [1, 4096]");
        // A unigram model that knows only "seven" and "three" makes every other lexicon word cost 1e-7 each.
        const auto run = cli("run -q -f txt " + ctc + "--lm " + unigram + " --lm-weight 1 " + sample, dir);
        REQUIRE_MESSAGE(run.code == 0, run.err);
        CHECK(run.out.find("seven") != std::string::npos);
    }
}
