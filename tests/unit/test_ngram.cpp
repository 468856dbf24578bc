// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// The bigram language model's ARPA reader (src/stages/ngram.h).
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "stages/ngram.h"

namespace {

constexpr double kLn10 = 2.302585092994046;

// A bigram model over three words with <s>, </s> and <unk>, as SRILM writes it (tabs, back-offs on the
// unigrams only, a comment line before \data\).
const std::string kArpa =
    "written by hand for arpipe's tests\n"
    "\n"
    "\\data\\\n"
    "ngram 1=6\n"
    "ngram 2=4\n"
    "\n"
    "\\1-grams:\n"
    "-99\t<s>\t-0.30103\n"
    "-0.5\t</s>\n"
    "-3\t<unk>\n"
    "-0.6\tpress\t-0.2\n"
    "-0.7\tone\t-0.1\n"
    "-1.1\ttwo\n"
    "\n"
    "\\2-grams:\n"
    "-0.1\t<s>\tpress\n"
    "-0.2\tpress\tone\n"
    "-0.4\tone\t</s>\n"
    "-1.5\tpress\ttwo\n"
    "\n"
    "\\end\\\n";

std::string error_of(const std::string& arpa) {
    try {
        const arpipe::BigramLm lm(arpa);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(parsed)";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_SUITE("bigram language model") {
    TEST_CASE("bigrams are read as listed, and missing ones back off to the unigram, in natural logs") {
        const arpipe::BigramLm lm(kArpa);
        CHECK(lm.unigrams() == 6);
        CHECK(lm.bigrams() == 4);
        const int s = lm.start(), e = lm.end(), press = lm.index("press"), one = lm.index("one"), two = lm.index("two");
        CHECK(s == 0);
        CHECK(e == 1);
        CHECK(lm.index("three") == -1);
        CHECK(lm.log_prob(s, press) == doctest::Approx(-0.1 * kLn10));
        CHECK(lm.log_prob(press, one) == doctest::Approx(-0.2 * kLn10));
        CHECK(lm.log_prob(press, two) == doctest::Approx(-1.5 * kLn10));
        CHECK(lm.log_prob(one, e) == doctest::Approx(-0.4 * kLn10));
        // Back-off: the context's back-off weight plus the word's unigram.
        CHECK(lm.log_prob(s, one) == doctest::Approx((-0.30103 - 0.7) * kLn10));
        CHECK(lm.log_prob(one, two) == doctest::Approx((-0.1 - 1.1) * kLn10));
        CHECK(lm.log_prob(two, one) == doctest::Approx(-0.7 * kLn10));  // no back-off weight: 0
        // A word the model lacks reads <unk>.
        CHECK(lm.log_prob(press, -1) == doctest::Approx((-0.2 - 3) * kLn10));
        CHECK(lm.log_prob(-1, two) == doctest::Approx((-1.1) * kLn10));
    }

    TEST_CASE("without <unk>, an unknown word costs kUnknownLog10; a unigram model and CRLF lines are read") {
        const std::string unigram = "\\data\\\r\nngram 1=2\r\n\r\n\\1-grams:\r\n-0.3 yes\r\n-0.2 no\r\n\\end\\\r\n";
        const arpipe::BigramLm lm(unigram);
        CHECK(lm.unigrams() == 2);
        CHECK(lm.bigrams() == 0);
        CHECK(lm.start() == -1);
        CHECK(lm.log_prob(lm.index("yes"), lm.index("no")) == doctest::Approx(-0.2 * kLn10));
        CHECK(lm.log_prob(-1, lm.index("yes")) == doctest::Approx(-0.3 * kLn10));
        CHECK(lm.log_prob(lm.index("yes"), -1) == doctest::Approx(arpipe::BigramLm::kUnknownLog10 * kLn10));
        CHECK(arpipe::check_language_model(unigram).empty());
    }

    TEST_CASE("a bad model is refused, naming the line and the problem") {
        CHECK(error_of("") == "ARPA line 0: no \\data\\ header: not an ARPA language model");
        CHECK(error_of("press one\n") == "ARPA line 0: no \\data\\ header: not an ARPA language model");
        CHECK(error_of(replaced(kArpa, "ngram 2=4\n", "ngram 2=4\nngram 3=1\n")) ==
              "ARPA line 6: a model of order 3: arpipe reads unigram and bigram models only");
        CHECK(error_of(replaced(kArpa, "ngram 1=6", "ngram 2=6")) == "ARPA line 4: the orders must be listed 1, 2 in turn");
        CHECK(error_of(replaced(kArpa, "ngram 2=4", "ngram 2=x")) == "ARPA line 5: the count \"x\" is not a finite number");
        CHECK(error_of(replaced(kArpa, "ngram 2=4", "ngram 2=5")) == "ARPA line 21: \\2-grams: ends after 4 of its 5 entries");
        CHECK(error_of(replaced(kArpa, "ngram 1=6", "ngram 1=5")) == "ARPA line 13: expected \\2-grams:");
        CHECK(error_of(replaced(kArpa, "-0.7\tone", "-0.7\tone two three")) ==
              "ARPA line 12: expected \"LOG10_PROB WORD [LOG10_BACKOFF]\"");
        CHECK(error_of(replaced(kArpa, "-0.7\tone", "0.7\tone")) == "ARPA line 12: the log10 probability 0.7 is above 0");
        CHECK(error_of(replaced(kArpa, "-0.7\tone", "nan\tone")) == "ARPA line 12: the log10 probability \"nan\" is not a finite number");
        CHECK(error_of(replaced(kArpa, "-1.1\ttwo", "-1.1\tone")) == "ARPA line 13: the word \"one\" is listed twice");
        CHECK(error_of(replaced(kArpa, "-1.5\tpress\ttwo", "-1.5\tpress\tone")) == "ARPA line 19: the bigram \"press one\" is listed twice");
        CHECK(error_of(replaced(kArpa, "-0.7\tone\t-0.1", "-0.7\tone\t1e308")) == "ARPA line 12: a log10 value beyond +-1000");
        CHECK(error_of(replaced(kArpa, "-0.7\tone", "-1e307\tone")) == "ARPA line 12: a log10 value beyond +-1000");
        CHECK(error_of(replaced(kArpa, "-1.5\tpress\ttwo", "-1.5\tpress\tthree")) ==
              "ARPA line 19: the bigram \"press three\" uses a word the unigrams lack");
        CHECK(error_of(replaced(kArpa, "\\end\\\n", "")) == "ARPA line 20: no \\end\\ line");
        CHECK(error_of(replaced(kArpa, "\\end\\", "\\3-grams:")) == "ARPA line 21: expected \\end\\ after 4 2-grams");
        CHECK(error_of("\\data\\\nngram 1=0\n\n\\1-grams:\n\\end\\\n") == "ARPA line 4: the model has no unigrams");
        CHECK(error_of("\\data\\\nngram 1=99999999999\n") == "ARPA line 2: the count 99999999999 is not in [0, 50000000]");
        CHECK(arpipe::check_language_model(kArpa).empty());
    }
}
