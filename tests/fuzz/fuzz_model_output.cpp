// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for the checks arpipe applies to what a model returns (src/stages/postprocess.h), the
// same functions infer.cpp and the pipeline call: a fake model answers one batch with an output of any
// shape and any values. Whatever it returns, the checks must either accept it, leaving only scores in
// [0, 1] with at most top_k kept per step, or refuse it with a one-line Failure(model_output); never crash.
// The bytes also go through model_error_line as the text of an exception the model raised. A ctc output that
// passes goes on through the greedy CTC decoder, whose transcripts must be well formed.
// Built only with -DARPIPE_FUZZ=ON and clang (see tools/dev fuzz).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "stages/ctc.h"
#include "stages/failure.h"
#include "stages/postprocess.h"

namespace {

/// Reads the fuzzer's bytes as the fake model's choices; zeros once they run out.
class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
    std::uint8_t byte() { return n_ > 0 ? (--n_, *p_++) : 0; }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = v << 8 | byte();
        return v;
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

/// One value of the fake model's output: raw bits (NaN, Inf, denormals...), a probability, a logit, or an
/// edge case.
float value(Reader& r) {
    switch (r.byte() % 4) {
        case 0: return std::bit_cast<float>(r.u32());
        case 1: return static_cast<float>(r.byte()) / 255.0f;
        case 2: return static_cast<float>(static_cast<std::int8_t>(r.byte())) / 8.0f;
        default: {
            static const float edges[] = {0.0f, -0.0f, 1.0f, std::nextafter(1.0f, 2.0f), std::nextafter(0.0f, -1.0f),
                                          7.0f, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                                          std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::infinity(),
                                          -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
            return edges[r.byte() % (sizeof edges / sizeof edges[0])];
        }
    }
}

void check_refusal(const arpipe::Failure& f) {
    const std::string msg = f.what();
    if (f.code() != arpipe::ErrorCode::model_output || msg.empty() || msg.find('\n') != std::string::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Any text a model may raise sums up to one short line without control characters.
    const std::string line = arpipe::model_error_line(std::string_view(reinterpret_cast<const char*>(data), size));
    if (line.empty() || line.size() > 303) __builtin_trap();
    for (const char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) __builtin_trap();

    Reader r(data, size);
    const auto kind = static_cast<arpipe::OutputKind>(r.byte() % 3);
    const bool ctc = kind == arpipe::OutputKind::ctc;
    const std::int64_t batch = 1 + r.byte() % 8;
    const std::int64_t steps = kind == arpipe::OutputKind::clip ? 1 : 1 + r.byte() % 16;
    const std::int64_t labels = (ctc ? 2 : 1) + r.byte() % 16;
    // A ctc model's scores always go through a softmax (ModelInfo::activation), logits or log-probs alike.
    const auto activation = ctc ? arpipe::Activation::softmax : static_cast<arpipe::Activation>(r.byte() % 3);
    const int top_k = static_cast<int>(r.byte() % (labels + 2));
    const std::vector<std::int64_t> expected = arpipe::expected_output_shape(kind, batch, steps, labels);

    // The fake model's output shape: the right one, its dimensions in another order, one dimension off by
    // one, or anything.
    std::vector<std::int64_t> got = expected;
    switch (r.byte() % 4) {
        case 0: break;
        case 1: std::rotate(got.begin(), got.begin() + r.byte() % got.size(), got.end()); break;
        case 2: got[r.byte() % got.size()] += r.byte() % 2 ? 1 : -1; break;
        default: {
            got.assign(r.byte() % 5, 0);
            for (auto& d : got) d = r.byte() % 33;
        }
    }
    std::int64_t count = 1;
    for (const auto d : got) count *= std::max<std::int64_t>(d, 0);
    if (count > (1 << 16)) return 0;
    std::vector<float> scores(static_cast<std::size_t>(count));
    for (float& v : scores) v = value(r);
    const std::vector<float> raw = scores;

    try {
        arpipe::check_output_shape(got, expected, kind);
    } catch (const arpipe::Failure& f) {
        check_refusal(f);
        if (got == expected) __builtin_trap();  // the right shape is never refused
        return 0;
    }
    if (got != expected) __builtin_trap();

    const std::int64_t rows = batch * steps;
    try {
        arpipe::score_steps(scores.data(), rows, labels, activation, top_k);
    } catch (const arpipe::Failure& f) {
        check_refusal(f);
        return 0;
    }
    for (std::int64_t s = 0; s < rows; ++s) {
        const float* row = scores.data() + s * labels;
        std::int64_t kept = 0;
        double sum = 0;
        for (std::int64_t c = 0; c < labels; ++c) {
            if (!(row[c] >= 0.0f && row[c] <= 1.0f)) __builtin_trap();  // every accepted score is a probability
            kept += row[c] != 0.0f;
            sum += row[c];
            // With no activation the model's own scores pass unchanged, or are zeroed by top-k.
            if (activation == arpipe::Activation::none && row[c] != 0.0f && row[c] != raw[s * labels + c]) __builtin_trap();
        }
        const bool all_kept = top_k == 0 || top_k >= labels;
        if (!all_kept && kept > top_k) __builtin_trap();
        if (all_kept && activation == arpipe::Activation::softmax && std::abs(sum - 1.0) > 1e-3) __builtin_trap();
    }
    if (ctc) {
        arpipe::ModelInfo info;
        for (std::int64_t c = 0; c < labels; ++c) info.labels.push_back("t" + std::to_string(c));
        info.blank = static_cast<int>(r.byte() % labels);
        const auto separator = static_cast<std::int64_t>(r.byte() % (labels + 1));  // == labels: none
        if (separator < labels && separator != info.blank) info.word_separator = info.labels[separator];
        // Half of the inputs decode with a lexicon of up to 8 words of 1-3 tokens each (never the blank or
        // the separator), and every word that comes out must be one of them.
        std::vector<std::string> lexicon;
        if (r.byte() % 2 == 0) {
            const int words = 1 + r.byte() % 8;
            for (int w = 0; w < words; ++w) {
                std::string word;
                for (int k = 0, n = 1 + r.byte() % 3; k < n; ++k) {
                    const auto token = static_cast<std::int64_t>(r.byte() % labels);
                    if (token != info.blank && info.labels[token] != info.word_separator) word += info.labels[token];
                }
                if (!word.empty()) lexicon.push_back(word);
            }
        }
        // Half of those also use a bigram language model over the lexicon's words, with probabilities and
        // pairs from the bytes.
        std::string arpa;
        if (!lexicon.empty() && r.byte() % 2 == 0) {
            std::vector<std::string> words(lexicon);
            std::sort(words.begin(), words.end());
            words.erase(std::unique(words.begin(), words.end()), words.end());
            words.push_back("</s>");
            std::vector<std::pair<std::size_t, std::size_t>> pairs;
            for (int k = 0, n = r.byte() % 8; k < n; ++k) pairs.emplace_back(r.byte() % words.size(), r.byte() % (words.size() - 1));
            std::sort(pairs.begin(), pairs.end());
            pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
            const auto log_prob = [&r] { return "-" + std::to_string(r.byte() / 32.0) + " "; };
            arpa = "\\data\\\nngram 1=" + std::to_string(words.size() + 1) + "\nngram 2=" + std::to_string(pairs.size()) +
                   "\n\\1-grams:\n-99 <s> " + log_prob() + "\n";
            for (const auto& w : words) arpa += log_prob() + w + " " + log_prob() + "\n";
            arpa += "\\2-grams:\n";
            // A pair's context is a word or <s> (index words.size() - 1, where </s> stands, reads as <s>).
            for (const auto& [a, b] : pairs)
                arpa += log_prob() + (a + 1 == words.size() ? std::string("<s>") : words[a]) + " " + words[b] + "\n";
            arpa += "\\end\\\n";
            if (!arpipe::check_language_model(arpa).empty()) __builtin_trap();  // a well-formed model must parse
        }
        const double gap = 0.02 * (1 + r.byte() % 8);
        arpipe::CtcDecoder decoder(info, gap, lexicon.empty() ? nullptr : &lexicon, r.byte() % 4, arpa.empty() ? nullptr : &arpa,
                                   0.25 * (1 + r.byte() % 8));
        std::vector<arpipe::Transcript> out;
        for (std::int64_t s = 0; s < rows; ++s)
            decoder.push(0.02 * static_cast<double>(s), 0.02 * static_cast<double>(s + 1), scores.data() + s * labels, out);
        decoder.finish(out);
        double previous_end = 0;
        for (const arpipe::Transcript& t : out) {
            if (t.words.empty() || t.text.empty() || t.start_seconds < previous_end || !(t.end_seconds > t.start_seconds))
                __builtin_trap();
            for (const arpipe::Word& w : t.words) {
                if (w.word.empty() || !(w.end_seconds > w.start_seconds) || !(w.confidence >= 0.0f && w.confidence <= 1.0f))
                    __builtin_trap();
                if (!lexicon.empty() && std::find(lexicon.begin(), lexicon.end(), w.word) == lexicon.end()) __builtin_trap();
            }
            previous_end = t.end_seconds;
        }
    }
    // The ARPA reader takes any text: it parses or throws std::invalid_argument (check_language_model says why).
    (void)arpipe::check_language_model(std::string(reinterpret_cast<const char*>(data), size));
    return 0;
}
