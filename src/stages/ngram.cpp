// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "ngram.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace arpipe {

namespace {

constexpr double kLn10 = 2.302585092994045684;
/// The most n-grams of one order a model may declare (bounds the memory a hostile file can ask for).
constexpr long long kMaxNgrams = 50000000;
/// The largest magnitude of a log10 probability or back-off (ARPA files write -99 for "never").
constexpr double kMaxLog10 = 1000;

std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string f; in >> f;) out.push_back(std::move(f));
    return out;
}

std::uint64_t pair_key(int previous, int word) noexcept {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(previous)) << 32 | static_cast<std::uint32_t>(word);
}

}  // namespace

BigramLm::BigramLm(const std::string& arpa) {
    std::istringstream in(arpa);
    std::size_t number = 0;
    const auto bad = [&](const std::string& why) {
        throw std::invalid_argument("ARPA line " + std::to_string(number) + ": " + why);
    };
    const auto number_at = [&](const std::string& text, const char* what) {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(v)) bad(std::string(what) + " \"" + text + "\" is not a finite number");
        return v;
    };
    // The fields of the next line that has any (empty: the text ended), and one line of look-back.
    std::vector<std::string> held;
    bool holding = false;
    const auto next = [&]() -> std::vector<std::string> {
        if (holding) {
            holding = false;
            return held;
        }
        for (std::string line; std::getline(in, line);) {
            ++number;
            if (auto f = fields(line); !f.empty()) return f;
        }
        return {};
    };
    const auto is = [](const std::vector<std::string>& f, const std::string& word) { return f.size() == 1 && f[0] == word; };

    // Anything before \data\ is a comment.
    for (auto f = next();; f = next()) {
        if (f.empty()) {
            number = 0;
            bad("no \\data\\ header: not an ARPA language model");
        }
        if (is(f, "\\data\\")) break;
    }
    long long counts[3] = {0, 0, 0};
    int order = 0;
    for (auto f = next();; f = next()) {
        if (f.empty()) bad("the text ends in the \\data\\ section");
        if (f[0].rfind("\\", 0) == 0) {  // the first section's header
            held = f;
            holding = true;
            break;
        }
        const auto eq = f.size() == 2 && f[0] == "ngram" ? f[1].find('=') : std::string::npos;
        if (eq == std::string::npos) bad("expected \"ngram N=COUNT\"");
        const std::string n_text = f[1].substr(0, eq), c_text = f[1].substr(eq + 1);
        const double n = number_at(n_text, "the order");
        const double c = number_at(c_text, "the count");
        if (n > 2) bad("a model of order " + n_text + ": arpipe reads unigram and bigram models only");
        if (n != order + 1) bad("the orders must be listed 1, 2 in turn");
        if (c < 0 || c > kMaxNgrams || c != std::floor(c)) bad("the count " + c_text + " is not in [0, " + std::to_string(kMaxNgrams) + "]");
        order = static_cast<int>(n);
        counts[order] = static_cast<long long>(c);
    }
    if (order == 0) bad("no \"ngram 1=COUNT\" line before the first section");
    if (counts[1] == 0) bad("the model has no unigrams");
    // Each entry takes a few characters of the text: a count far above that cannot be met, and must not reserve.
    words_.reserve(static_cast<std::size_t>(std::min<long long>(counts[1], static_cast<long long>(arpa.size() / 4))));
    for (int n = 1; n <= order; ++n) {
        const std::string header = "\\" + std::to_string(n) + "-grams:";
        if (!is(next(), header)) bad("expected " + header);
        for (long long k = 0; k < counts[n]; ++k) {
            const auto f = next();
            if (f.empty() || f[0].rfind("\\", 0) == 0)
                bad(header + " ends after " + std::to_string(k) + " of its " + std::to_string(counts[n]) + " entries");
            if (f.size() != static_cast<std::size_t>(n) + 1 && f.size() != static_cast<std::size_t>(n) + 2)
                bad(std::string("expected \"LOG10_PROB ") + (n == 1 ? "WORD" : "WORD WORD") + " [LOG10_BACKOFF]\"");
            const double lp = number_at(f[0], "the log10 probability");
            if (lp > 0) bad("the log10 probability " + f[0] + " is above 0");
            const double bo = f.size() == static_cast<std::size_t>(n) + 2 ? number_at(f.back(), "the log10 back-off") : 0.0;
            // Finite is not enough: weighted and summed over a path, 1e308 overflows to infinity and the
            // search's scores to NaN. Real models stay within +-99.
            if (lp < -kMaxLog10 || std::abs(bo) > kMaxLog10)
                bad("a log10 value beyond +-" + std::to_string(static_cast<int>(kMaxLog10)));
            if (n == 1) {
                if (!ids_.emplace(f[1], static_cast<int>(words_.size())).second) bad("the word \"" + f[1] + "\" is listed twice");
                words_.push_back(f[1]);
                log_prob_.push_back(lp * kLn10);
                backoff_.push_back(bo * kLn10);
            } else {
                const int a = index(f[1]), b = index(f[2]);
                if (a < 0 || b < 0) bad("the bigram \"" + f[1] + " " + f[2] + "\" uses a word the unigrams lack");
                if (!bigrams_.emplace(pair_key(a, b), lp * kLn10).second)
                    bad("the bigram \"" + f[1] + " " + f[2] + "\" is listed twice");
            }
        }
    }
    if (const auto f = next(); !is(f, "\\end\\"))
        bad(f.empty() ? "no \\end\\ line" : "expected \\end\\ after " + std::to_string(counts[order]) + " " + std::to_string(order) + "-grams");
    start_ = index("<s>");
    end_ = index("</s>");
    unknown_ = index("<unk>");
}

int BigramLm::index(const std::string& word) const noexcept {
    const auto it = ids_.find(word);
    return it == ids_.end() ? -1 : it->second;
}

double BigramLm::log_prob(int previous, int word) const noexcept {
    if (word < 0) word = unknown_;
    if (word < 0) return kUnknownLog10 * kLn10;
    if (previous < 0) previous = unknown_;
    if (previous >= 0) {
        if (const auto it = bigrams_.find(pair_key(previous, word)); it != bigrams_.end()) return it->second;
        return backoff_[static_cast<std::size_t>(previous)] + log_prob_[static_cast<std::size_t>(word)];
    }
    return log_prob_[static_cast<std::size_t>(word)];
}

std::string check_language_model(const std::string& arpa) {
    try {
        const BigramLm lm(arpa);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

}  // namespace arpipe
