// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// CTC decoding, torch-free: a ctc model's per-frame posteriors become tokens, tokens become words, and words
// become utterances (split at pauses longer than the utterance gap). Greedy decoding takes the best token of
// each frame (repeats collapsed, blanks dropped) and splits words at the word separator (or makes every token
// a word when the model has none). Lexicon decoding searches instead for the best-scoring path whose words all
// come from a closed vocabulary (LexiconSearch). Runs in the serial output filter and in streams, on the
// frames each window owns (for_each_step in postprocess.h), stitched in time order: the decoder never sees a
// window boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "arpipe/config.h"
#include "arpipe/engine.h"
#include "arpipe/result.h"
#include "ngram.h"

namespace arpipe {

/// Frame times of ctc models are rounded to this many ticks per second (a microsecond) before they are
/// compared or stored: the same frame reached from two different windows then has the very same time, so
/// no pause comparison can differ by a rounding error with the windowing.
inline constexpr double kCtcTimeTicksPerSecond = 1e6;

/// The index of the largest of `n` values; ties go to the lowest index.
[[nodiscard]] int argmax(const float* values, std::int64_t n) noexcept;

/// Spells `word` with a ctc model's tokens, taking the longest label that matches at each position and never
/// the blank or the word separator. Empty when it cannot (an empty word, or text no usable label matches).
[[nodiscard]] std::vector<int> spell_word(const std::string& word, const ModelInfo& info);

/// Empty when `info` can spell every word of `words`; else names the first that it cannot, and why.
[[nodiscard]] std::string check_lexicon(const std::vector<std::string>& words, const ModelInfo& info);

/// The words lexicon decoding uses for a ctc model under `post`: post.lexicon when it has words, else the
/// model's `output.lexicon`; null for greedy decoding (CtcDecoding::greedy, no words, or not a ctc model).
[[nodiscard]] const std::vector<std::string>* lexicon_in_use(const ModelInfo& info, const PostConfig& post) noexcept;

/// The word penalty in effect: post.word_penalty, or the model's when that is < 0.
[[nodiscard]] double word_penalty_in_use(const ModelInfo& info, const PostConfig& post) noexcept;

/// The ARPA text of the bigram language model lexicon decoding uses under `post`: post.language_model when
/// not empty, else the model's `output.language_model`; null when there is none, when its weight
/// (lm_weight_in_use) is 0, or when the decoding is not lexicon decoding.
[[nodiscard]] const std::string* language_model_in_use(const ModelInfo& info, const PostConfig& post) noexcept;

/// The language model weight in effect: post.lm_weight, or the model's when that is < 0.
[[nodiscard]] double lm_weight_in_use(const ModelInfo& info, const PostConfig& post) noexcept;

/// Empty when `post`'s decoding settings suit the model; else why not (for a `bad_config` load error):
/// decoding settings on a model that is not ctc, lexicon decoding with no words, a post.lexicon word the
/// model cannot spell, post.lexicon with CtcDecoding::greedy, post.language_model that is not a unigram or
/// bigram ARPA model or that would not be used (greedy decoding, no lexicon).
[[nodiscard]] std::string check_decoding(const ModelInfo& info, const PostConfig& post);

/// A closed vocabulary as a prefix tree over token indices. Node 0 is the root (no token read).
class Lexicon {
public:
    /// Throws std::invalid_argument with check_lexicon's message when a word cannot be spelled. A word given
    /// twice is one word.
    Lexicon(const std::vector<std::string>& words, const ModelInfo& info);

    /// The node reached from `node` by `token`, or -1.
    [[nodiscard]] int child(int node, int token) const noexcept;
    /// The word that ends at `node`, or -1.
    [[nodiscard]] int word_at(int node) const noexcept { return nodes_[static_cast<std::size_t>(node)].word; }
    [[nodiscard]] const std::string& word(int id) const { return words_[static_cast<std::size_t>(id)]; }
    [[nodiscard]] std::size_t size() const noexcept { return words_.size(); }

private:
    struct Node {
        std::vector<std::pair<int, int>> children;  // (token, node), sorted by token
        int word = -1;
    };
    std::vector<Node> nodes_;
    std::vector<std::string> words_;
};

/// Lexicon-constrained CTC decoding: a beam search over the paths through the frames whose collapsed tokens
/// spell a sequence of lexicon words. A path's score is the sum of the log-posteriors of its tokens, less the
/// word penalty for each word; paths
/// that reach the same state (the same finished words, the same place in the word being spelled, the same
/// token on the last frame) are merged, keeping the better one (Viterbi); the best kBeamWidth paths within
/// kScoreBeam of the best survive each frame, and each path only tries the tokens within kTokenBeam of the
/// frame's best. With a word separator, words end at the separator (a path may put it on any frame, at that
/// frame's price); without one, a word ends where the next begins. With a language model, a path also gains
/// `lm_weight * ln P(word | previous word)` when it finishes a word (the first word's context is <s>), and
/// best() adds `lm_weight * ln P(</s> | last word)`. Lexicon words the model lacks read its <unk>.
class LexiconSearch {
public:
    static constexpr std::size_t kBeamWidth = 64;  ///< the default of PostConfig::beam_width
    static constexpr double kScoreBeam = 40.0;  ///< nats below the best path
    static constexpr double kTokenBeam = 30.0;  ///< nats below the frame's best token (a posterior ratio of 1e-13)

    /// `word_penalty`: nats off a path's score for each word it starts. `beam_width`: paths kept per frame
    /// (tests use a huge one to compare with an exhaustive search).
    /// `lm`: a bigram language model or null; `lm_weight`: its weight.
    LexiconSearch(const ModelInfo& info, const std::vector<std::string>& words, double word_penalty = 0,
                  std::size_t beam_width = kBeamWidth, std::shared_ptr<const BigramLm> lm = nullptr, double lm_weight = 0);

    /// Back to one empty path (a new utterance or input).
    void reset();
    /// One frame over [t0, t1), one posterior per token.
    void push(double t0, double t1, const float* posteriors);
    /// The words of the best path that ends between words or at the end of a word (that word included), or,
    /// when no path does, of the best path without its unfinished word.
    [[nodiscard]] std::vector<Word> best() const;

private:
    struct WordLink {
        std::shared_ptr<const WordLink> previous;
        Word word;
    };
    struct Path {
        double score = 0;
        int node = 0;           // the place in the word being spelled; 0: between words
        int last = -1;          // the token of this path's latest frame (-1: none yet)
        std::uint64_t key = 0;  // identifies the finished words (a hash of their ids)
        int previous = -1;      // the language model's index of the last finished word (<s> at first)
        std::shared_ptr<const WordLink> words;  // finished words, newest first
        double start = 0, end = 0;              // the word being spelled: first token's start, last frame's end
        double sum = 0;                         // ... the posteriors of its frames
        std::int64_t frames = 0;
    };
    struct State {
        std::uint64_t key;
        int node, last;
        bool operator==(const State& o) const noexcept { return key == o.key && node == o.node && last == o.last; }
    };
    struct StateHash {
        std::size_t operator()(const State& s) const noexcept;
    };

    /// Whether `p` is between words or at the end of one (where a separator may come, or the utterance end).
    [[nodiscard]] bool at_boundary(const Path& p) const noexcept { return p.node == 0 || lexicon_.word_at(p.node) >= 0; }
    [[nodiscard]] Path finish_word(const Path& p) const;
    /// p's score if the utterance ended here (its unfinished word finished, </s> scored); p at a boundary.
    [[nodiscard]] double final_score(const Path& p) const;
    void expand(const Path& p, int token, double t0, double t1, const float* posteriors);
    void add(Path&& p);

    Lexicon lexicon_;
    int blank_ = 0;
    int separator_ = -1;
    double word_penalty_ = 0;
    std::size_t beam_width_ = kBeamWidth;
    std::shared_ptr<const BigramLm> lm_;
    double lm_weight_ = 0;
    std::vector<int> lm_ids_;  // lexicon word id -> the language model's index (-1: not in it)
    std::vector<Path> beam_, next_;
    std::unordered_map<State, std::size_t, StateHash> at_;  // state -> its index in next_
    std::vector<double> logp_;
    std::vector<int> tokens_;
};

class CtcDecoder {
public:
    /// For a ctc model's vocabulary, blank and separator (`info`); utterances split at pauses longer than
    /// `utterance_gap_seconds`. With `lexicon` (not null and not empty), the words of each utterance come from
    /// a LexiconSearch over its frames (with the bigram language model `lm`, ARPA text, when not null); where
    /// utterances begin and end is decided by the best tokens either way. Throws std::invalid_argument when the
    /// lexicon or the language model is bad (check_decoding tells beforehand).
    CtcDecoder(const ModelInfo& info, double utterance_gap_seconds, const std::vector<std::string>* lexicon = nullptr,
               double word_penalty = 0, const std::string* lm = nullptr, double lm_weight = 0,
               std::size_t beam_width = LexiconSearch::kBeamWidth);

    /// Forgets everything (a new input).
    void reset();

    /// One frame over [t0, t1) with one posterior per token (summing to 1). Frames must come in time order.
    /// Appends the utterances that became final to `ready` (file and file_index left for the caller).
    void push(double t0, double t1, const float* posteriors, std::vector<Transcript>& ready);

    /// The end of the input: appends the utterance still open, if it has a word.
    void finish(std::vector<Transcript>& ready);

private:
    void close_token();
    void close_word();
    void close_utterance(std::vector<Transcript>& ready);
    [[nodiscard]] bool has_content() const noexcept { return token_ >= 0 || !word_.word.empty() || !words_.empty(); }

    std::vector<std::string> labels_;
    int blank_ = 0;
    int separator_ = -1;  // -1: none, every token is a word
    double gap_ = 0;

    int previous_ = -1;  // the previous frame's best token (-1 at the start)
    // The token being read: its index (-1 none), first frame's start, last frame's end, posterior sum, frames.
    int token_ = -1;
    double token_start_ = 0, token_end_ = 0;
    double token_sum_ = 0;
    std::int64_t token_frames_ = 0;
    // The word being built from closed tokens.
    Word word_;
    double word_sum_ = 0;
    std::int64_t word_frames_ = 0;
    std::vector<Word> words_;   // closed words of the current utterance
    double last_end_ = 0;       // end of the last token read (for the pause)
    std::optional<LexiconSearch> search_;  // lexicon decoding only
};

}  // namespace arpipe
