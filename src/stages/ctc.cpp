// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "ctc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace arpipe {

int argmax(const float* values, std::int64_t n) noexcept {
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < n; ++i)
        if (values[i] > values[best]) best = i;  // strictly greater: ties keep the lower index
    return static_cast<int>(best);
}

namespace {

/// The index of the word separator among the labels, or -1.
int separator_index(const ModelInfo& info) {
    if (info.word_separator.empty()) return -1;
    const auto at = std::find(info.labels.begin(), info.labels.end(), info.word_separator);
    return at == info.labels.end() ? -1 : static_cast<int>(at - info.labels.begin());
}

/// Mixes a finished word into a path's key (splitmix64's finaliser over the pair).
std::uint64_t mix(std::uint64_t key, int word) noexcept {
    std::uint64_t z = key * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(word) + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace

std::vector<int> spell_word(const std::string& word, const ModelInfo& info) {
    const int separator = separator_index(info);
    std::vector<int> tokens;
    for (std::size_t at = 0; at < word.size();) {
        int best = -1;
        std::size_t best_size = 0;
        for (std::size_t i = 0; i < info.labels.size(); ++i) {
            const std::string& l = info.labels[i];
            const int token = static_cast<int>(i);
            if (token == info.blank || token == separator || l.size() <= best_size) continue;
            if (word.compare(at, l.size(), l) == 0) {
                best = token;
                best_size = l.size();
            }
        }
        if (best < 0) return {};
        tokens.push_back(best);
        at += best_size;
    }
    return tokens;
}

std::string check_lexicon(const std::vector<std::string>& words, const ModelInfo& info) {
    for (const std::string& w : words) {
        if (w.empty()) return "a word is empty";
        if (spell_word(w, info).empty()) {
            std::string why = "the word \"" + w + "\" cannot be spelled with the model's labels";
            if (const int sep = separator_index(info); sep >= 0 && w.find(info.labels[static_cast<std::size_t>(sep)]) != std::string::npos)
                why += " (it holds the word separator \"" + info.word_separator + "\")";
            return why;
        }
    }
    return {};
}

const std::vector<std::string>* lexicon_in_use(const ModelInfo& info, const PostConfig& post) noexcept {
    if (info.output_kind != OutputKind::ctc || post.decoding == CtcDecoding::greedy) return nullptr;
    if (!post.lexicon.empty()) return &post.lexicon;
    if (!info.lexicon.empty()) return &info.lexicon;
    return nullptr;
}

double word_penalty_in_use(const ModelInfo& info, const PostConfig& post) noexcept {
    return post.word_penalty >= 0 ? post.word_penalty : info.word_penalty;
}

const std::string* language_model_in_use(const ModelInfo& info, const PostConfig& post) noexcept {
    if (lexicon_in_use(info, post) == nullptr || lm_weight_in_use(info, post) <= 0) return nullptr;
    if (!post.language_model.empty()) return &post.language_model;
    if (!info.language_model.empty()) return &info.language_model;
    return nullptr;
}

double lm_weight_in_use(const ModelInfo& info, const PostConfig& post) noexcept {
    return post.lm_weight >= 0 ? post.lm_weight : info.lm_weight;
}

std::string check_decoding(const ModelInfo& info, const PostConfig& post) {
    if (info.output_kind != OutputKind::ctc) {
        if (post.decoding != CtcDecoding::automatic)
            return "post.decoding = " + std::string(to_string(post.decoding)) + " applies to ctc models only (the model's output.kind is \"" +
                   std::string(to_string(info.output_kind)) + "\")";
        if (!post.lexicon.empty())
            return "post.lexicon applies to ctc models only (the model's output.kind is \"" + std::string(to_string(info.output_kind)) + "\")";
        if (!post.language_model.empty())
            return "post.language_model applies to ctc models only (the model's output.kind is \"" +
                   std::string(to_string(info.output_kind)) + "\")";
        return {};
    }
    if (post.decoding == CtcDecoding::greedy && !post.lexicon.empty())
        return "post.lexicon is given, but post.decoding = greedy would not use it";
    if (post.decoding == CtcDecoding::lexicon && lexicon_in_use(info, post) == nullptr)
        return "post.decoding = lexicon, but the model's description has no output.lexicon and post.lexicon is empty";
    if (std::string why = check_lexicon(post.lexicon, info); !why.empty()) return "post.lexicon: " + why;
    if (!post.language_model.empty()) {
        if (lexicon_in_use(info, post) == nullptr)
            return post.decoding == CtcDecoding::greedy
                       ? "post.language_model is given, but post.decoding = greedy would not use it"
                       : "post.language_model needs lexicon decoding, and there is no lexicon (post.lexicon or the model's output.lexicon)";
        if (std::string why = check_language_model(post.language_model); !why.empty()) return "post.language_model: " + why;
    }
    return {};
}

Lexicon::Lexicon(const std::vector<std::string>& words, const ModelInfo& info) : nodes_(1) {
    if (std::string why = check_lexicon(words, info); !why.empty()) throw std::invalid_argument(why);
    for (const std::string& w : words) {
        int node = 0;
        for (const int token : spell_word(w, info)) {
            int next = child(node, token);
            if (next < 0) {
                next = static_cast<int>(nodes_.size());
                auto& children = nodes_[static_cast<std::size_t>(node)].children;
                children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(token, 0)),
                                std::make_pair(token, next));
                nodes_.emplace_back();
            }
            node = next;
        }
        if (nodes_[static_cast<std::size_t>(node)].word < 0) {
            nodes_[static_cast<std::size_t>(node)].word = static_cast<int>(words_.size());
            words_.push_back(w);
        }
    }
}

int Lexicon::child(int node, int token) const noexcept {
    const auto& children = nodes_[static_cast<std::size_t>(node)].children;
    const auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(token, 0));
    return it != children.end() && it->first == token ? it->second : -1;
}

std::size_t LexiconSearch::StateHash::operator()(const State& s) const noexcept {
    return static_cast<std::size_t>(mix(s.key ^ (static_cast<std::uint64_t>(static_cast<std::uint32_t>(s.node)) << 20),
                                        s.last));
}

LexiconSearch::LexiconSearch(const ModelInfo& info, const std::vector<std::string>& words, double word_penalty,
                             std::size_t beam_width, std::shared_ptr<const BigramLm> lm, double lm_weight)
    : lexicon_(words, info),
      blank_(info.blank),
      separator_(separator_index(info)),
      word_penalty_(word_penalty),
      beam_width_(std::max<std::size_t>(beam_width, 1)),
      lm_(lm_weight > 0 ? std::move(lm) : nullptr),
      lm_weight_(lm_ ? lm_weight : 0),
      logp_(info.labels.size()) {
    if (lm_)
        for (std::size_t id = 0; id < lexicon_.size(); ++id) lm_ids_.push_back(lm_->index(lexicon_.word(static_cast<int>(id))));
    reset();
}

void LexiconSearch::reset() {
    Path first;
    if (lm_) first.previous = lm_->start();
    beam_.assign(1, first);
}

LexiconSearch::Path LexiconSearch::finish_word(const Path& p) const {
    const int id = lexicon_.word_at(p.node);
    Path n = p;
    Word w;
    w.word = lexicon_.word(id);
    w.start_seconds = p.start;
    w.end_seconds = p.end;
    w.confidence = static_cast<float>(p.sum / static_cast<double>(std::max<std::int64_t>(p.frames, 1)));
    n.words = std::make_shared<const WordLink>(WordLink{p.words, std::move(w)});
    n.key = mix(p.key, id);
    if (lm_) {
        const int word = lm_ids_[static_cast<std::size_t>(id)];
        n.score += lm_weight_ * lm_->log_prob(p.previous, word);
        n.previous = word;
    }
    n.node = 0;
    n.sum = 0;
    n.frames = 0;
    return n;
}

void LexiconSearch::add(Path&& p) {
    const State state{p.key, p.node, p.last};
    const auto [it, fresh] = at_.try_emplace(state, next_.size());
    if (fresh) {
        next_.push_back(std::move(p));
    } else if (p.score > next_[it->second].score) {  // equal scores keep the path found first
        next_[it->second] = std::move(p);
    }
}

void LexiconSearch::expand(const Path& p, int token, double t0, double t1, const float* posteriors) {
    const double score = p.score + logp_[static_cast<std::size_t>(token)];
    const double posterior = posteriors[token];
    if (token == blank_) {
        Path n = p;
        n.score = score;
        n.last = token;
        add(std::move(n));
        return;
    }
    if (token == p.last) {  // the same token held over another frame
        Path n = p;
        n.score = score;
        if (token != separator_) {
            n.end = t1;
            n.sum += posterior;
            ++n.frames;
        }
        add(std::move(n));
        return;
    }
    if (token == separator_) {
        if (at_boundary(p)) {
            Path n = p.node == 0 ? p : finish_word(p);  // which may add the language model's score
            n.score += score - p.score;
            n.last = token;
            add(std::move(n));
        }
        return;
    }
    // A token that goes on spelling the word (or starts one from between words) ...
    const auto spell = [&](Path n, int node) {
        if (n.node == 0) {  // a new word: it pays the penalty now, so that paths compare fairly at once
            n.start = t0;
            n.sum = 0;
            n.frames = 0;
            n.score -= word_penalty_;
        }
        n.node = node;
        n.score += score - p.score;
        n.last = token;
        n.end = t1;
        n.sum += posterior;
        ++n.frames;
        add(std::move(n));
    };
    if (const int c = lexicon_.child(p.node, token); c >= 0) spell(p, c);
    // ... or, for a model without a separator, ends the word there and starts the next. A model with one must
    // say where words end: a path may put the separator on a frame that favours the blank, at its price, but
    // never skips it (else any string of letters would pass as a string of one-letter words).
    if (separator_ < 0 && p.node != 0 && lexicon_.word_at(p.node) >= 0)
        if (const int c = lexicon_.child(0, token); c >= 0) spell(finish_word(p), c);
}

void LexiconSearch::push(double t0, double t1, const float* posteriors) {
    const std::size_t n = logp_.size();
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k) {
        // Posteriors of 0 (a softmax underflow) stay finite, far below any path worth keeping.
        logp_[k] = std::log(std::max(static_cast<double>(posteriors[k]), 1e-30));
        top = std::max(top, logp_[k]);
    }
    tokens_.clear();
    for (std::size_t k = 0; k < n; ++k)
        if (logp_[k] >= top - kTokenBeam) tokens_.push_back(static_cast<int>(k));
    next_.clear();
    at_.clear();
    for (const Path& p : beam_)
        for (const int token : tokens_) expand(p, token, t0, t1, posteriors);
    if (next_.empty()) {  // no path could take a token near the best: try them all (the blank fits every path)
        for (const Path& p : beam_)
            for (std::size_t k = 0; k < n; ++k) expand(p, static_cast<int>(k), t0, t1, posteriors);
    }
    // Best first; equal scores in a fixed order of their states, so that the search never depends on the order
    // of a hash table.
    std::sort(next_.begin(), next_.end(), [](const Path& a, const Path& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.key != b.key) return a.key < b.key;
        if (a.node != b.node) return a.node < b.node;
        return a.last < b.last;
    });
    std::size_t keep = std::min(next_.size(), beam_width_);
    while (keep > 1 && next_[keep - 1].score < next_.front().score - kScoreBeam) --keep;
    // The best path that can end a word here survives whatever its score: when every better path is inside a
    // word the audio does not go on to spell (an out-of-lexicon word), the search carries on from it instead
    // of losing the rest of the utterance.
    const auto can_end = [this](const Path& p) { return at_boundary(p); };
    if (std::none_of(next_.begin(), next_.begin() + static_cast<std::ptrdiff_t>(keep), can_end)) {
        const auto found = std::find_if(next_.begin() + static_cast<std::ptrdiff_t>(keep), next_.end(), can_end);
        if (found != next_.end()) std::swap(next_[keep++], *found);  // it scores below every kept path
    }
    next_.resize(keep);
    beam_.swap(next_);
}

double LexiconSearch::final_score(const Path& p) const {
    if (p.node == 0) return lm_ ? p.score + lm_weight_ * lm_->log_prob(p.previous, lm_->end()) : p.score;
    return final_score(finish_word(p));
}

std::vector<Word> LexiconSearch::best() const {
    // beam_ is sorted best first; with a language model the end of the utterance costs each path differently.
    const Path* chosen = nullptr;
    double chosen_score = -std::numeric_limits<double>::infinity();
    for (const Path& p : beam_)
        if (at_boundary(p)) {
            const double score = lm_ ? final_score(p) : p.score;
            if (chosen == nullptr || score > chosen_score) {
                chosen = &p;
                chosen_score = score;
            }
            if (!lm_) break;
        }
    Path whole;
    if (chosen == nullptr) {
        chosen = &beam_.front();  // no path is at a word's end: the best, without its unfinished word
    } else if (chosen->node != 0) {
        whole = finish_word(*chosen);
        chosen = &whole;
    }
    std::vector<Word> words;
    for (const WordLink* link = chosen->words.get(); link != nullptr; link = link->previous.get()) words.push_back(link->word);
    std::reverse(words.begin(), words.end());
    return words;
}

CtcDecoder::CtcDecoder(const ModelInfo& info, double utterance_gap_seconds, const std::vector<std::string>* lexicon,
                       double word_penalty, const std::string* lm, double lm_weight, std::size_t beam_width)
    : labels_(info.labels), blank_(info.blank), separator_(separator_index(info)), gap_(utterance_gap_seconds) {
    if (lexicon == nullptr || lexicon->empty()) return;
    std::shared_ptr<const BigramLm> model;
    if (lm != nullptr && !lm->empty() && lm_weight > 0) model = std::make_shared<const BigramLm>(*lm);
    search_.emplace(info, *lexicon, word_penalty, beam_width, std::move(model), lm_weight);
}

void CtcDecoder::reset() {
    previous_ = token_ = -1;
    token_start_ = token_end_ = token_sum_ = 0;
    token_frames_ = 0;
    word_ = Word{};
    word_sum_ = 0;
    word_frames_ = 0;
    words_.clear();
    last_end_ = 0;
    if (search_) search_->reset();
}

void CtcDecoder::close_token() {
    if (token_ < 0) return;
    if (word_.word.empty()) word_.start_seconds = token_start_;
    word_.word += labels_[static_cast<std::size_t>(token_)];
    word_.end_seconds = token_end_;
    word_sum_ += token_sum_;
    word_frames_ += token_frames_;
    token_ = -1;
    token_sum_ = 0;
    token_frames_ = 0;
    if (separator_ < 0) close_word();  // no separator: every token is a word
}

void CtcDecoder::close_word() {
    close_token();
    if (word_.word.empty()) return;
    word_.confidence = static_cast<float>(word_sum_ / static_cast<double>(word_frames_));
    words_.push_back(std::move(word_));
    word_ = Word{};
    word_sum_ = 0;
    word_frames_ = 0;
}

void CtcDecoder::close_utterance(std::vector<Transcript>& ready) {
    close_word();
    if (search_) {
        // The best tokens said where the utterance is; the search says which lexicon words it holds.
        if (!words_.empty()) words_ = search_->best();
        search_->reset();
    }
    if (words_.empty()) return;
    Transcript t;
    t.start_seconds = words_.front().start_seconds;
    t.end_seconds = words_.back().end_seconds;
    for (const Word& w : words_) t.text += (t.text.empty() ? "" : " ") + w.word;
    t.words = std::move(words_);
    words_.clear();
    ready.push_back(std::move(t));
}

void CtcDecoder::push(double t0, double t1, const float* posteriors, std::vector<Transcript>& ready) {
    const int best = argmax(posteriors, static_cast<std::int64_t>(labels_.size()));
    const double p = posteriors[best];
    const bool repeat = best == previous_;
    previous_ = best;
    if (best == blank_ || best == separator_) {
        if (search_) search_->push(t0, t1, posteriors);
        close_token();
        if (best == separator_) close_word();
        // No token can start before t1 now: once that is past the gap, the utterance is over. Deciding here
        // rather than at the next token gives the same split, and sends the utterance without waiting.
        if (has_content() && t1 - last_end_ > gap_) close_utterance(ready);
        return;
    }
    if (repeat) {  // the same token over consecutive frames is one token
        if (search_) search_->push(t0, t1, posteriors);
        token_end_ = t1;
        token_sum_ += p;
        ++token_frames_;
        last_end_ = t1;
        return;
    }
    close_token();
    if (has_content() && t0 - last_end_ > gap_) close_utterance(ready);
    if (search_) search_->push(t0, t1, posteriors);
    token_ = best;
    token_start_ = t0;
    token_end_ = t1;
    token_sum_ = p;
    token_frames_ = 1;
    last_end_ = t1;
}

void CtcDecoder::finish(std::vector<Transcript>& ready) {
    close_utterance(ready);
    previous_ = -1;
}

}  // namespace arpipe
