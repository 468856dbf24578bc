// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Greedy CTC decoding (src/stages/ctc.h), the ctc contract of arpipe.json, and the window-middle rule that
// decides which window speaks for each frame.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stages/ctc.h"
#include "stages/failure.h"
#include "stages/model_info.h"
#include "stages/postprocess.h"
#include "unit/description_error.h"

namespace {

using arpipe::Transcript;

nlohmann::json ctc_description() {
    return nlohmann::json::parse(R"({
      "format": "arpipe-model/1", "name": "t", "sample_rate_hz": 8000,
      "input": {"kind": "waveform"},
      "segment": {"seconds": 4.0, "hop_seconds": 2.0},
      "output": {"kind": "ctc", "frame_hop_seconds": 0.02, "scores": "log_probs", "blank": 0, "word_separator": "|"},
      "labels": ["_", "|", "a", "b", "c"]})");
}

std::string error_of(const nlohmann::json& j) { return testing::description_error(j); }

/// Decodes a token string, one character per frame of 0.02 s ('_' blank, '|' separator, letters), each frame
/// with posterior `p` for its token (the rest spread over the others).
std::vector<Transcript> decode(const std::string& frames, const std::string& separator = "|", double gap = 0.8,
                               const std::map<std::size_t, float>& confidence = {}) {
    arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
    info.word_separator = separator;
    arpipe::CtcDecoder decoder(info, gap);
    std::vector<Transcript> out;
    const std::string tokens = "_|abc";
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const float p = confidence.count(i) ? confidence.at(i) : 0.9f;
        std::vector<float> row(5, (1.0f - p) / 4.0f);
        row[tokens.find(frames[i])] = p;
        const double t0 = std::round(static_cast<double>(i) * 0.02 * 1e6) / 1e6;
        decoder.push(t0, std::round((t0 + 0.02) * 1e6) / 1e6, row.data(), out);
    }
    decoder.finish(out);
    return out;
}

std::string texts(const std::vector<Transcript>& ts) {
    std::string s;
    for (const Transcript& t : ts) s += (s.empty() ? "" : " / ") + t.text;
    return s;
}

}  // namespace

TEST_SUITE("ctc decoder") {
    TEST_CASE("repeats collapse and blanks drop") { CHECK(texts(decode("aaa__bb_c")) == "abc"); }

    TEST_CASE("a blank between two equal tokens keeps both") { CHECK(texts(decode("aa_aa|b_b")) == "aa bb"); }

    TEST_CASE("separators split words and repeated or leading separators make no empty word") {
        const auto ts = decode("||ab||_|c_a|");
        REQUIRE(ts.size() == 1);
        CHECK(ts[0].text == "ab ca");
        REQUIRE(ts[0].words.size() == 2);
        CHECK(ts[0].words[0].word == "ab");
        CHECK(ts[0].words[1].word == "ca");
    }

    TEST_CASE("silence, blanks alone and separators alone give no transcript") {
        CHECK(decode("").empty());
        CHECK(decode("______").empty());
        CHECK(decode("_|||_|").empty());
    }

    TEST_CASE("word times run from the first frame of the first token to the end of the last frame of the last") {
        // frames: 0-1 blank, 2-3 a, 4 blank, 5 b, 6 separator, 7-9 c
        const auto ts = decode("__aa_b|ccc");
        REQUIRE(ts.size() == 1);
        REQUIRE(ts[0].words.size() == 2);
        CHECK(ts[0].words[0].start_seconds == doctest::Approx(0.04));
        CHECK(ts[0].words[0].end_seconds == doctest::Approx(0.12));
        CHECK(ts[0].words[1].start_seconds == doctest::Approx(0.14));
        CHECK(ts[0].words[1].end_seconds == doctest::Approx(0.20));
        CHECK(ts[0].start_seconds == doctest::Approx(0.04));
        CHECK(ts[0].end_seconds == doctest::Approx(0.20));
    }

    TEST_CASE("a word's confidence is the mean best posterior over its tokens' frames, blanks left out") {
        // "ab": a at frames 0 (0.6) and 1 (0.8), a blank at 2 (0.99, not counted), b at 3 (0.7)
        const auto ts = decode("aa_b", "|", 0.8, {{0, 0.6f}, {1, 0.8f}, {2, 0.99f}, {3, 0.7f}});
        REQUIRE(ts.size() == 1);
        REQUIRE(ts[0].words.size() == 1);
        CHECK(ts[0].words[0].confidence == doctest::Approx((0.6 + 0.8 + 0.7) / 3.0));
    }

    TEST_CASE("without a separator every token is a word") {
        const auto ts = decode("aa_b|c", "");
        REQUIRE(ts.size() == 1);
        CHECK(ts[0].text == "a b | c");
    }

    TEST_CASE("a pause longer than the utterance gap splits utterances, a shorter one does not") {
        // 0.1 s = 5 frames: a pause of 6 blank frames (0.12 s) splits, one of 5 (exactly 0.1 s) does not.
        CHECK(texts(decode("ab______c", "|", 0.1)) == "ab / c");
        CHECK(texts(decode("ab_____c", "|", 0.1)) == "abc");
        CHECK(texts(decode("ab|_|__|c", "|", 0.1)) == "ab / c");
        const auto ts = decode("a______b", "|", 0.1);
        REQUIRE(ts.size() == 2);
        CHECK(ts[0].end_seconds == doctest::Approx(0.02));
        CHECK(ts[1].start_seconds == doctest::Approx(0.14));
    }

    TEST_CASE("an utterance is sent as soon as the pause after it is long enough, before the input ends") {
        arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
        arpipe::CtcDecoder decoder(info, 0.05);
        std::vector<Transcript> out;
        const std::vector<float> a{0.0f, 0.0f, 1.0f, 0.0f, 0.0f}, blank{1.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        decoder.push(0.0, 0.02, a.data(), out);
        decoder.push(0.02, 0.04, blank.data(), out);
        decoder.push(0.04, 0.06, blank.data(), out);
        CHECK(out.empty());  // 0.04 s of pause so far
        decoder.push(0.06, 0.08, blank.data(), out);
        REQUIRE(out.size() == 1);  // 0.06 s > 0.05 s
        CHECK(out[0].text == "a");
        decoder.finish(out);
        CHECK(out.size() == 1);
    }

    TEST_CASE("argmax ties go to the lower token index") {
        const std::vector<float> tie{0.1f, 0.1f, 0.4f, 0.4f, 0.0f};
        CHECK(arpipe::argmax(tie.data(), 5) == 2);
    }
}

namespace {

/// Rows of posteriors over "_|abc" from a string of frames: each character is the frame's best token with
/// posterior `p` (the rest shared by the others), and '*' is a frame given in `special`, in order.
std::vector<std::vector<float>> rows_of(const std::string& frames, const std::vector<std::vector<float>>& special = {},
                                        float p = 0.9f) {
    const std::string tokens = "_|abc";
    std::vector<std::vector<float>> rows;
    std::size_t next_special = 0;
    for (const char c : frames) {
        if (c == '*') {
            rows.push_back(special.at(next_special++));
            continue;
        }
        std::vector<float> row(5, (1.0f - p) / 4.0f);
        row[tokens.find(c)] = p;
        rows.push_back(row);
    }
    return rows;
}

/// Runs the decoder over `rows`, one frame per 0.02 s, with `lexicon` (none: greedy).
std::vector<Transcript> decode_rows(const std::vector<std::vector<float>>& rows, const std::vector<std::string>* lexicon,
                                    double gap = 0.8) {
    const arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
    arpipe::CtcDecoder decoder(info, gap, lexicon);
    std::vector<Transcript> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const double t0 = std::round(static_cast<double>(i) * 0.02 * 1e6) / 1e6;
        decoder.push(t0, std::round((t0 + 0.02) * 1e6) / 1e6, rows[i].data(), out);
    }
    decoder.finish(out);
    return out;
}

/// `frames` rows of 5 posteriors (each at least about 0.02/1.1, so every path has a finite score), from a fixed
/// xorshift seeded by `seed`: the same rows on every machine.
std::vector<std::vector<float>> random_rows(std::uint64_t& seed, int frames) {
    const auto uniform = [&seed] {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return static_cast<double>(seed % 1000000) / 1e6;
    };
    std::vector<std::vector<float>> rows(static_cast<std::size_t>(frames), std::vector<float>(5));
    for (auto& row : rows) {
        double sum = 0;
        for (float& v : row) sum += v = static_cast<float>(0.02 + uniform() * uniform());
        for (float& v : row) v = static_cast<float>(v / sum);
    }
    return rows;
}

/// Whether `text` (letters and '|') splits at its separators into pieces that are each empty or a lexicon
/// word: what a lexicon path's collapsed tokens must spell. The words, in order, go to `words`.
bool spells_words(const std::string& text, const std::vector<std::string>& lexicon, std::vector<std::string>& words) {
    words.clear();
    std::istringstream pieces(text);
    for (std::string piece; std::getline(pieces, piece, '|');) {
        if (piece.empty()) continue;
        if (std::find(lexicon.begin(), lexicon.end(), piece) == lexicon.end()) return false;
        words.push_back(piece);
    }
    return true;
}

/// Calls `visit(collapsed, score)` for every path through `rows` (one of the 5 tokens "_|abc" per frame):
/// its tokens collapsed as CTC collapses them (repeats merged, blanks dropped) and the sum of their
/// log-posteriors. 5^frames paths: keep the rows short.
template <typename Visit>
void for_each_path(const std::vector<std::vector<float>>& rows, Visit visit) {
    const std::string tokens = "_|abc";
    int paths = 1;
    for (std::size_t t = 0; t < rows.size(); ++t) paths *= 5;
    for (int path = 0; path < paths; ++path) {
        std::string collapsed;
        double score = 0;
        int last = -1;
        for (std::size_t t = 0, code = static_cast<std::size_t>(path); t < rows.size(); ++t, code /= 5) {
            const std::size_t k = code % 5;
            score += std::log(static_cast<double>(rows[t][k]));
            if (k != 0 && static_cast<int>(k) != last) collapsed += tokens[k];
            last = static_cast<int>(k);
        }
        visit(collapsed, score);
    }
}

}  // namespace

TEST_SUITE("ctc lexicon decoding") {
    TEST_CASE("a misspelling becomes the lexicon word the frames support best") {
        // Greedy reads "ab": the third frame's c (0.35) loses to the blank (0.55). "abc" is a word, "ab" is not.
        const std::vector<std::string> lexicon{"abc", "ba", "cab"};
        const auto rows = rows_of("aab*__", {{0.55f, 0.02f, 0.04f, 0.04f, 0.35f}});
        CHECK(texts(decode_rows(rows, nullptr)) == "ab");
        const auto ts = decode_rows(rows, &lexicon);
        REQUIRE(ts.size() == 1);
        CHECK(ts[0].text == "abc");
        REQUIRE(ts[0].words.size() == 1);
        CHECK(ts[0].words[0].start_seconds == doctest::Approx(0.0));
        CHECK(ts[0].words[0].end_seconds == doctest::Approx(0.08));
        // The path's own posteriors: a 0.9, a 0.9, b 0.9, c 0.35.
        CHECK(ts[0].words[0].confidence == doctest::Approx((0.9 + 0.9 + 0.9 + 0.35) / 4.0));
    }

    TEST_CASE("words run together are split into lexicon words at a separator the path puts on a blank frame") {
        // "abcab" is no word; "abc|ab" costs the separator's 0.025 instead of the blank's 0.9 on frame 3.
        const std::vector<std::string> lexicon{"abc", "ab"};
        const auto rows = rows_of("abc_ab");
        CHECK(texts(decode_rows(rows, nullptr)) == "abcab");
        const auto ts = decode_rows(rows, &lexicon);
        REQUIRE(ts.size() == 1);
        CHECK(ts[0].text == "abc ab");
        REQUIRE(ts[0].words.size() == 2);
        CHECK(ts[0].words[0].end_seconds == doctest::Approx(0.06));
        CHECK(ts[0].words[1].start_seconds == doctest::Approx(0.08));
        CHECK(ts[0].words[1].end_seconds == doctest::Approx(0.12));
    }

    TEST_CASE("when the greedy words are lexicon words, lexicon decoding gives the same records") {
        const std::vector<std::string> lexicon{"ab", "c", "ca", "a", "b"};
        for (const std::string frames : {"__aa_b|ccc", "||ab||_|c_a|", "ab______c", "a__|b"}) {
            CAPTURE(frames);
            const auto rows = rows_of(frames);
            const auto greedy = decode_rows(rows, nullptr, 0.1);
            const auto lex = decode_rows(rows, &lexicon, 0.1);
            REQUIRE(greedy.size() == lex.size());
            for (std::size_t i = 0; i < greedy.size(); ++i) {
                CHECK(lex[i].text == greedy[i].text);
                CHECK(lex[i].start_seconds == greedy[i].start_seconds);
                CHECK(lex[i].end_seconds == greedy[i].end_seconds);
                REQUIRE(lex[i].words.size() == greedy[i].words.size());
                for (std::size_t k = 0; k < greedy[i].words.size(); ++k) {
                    CHECK(lex[i].words[k].start_seconds == greedy[i].words[k].start_seconds);
                    CHECK(lex[i].words[k].end_seconds == greedy[i].words[k].end_seconds);
                    CHECK(lex[i].words[k].confidence == doctest::Approx(greedy[i].words[k].confidence));
                }
            }
        }
    }

    TEST_CASE("the search finds the best-scoring path that spells lexicon words (against every path, by brute force)") {
        // 5 tokens over 6 frames: all 15,625 paths, collapsed as CTC does, scored by their log-posteriors.
        const arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
        const std::vector<std::string> lexicon{"a", "ab", "ba", "cab", "bc"};
        std::uint64_t seed = 42;
        int with_words = 0;
        for (int trial = 0; trial < 40; ++trial) {
            CAPTURE(trial);
            constexpr int kFrames = 6;
            const auto rows = random_rows(seed, kFrames);
            double best = -1e300;
            std::string best_text;
            std::vector<std::string> words;
            for_each_path(rows, [&](const std::string& collapsed, double score) {
                if (score > best && spells_words(collapsed, lexicon, words)) {
                    best = score;
                    best_text = collapsed;
                }
            });
            arpipe::LexiconSearch search(info, lexicon, /*word_penalty=*/0.0, /*beam_width=*/100000);
            for (int t = 0; t < kFrames; ++t) search.push(t * 0.02, (t + 1) * 0.02, rows[static_cast<std::size_t>(t)].data());
            std::string got, want;
            for (const auto& w : search.best()) got += w.word;
            for (const char c : best_text)
                if (c != '|') want += c;
            CHECK(got == want);
            if (!want.empty()) ++with_words;
        }
        CHECK(with_words >= 20);  // the rows are not so flat that the empty path always wins
    }

    TEST_CASE("with a language model, the search finds the best path by acoustic, penalty and language scores (brute force)") {
        // As above, with a word penalty and a bigram model over the words: a path scores its log-posteriors,
        // less 0.5 per word, plus 0.8 * ln P of each word after the previous one (<s> first) and of </s>.
        const arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
        const std::vector<std::string> lexicon{"a", "ab", "ba", "c", "bc"};
        const auto lm = std::make_shared<const arpipe::BigramLm>(
            "\\data\\\nngram 1=6\nngram 2=5\n\n\\1-grams:\n-99 <s> -0.2\n-0.4 </s>\n-0.8 a -0.1\n-0.9 ab -0.3\n"
            "-1.2 ba\n-0.5 c -0.5\n\n\\2-grams:\n-0.05 <s> c\n-0.1 c c\n-1.5 a a\n-0.2 ab </s>\n-0.3 c ba\n\\end\\\n");
        constexpr double kPenalty = 0.5, kWeight = 0.8;
        std::uint64_t seed = 99;
        int differs_without = 0;
        for (int trial = 0; trial < 40; ++trial) {
            CAPTURE(trial);
            constexpr int kFrames = 6;
            const auto rows = random_rows(seed, kFrames);
            double best = -1e300, best_plain = -1e300;
            std::string want, want_plain;
            std::vector<std::string> words;
            for_each_path(rows, [&](const std::string& collapsed, double acoustic) {
                if (!spells_words(collapsed, lexicon, words)) return;
                double language = 0;
                int previous = lm->start();
                for (const auto& w : words) {
                    language += lm->log_prob(previous, lm->index(w));
                    previous = lm->index(w);
                }
                language += lm->log_prob(previous, lm->end());
                std::string text;
                for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
                const double score = acoustic - kPenalty * static_cast<double>(words.size()) + kWeight * language;
                if (score > best) {
                    best = score;
                    want = text;
                }
                if (acoustic - kPenalty * static_cast<double>(words.size()) > best_plain) {
                    best_plain = acoustic - kPenalty * static_cast<double>(words.size());
                    want_plain = text;
                }
            });
            arpipe::LexiconSearch search(info, lexicon, kPenalty, /*beam_width=*/100000, lm, kWeight);
            for (int t = 0; t < kFrames; ++t) search.push(t * 0.02, (t + 1) * 0.02, rows[static_cast<std::size_t>(t)].data());
            std::string got;
            for (const auto& w : search.best()) got += (got.empty() ? "" : " ") + w.word;
            CHECK(got == want);
            if (want != want_plain) ++differs_without;
        }
        CHECK(differs_without >= 5);  // the language model changes the answer on some of the rows
    }

    TEST_CASE("the language model picks between words the frames cannot tell apart") {
        // Frames 0-1 say a or b equally (a then b, or b then a), then c: "ab c" and "ba c" score the same
        // acoustically. The bigram decides; a weight of 0 leaves the tie to the acoustic order.
        const std::vector<std::string> lexicon{"ab", "ba", "c"};
        const auto rows = rows_of("**|c_", {{0.02f, 0.02f, 0.47f, 0.47f, 0.02f}, {0.02f, 0.02f, 0.47f, 0.47f, 0.02f}});
        const auto with = [&](const std::string& arpa, double weight) {
            const arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
            arpipe::CtcDecoder decoder(info, 0.8, &lexicon, 0.0, &arpa, weight);
            std::vector<Transcript> out;
            for (std::size_t i = 0; i < rows.size(); ++i)
                decoder.push(static_cast<double>(i) * 0.02, static_cast<double>(i + 1) * 0.02, rows[i].data(), out);
            decoder.finish(out);
            return texts(out);
        };
        const std::string ab_c = "\\data\\\nngram 1=3\nngram 2=1\n\\1-grams:\n-1 ab -1\n-1 ba -1\n-1 c\n\\2-grams:\n-0.1 ab c\n\\end\\\n";
        const std::string ba_c = "\\data\\\nngram 1=3\nngram 2=1\n\\1-grams:\n-1 ab -1\n-1 ba -1\n-1 c\n\\2-grams:\n-0.1 ba c\n\\end\\\n";
        CHECK(with(ab_c, 1.0) == "ab c");
        CHECK(with(ba_c, 1.0) == "ba c");
        CHECK(with(ba_c, 0.0) == with(ab_c, 0.0));
    }

    TEST_CASE("with a lexicon, every word is a lexicon word, in time order, over random frames") {
        const std::vector<std::string> lexicon{"a", "abc", "ca", "bb", "cab"};
        std::uint64_t seed = 7;
        const auto next = [&seed] {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            return static_cast<unsigned>(seed >> 33);
        };
        for (int trial = 0; trial < 20; ++trial) {
            std::vector<std::vector<float>> rows(400, std::vector<float>(5));
            for (auto& row : rows) {
                double sum = 0;
                for (float& v : row) sum += v = static_cast<float>(next() % 1000 + 1) * (next() % 4 == 0 ? 8.0f : 1.0f);
                for (float& v : row) v = static_cast<float>(v / sum);
            }
            double previous_end = 0;
            for (const Transcript& t : decode_rows(rows, &lexicon, 0.05)) {
                REQUIRE(!t.words.empty());
                for (const auto& w : t.words) {
                    CHECK(std::find(lexicon.begin(), lexicon.end(), w.word) != lexicon.end());
                    CHECK(w.start_seconds >= previous_end - 1e-9);
                    CHECK(w.end_seconds > w.start_seconds);
                    CHECK(w.confidence > 0.0f);
                    CHECK(w.confidence <= 1.0f);
                    previous_end = w.end_seconds;
                }
            }
        }
    }

    TEST_CASE("an utterance that no lexicon word fits gives no transcript (the empty path wins)") {
        const std::vector<std::string> lexicon{"cc"};
        CHECK(texts(decode_rows(rows_of("ab__"), nullptr)) == "ab");
        // "cc" costs c, blank, c on frames whose c is at 0.025: worse than blanks all through.
        CHECK(decode_rows(rows_of("ab__"), &lexicon).empty());
        // Where the frames do say c_c, it is found.
        CHECK(texts(decode_rows(rows_of("abc_c_"), &lexicon)) == "cc");
    }

    TEST_CASE("a word outside the lexicon does not lose the rest of the utterance") {
        // "aba" starts "abab" and no other word, so the best paths are all inside it when "c|c|c|" comes, and
        // none of them can reach a word's end again. The best path that can end a word is kept whatever its
        // rank, and the search goes on from it (a small beam makes the case easy to build).
        const arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
        const std::vector<std::string> lexicon{"abab", "c"};
        const auto rows = rows_of("abac|c|c|_");
        const auto decode = [&](std::size_t beam_width) {
            arpipe::LexiconSearch search(info, lexicon, 0.0, beam_width);
            for (std::size_t t = 0; t < rows.size(); ++t)
                search.push(static_cast<double>(t) * 0.02, static_cast<double>(t + 1) * 0.02, rows[t].data());
            std::string text;
            for (const auto& w : search.best()) text += (text.empty() ? "" : " ") + w.word;
            return text;
        };
        // The best path puts abab's last b on the first c frame; without the kept path, the beam of 2 gave "".
        CHECK(decode(100000) == "abab c c");
        CHECK(decode(2) == "abab c c");
    }

    TEST_CASE("frames where every token but one has posterior 0 still leave a path (the blank is tried then)") {
        // After "a", the only path is inside "ab"; the next frame says c with posterior 1 and nothing else,
        // which that path cannot take. The search then tries every token, and the blank always fits.
        const std::vector<std::string> lexicon{"ab", "c"};
        const auto ts = decode_rows(rows_of("ac_b|c|__", {}, 1.0f), &lexicon);
        CHECK(texts(ts) == "ab c");
        CHECK(decode_rows(rows_of("a", {}, 1.0f), &lexicon).empty());  // an unfinished word alone says nothing
    }

    TEST_CASE("spelling: longest label first, never the blank or the separator; bad words are named") {
        arpipe::ModelInfo info = arpipe::parse_model_description(ctc_description().dump());
        CHECK(arpipe::spell_word("cab", info) == std::vector<int>{4, 2, 3});
        CHECK(arpipe::spell_word("", info).empty());
        CHECK(arpipe::spell_word("a|b", info).empty());
        CHECK(arpipe::spell_word("_a", info).empty());
        info.labels.push_back("ab");
        CHECK(arpipe::spell_word("abc", info) == std::vector<int>{5, 4});
        CHECK(arpipe::check_lexicon({"ab", "ba"}, info).empty());
        CHECK(arpipe::check_lexicon({"ab", "abd"}, info) == "the word \"abd\" cannot be spelled with the model's labels");
        CHECK(arpipe::check_lexicon({"a|b"}, info) ==
              "the word \"a|b\" cannot be spelled with the model's labels (it holds the word separator \"|\")");
    }
}

TEST_SUITE("ctc contract") {
    TEST_CASE("a ctc description parses its vocabulary, blank, separator and frame hop") {
        const arpipe::ModelInfo m = arpipe::parse_model_description(ctc_description().dump());
        CHECK(m.output_kind == arpipe::OutputKind::ctc);
        CHECK(m.ctc_scores == arpipe::CtcScores::log_probs);
        CHECK(m.blank == 0);
        CHECK(m.word_separator == "|");
        CHECK(m.frame_hop_seconds == doctest::Approx(0.02));
        CHECK(m.activation == arpipe::Activation::softmax);
        CHECK(arpipe::to_string(m.output_kind) == "ctc");
        auto j = ctc_description();
        j["output"]["scores"] = "logits";
        j["output"].erase("word_separator");
        const arpipe::ModelInfo n = arpipe::parse_model_description(j.dump());
        CHECK(n.ctc_scores == arpipe::CtcScores::logits);
        CHECK(n.word_separator.empty());
        j["output"]["word_separator"] = nullptr;
        CHECK(arpipe::parse_model_description(j.dump()).word_separator.empty());
    }

    TEST_CASE("a blank out of range is refused, naming the field and the value") {
        auto j = ctc_description();
        j["output"]["blank"] = 5;
        CHECK(error_of(j).find("output.blank = 5 is not in [0, 4]") != std::string::npos);
        j["output"]["blank"] = -1;
        CHECK(error_of(j).find("output.blank = -1") != std::string::npos);
        j["output"]["blank"] = "0";
        CHECK(error_of(j).find("output.blank = \"0\" is not an integer") != std::string::npos);
        j["output"].erase("blank");
        CHECK(error_of(j).find("missing field output.blank") != std::string::npos);
    }

    TEST_CASE("unknown scores, a separator outside the labels or equal to the blank, no frame hop are refused") {
        auto j = ctc_description();
        j["output"]["scores"] = "probs";
        CHECK(error_of(j).find("output.scores = \"probs\" is not one of: log_probs, logits") != std::string::npos);
        j = ctc_description();
        j["output"]["word_separator"] = " ";
        CHECK(error_of(j).find("output.word_separator = \" \" is not one of the labels") != std::string::npos);
        j["output"]["word_separator"] = "_";
        CHECK(error_of(j).find("output.word_separator = \"_\" is the blank token") != std::string::npos);
        j = ctc_description();
        j["output"].erase("frame_hop_seconds");
        CHECK(error_of(j).find("missing field output.frame_hop_seconds") != std::string::npos);
        j = ctc_description();
        j["output"]["frame_hop_seconds"] = 0;
        CHECK(error_of(j).find("output.frame_hop_seconds = 0 is not in") != std::string::npos);
        j = ctc_description();
        j["output"]["activation"] = "softmax";
        CHECK(error_of(j).find("output.activation") != std::string::npos);
        j = ctc_description();
        j["labels"] = {"_"};
        CHECK(error_of(j).find("at least 2 tokens") != std::string::npos);
    }

    TEST_CASE("output.lexicon: read when every word can be spelled; a bad word or a non-ctc model is refused") {
        auto j = ctc_description();
        j["output"]["lexicon"] = {"ab", "cab", "ab"};
        const arpipe::ModelInfo info = arpipe::parse_model_description(j.dump());
        CHECK(info.lexicon == std::vector<std::string>{"ab", "cab", "ab"});
        CHECK(arpipe::Lexicon(info.lexicon, info).size() == 2);  // a word given twice is one word
        j["output"]["lexicon"] = {"ab", "abd"};
        CHECK(error_of(j) == "arpipe.json: output.lexicon: the word \"abd\" cannot be spelled with the model's labels");
        j["output"]["lexicon"] = {"ab", ""};
        CHECK(error_of(j) == "arpipe.json: output.lexicon: \"\" is not a non-empty string");
        j["output"]["lexicon"] = "ab";
        CHECK(error_of(j) == "arpipe.json: output.lexicon must be an array of at most 1000000 words");
        auto clip = nlohmann::json::parse(R"({
          "format": "arpipe-model/1", "name": "c", "sample_rate_hz": 8000, "input": {"kind": "waveform"},
          "segment": {"seconds": 1.0, "hop_seconds": 1.0}, "output": {"kind": "clip", "activation": "softmax"},
          "labels": ["x", "y"]})");
        clip["output"]["lexicon"] = {"x"};
        CHECK(error_of(clip) == "arpipe.json: output.lexicon applies to output.kind \"ctc\" only");
    }

    TEST_CASE("decoding settings: which lexicon is used, and what a load refuses") {
        auto j = ctc_description();
        const arpipe::ModelInfo plain = arpipe::parse_model_description(j.dump());
        j["output"]["lexicon"] = {"ab", "c"};
        const arpipe::ModelInfo with = arpipe::parse_model_description(j.dump());
        arpipe::PostConfig post;
        CHECK(arpipe::lexicon_in_use(plain, post) == nullptr);
        CHECK(arpipe::lexicon_in_use(with, post) == &with.lexicon);
        CHECK(arpipe::effective_top_k(plain, post) == 1);
        CHECK(arpipe::effective_top_k(with, post) == 0);  // the search reads every posterior
        post.decoding = arpipe::CtcDecoding::greedy;
        CHECK(arpipe::lexicon_in_use(with, post) == nullptr);
        CHECK(arpipe::effective_top_k(with, post) == 1);
        CHECK(arpipe::check_decoding(with, post).empty());
        post.lexicon = {"ba"};
        CHECK(arpipe::check_decoding(with, post) == "post.lexicon is given, but post.decoding = greedy would not use it");
        post.decoding = arpipe::CtcDecoding::automatic;
        CHECK(arpipe::lexicon_in_use(plain, post) == &post.lexicon);  // the given words replace the model's
        CHECK(arpipe::lexicon_in_use(with, post) == &post.lexicon);
        post.lexicon = {"ba", "bad"};
        CHECK(arpipe::check_decoding(plain, post) == "post.lexicon: the word \"bad\" cannot be spelled with the model's labels");
        post.lexicon.clear();
        post.decoding = arpipe::CtcDecoding::lexicon;
        CHECK(arpipe::check_decoding(with, post).empty());
        CHECK(arpipe::check_decoding(plain, post) ==
              "post.decoding = lexicon, but the model's description has no output.lexicon and post.lexicon is empty");
        arpipe::Config big;
        big.post.lexicon.assign(arpipe::kMaxLexiconWords + 1, "a");
        CHECK(big.validate() == "post.lexicon has 1000001 words, more than 1000000");
    }

    TEST_CASE("output.language_model and lm_weight: read and checked at load; settings choose which model is used") {
        auto j = ctc_description();
        const std::string arpa = "\\data\\\nngram 1=2\n\\1-grams:\n-0.3 ab\n-0.3 c\n\\end\\\n";
        j["output"]["language_model"] = arpa;
        CHECK(error_of(j) == "arpipe.json: output.language_model needs an output.lexicon (it is used by lexicon decoding only)");
        j["output"]["lexicon"] = {"ab", "c", "ba"};
        j["output"]["lm_weight"] = 0.7;
        const arpipe::ModelInfo info = arpipe::parse_model_description(j.dump());
        CHECK(info.language_model == arpa);
        CHECK(info.lm_weight == doctest::Approx(0.7));
        CHECK(info.language_model_size.unigrams == 2);
        CHECK(info.language_model_size.bigrams == 0);
        CHECK(info.language_model_size.lexicon_words_missing == 1);  // "ba"
        arpipe::PostConfig post;
        CHECK(arpipe::language_model_in_use(info, post) == &info.language_model);
        CHECK(arpipe::lm_weight_in_use(info, post) == doctest::Approx(0.7));
        post.lm_weight = 0;
        CHECK(arpipe::language_model_in_use(info, post) == nullptr);  // weight 0: off
        post.lm_weight = 2;
        post.language_model = "\\data\\\nngram 1=1\n\\1-grams:\n-0.3 c\n\\end\\\n";
        CHECK(arpipe::language_model_in_use(info, post) == &post.language_model);
        CHECK(arpipe::check_decoding(info, post).empty());
        post.decoding = arpipe::CtcDecoding::greedy;
        CHECK(arpipe::language_model_in_use(info, post) == nullptr);
        CHECK(arpipe::check_decoding(info, post) == "post.language_model is given, but post.decoding = greedy would not use it");
        post.decoding = arpipe::CtcDecoding::automatic;
        post.language_model = "\\data\\\nngram 1=1\n\\1-grams:\n-0.3 c d e\n\\end\\\n";
        CHECK(arpipe::check_decoding(info, post) == "post.language_model: ARPA line 4: expected \"LOG10_PROB WORD [LOG10_BACKOFF]\"");
        const arpipe::ModelInfo plain = arpipe::parse_model_description(ctc_description().dump());
        post.language_model = arpa;
        CHECK(arpipe::check_decoding(plain, post) ==
              "post.language_model needs lexicon decoding, and there is no lexicon (post.lexicon or the model's output.lexicon)");
        j["output"]["language_model"] = "\\data\\\nngram 1=1\nngram 2=0\nngram 3=0\n";
        CHECK(error_of(j) == "arpipe.json: output.language_model: ARPA line 4: a model of order 3: arpipe reads unigram and bigram models only");
        j["output"]["language_model"] = arpa;
        j["output"]["lm_weight"] = 101;
        CHECK(error_of(j).find("output.lm_weight = 101 is not in [0, 100]") != std::string::npos);
        arpipe::Config c;
        c.post.lm_weight = -2;
        CHECK(!c.validate().empty());
    }

    TEST_CASE("the utterance gap is a validated setting") {
        arpipe::Config c;
        CHECK(c.post.utterance_gap_seconds == doctest::Approx(0.8));
        CHECK(c.validate().empty());
        c.post.utterance_gap_seconds = 0;
        CHECK(c.validate() == "post.utterance_gap_seconds = 0 is not in (0, 3600]");
        c.post.utterance_gap_seconds = std::numeric_limits<double>::quiet_NaN();
        CHECK(!c.validate().empty());
        REQUIRE(arpipe::setting_range("post.utterance_gap_seconds") != nullptr);
    }

    TEST_CASE("a ctc output of the wrong shape is a per-input model_output error naming both shapes") {
        const std::vector<std::int64_t> expected = arpipe::expected_output_shape(arpipe::OutputKind::ctc, 2, 200, 5);
        CHECK(expected == std::vector<std::int64_t>{2, 200, 5});
        const std::vector<std::int64_t> got{2, 200, 4};
        try {
            arpipe::check_output_shape(got, expected, arpipe::OutputKind::ctc);
            FAIL("no error");
        } catch (const arpipe::Failure& f) {
            CHECK(f.code() == arpipe::ErrorCode::model_output);
            CHECK(std::string(f.what()).find("[2, 200, 4] does not match [2, 200, 5] (ctc output") != std::string::npos);
        }
    }
}

TEST_SUITE("ctc windows") {
    // The frames each window owns (the window-middle rule): every frame time of the input once, in order.
    TEST_CASE("overlapping windows own every frame time exactly once, and a single window owns them all") {
        for (const auto& [seconds, hop] : {std::pair{4.0, 2.0}, {3.0, 1.0}, {2.4, 1.6}, {1.0, 1.0}, {4.0, 0.04}}) {
            auto j = ctc_description();
            j["segment"] = {{"seconds", seconds}, {"hop_seconds", hop}};
            const arpipe::ModelInfo info = arpipe::parse_model_description(j.dump());
            const std::int64_t steps = info.segment_samples / 160;
            const std::vector<float> scores(static_cast<std::size_t>(steps * 5), 0.2f);
            for (const std::int64_t total : {std::int64_t{8000 * 9 + 37}, std::int64_t{8000 * 3}, std::int64_t{1000}}) {
                std::vector<double> starts;
                const std::int64_t n = arpipe::Segmenter::count_for(total, info.segment_samples, info.hop_samples);
                std::vector<arpipe::SegmentInfo> segs(static_cast<std::size_t>(n));
                REQUIRE(arpipe::describe_segments(0, n, total, info.segment_samples, info.hop_samples, segs.data()) == n);
                for (const arpipe::SegmentInfo& seg : segs)
                    arpipe::for_each_step(info, steps, seg, scores.data(),
                                          [&](double t0, double, const float*) { starts.push_back(t0); });
                CAPTURE(seconds);
                CAPTURE(hop);
                CAPTURE(total);
                const auto frames = static_cast<std::size_t>((total + 159) / 160);
                REQUIRE(starts.size() == frames);
                for (std::size_t k = 0; k < starts.size(); ++k) CHECK(starts[k] == doctest::Approx(0.02 * k));
            }
        }
    }
}

namespace {

Transcript sample_transcript() {
    Transcript t;
    t.file = "dir/a,b \"c\".wav";
    t.start_seconds = 3661.2344;
    t.end_seconds = 3662.5;
    t.words = {{"hi,", 3661.2344, 3661.6, 0.91234f}, {"\"x\"-->\xc3\xa9<&>", 3661.8, 3662.5, 0.5f}};
    t.text = "hi, \"x\"-->\xc3\xa9<&>";
    return t;
}

std::string written(arpipe::OutputFormat format, const Transcript& t) {
    std::ostringstream os;
    auto w = arpipe::make_writer(format, os);
    w->on_transcript(t);
    w->on_summary(arpipe::FileSummary{0, t.file, 3700, 3, 0, 8000, 1, 1});
    return os.str();
}

}  // namespace

TEST_SUITE("ctc writers") {
    TEST_CASE("JSON Lines: a transcript record with its words, times to ms and confidences to 1e-4") {
        const std::string line = written(arpipe::OutputFormat::jsonl, sample_transcript());
        CHECK(line.substr(0, line.find('\n') + 1) ==
              "{\"type\":\"transcript\",\"file\":\"dir/a,b \\\"c\\\".wav\",\"start\":3661.234,\"end\":3662.5,"
              "\"text\":\"hi, \\\"x\\\"-->\xc3\xa9<&>\",\"words\":[{\"word\":\"hi,\",\"start\":3661.234,\"end\":3661.6,"
              "\"confidence\":0.9123},{\"word\":\"\\\"x\\\"-->\xc3\xa9<&>\",\"start\":3661.8,\"end\":3662.5,"
              "\"confidence\":0.5}]}\n");
        const auto j = nlohmann::json::parse(line.substr(0, line.find('\n')));
        CHECK(j["words"].size() == 2);
    }

    TEST_CASE("CSV: one row per transcript, the text quoted, the words as JSON in the detail column") {
        const std::string csv = written(arpipe::OutputFormat::csv, sample_transcript());
        const std::string row = csv.substr(csv.find('\n') + 1, csv.find("\nsummary") - csv.find('\n'));
        CHECK(row ==
              "transcript,\"dir/a,b \"\"c\"\".wav\",\"hi, \"\"x\"\"-->\xc3\xa9<&>\",3661.234,3662.500,0.7062,,"
              "\"[{\"\"word\"\":\"\"hi,\"\",\"\"start\"\":3661.234,\"\"end\"\":3661.6,\"\"confidence\"\":0.9123},"
              "{\"\"word\"\":\"\"\\\"\"x\\\"\"-->\xc3\xa9<&>\"\",\"\"start\"\":3661.8,\"\"end\"\":3662.5,\"\"confidence\"\":0.5}]\"\n");
    }

    TEST_CASE("a ctc model's summary counts its transcripts, and a cut transcript says so in every format") {
        Transcript t = sample_transcript();
        t.cut = true;
        const std::string jsonl = written(arpipe::OutputFormat::jsonl, t);
        const auto transcript = nlohmann::json::parse(jsonl.substr(0, jsonl.find('\n')));
        const auto summary = nlohmann::json::parse(jsonl.substr(jsonl.find('\n') + 1));
        CHECK(transcript["cut"] == true);
        CHECK(summary["events"] == 0);
        CHECK(summary["transcripts"] == 1);
        const std::string csv = written(arpipe::OutputFormat::csv, t);
        CHECK(csv.find(",,\"cut: the run was cancelled inside the utterance; words: [{\"\"word\"\":\"\"hi,\"\"") !=
              std::string::npos);
        CHECK(csv.find(",,,\"ok: 3 segments, 1 transcripts\"\n") != std::string::npos);
        const std::string table = written(arpipe::OutputFormat::table, t);
        CHECK(table.find("(cut)") != std::string::npos);
        CHECK(table.find("3 segments, 1 transcripts\n") != std::string::npos);
        // An event model's summary has no transcripts field.
        std::ostringstream os;
        arpipe::make_writer(arpipe::OutputFormat::jsonl, os)->on_summary(arpipe::FileSummary{0, "x", 1, 1, 0, 8000, 1, std::nullopt});
        CHECK_FALSE(nlohmann::json::parse(os.str()).contains("transcripts"));
    }

    TEST_CASE("SubRip, WebVTT and txt: cues in HH:MM:SS,mmm and HH:MM:SS.mmm, WebVTT text escaped, one line each") {
        Transcript t = sample_transcript();
        t.text += "\nnext";  // a newline in a label must not end the cue
        CHECK(written(arpipe::OutputFormat::srt, t) ==
              "1\n01:01:01,234 --> 01:01:02,500\nhi, \"x\"-->\xc3\xa9<&> next\n\n");
        CHECK(written(arpipe::OutputFormat::vtt, t) ==
              "WEBVTT\n\n01:01:01.234 --> 01:01:02.500\nhi, \"x\"--&gt;\xc3\xa9&lt;&amp;&gt; next\n\n");
        CHECK(written(arpipe::OutputFormat::txt, t) == "hi, \"x\"-->\xc3\xa9<&> next\n");
        // Cues are numbered from 1 on.
        std::ostringstream os;
        auto w = arpipe::make_writer(arpipe::OutputFormat::srt, os);
        w->on_transcript(t);
        w->on_transcript(t);
        CHECK(os.str().find("\n\n2\n01:01:01,234") != std::string::npos);
        CHECK(arpipe::transcript_only(arpipe::OutputFormat::vtt));
        CHECK_FALSE(arpipe::transcript_only(arpipe::OutputFormat::csv));
        CHECK(*arpipe::parse_output_format("srt").value == arpipe::OutputFormat::srt);
        CHECK(*arpipe::parse_output_format("vtt").value == arpipe::OutputFormat::vtt);
        CHECK(*arpipe::parse_output_format("txt").value == arpipe::OutputFormat::txt);
    }

    TEST_CASE("Audacity: an utterance is a FILE: TEXT label; RTTM: a SPEAKER turn named speech; table: a line") {
        const Transcript t = sample_transcript();
        CHECK(written(arpipe::OutputFormat::audacity, t) == "3661.234000\t3662.500000\tdir/a,b \"c\".wav: hi, \"x\"-->\xc3\xa9<&>\n");
        CHECK(written(arpipe::OutputFormat::rttm, t) == "SPEAKER a,b\\x20\"c\" 1 3661.234 1.266 <NA> <NA> speech <NA> <NA>\n");
        const std::string table = written(arpipe::OutputFormat::table, t);
        CHECK(table.find("  3661.234  3662.500  hi, \"x\"-->\xc3\xa9<&> 0.7062\n") != std::string::npos);
    }
}
