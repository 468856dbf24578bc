// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// A word bigram language model read from ARPA text (the format SRILM, KenLM and most toolkits write), for
// lexicon decoding of ctc models: LexiconSearch adds `weight * ln P(word | previous word)` to a path's score
// each time it finishes a word, and `weight * ln P(</s> | last word)` at the end of an utterance.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace arpipe {

class BigramLm {
public:
    /// ln P of a word the model does not know when it has no <unk>: 1e-7, far below any listed word.
    static constexpr double kUnknownLog10 = -7.0;

    /// Parses ARPA text of order 1 or 2. Throws std::invalid_argument naming the line and the problem (a
    /// higher order, counts that do not match, a malformed line, a bigram over words the unigrams lack).
    explicit BigramLm(const std::string& arpa);

    /// The index of `word` among the unigrams, or -1.
    [[nodiscard]] int index(const std::string& word) const noexcept;
    /// The index of <s> (the context of an utterance's first word) and of </s> (its end).
    [[nodiscard]] int start() const noexcept { return start_; }
    [[nodiscard]] int end() const noexcept { return end_; }
    /// ln P(word | previous), with Katz back-off to the unigram; -1 for either means "not in the model" (it
    /// reads <unk> when the model has one, else kUnknownLog10 for a word and no back-off for a context).
    [[nodiscard]] double log_prob(int previous, int word) const noexcept;
    [[nodiscard]] std::size_t unigrams() const noexcept { return words_.size(); }
    [[nodiscard]] std::size_t bigrams() const noexcept { return bigrams_.size(); }

private:
    std::vector<std::string> words_;
    std::unordered_map<std::string, int> ids_;
    std::vector<double> log_prob_, backoff_;               // ln, per unigram
    std::unordered_map<std::uint64_t, double> bigrams_;   // (previous << 32 | word) -> ln P
    int start_ = -1, end_ = -1, unknown_ = -1;
};

/// Empty when `arpa` parses as a BigramLm; else why not.
[[nodiscard]] std::string check_language_model(const std::string& arpa);

}  // namespace arpipe
