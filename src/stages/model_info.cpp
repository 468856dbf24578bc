// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "model_info.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "ctc.h"
#include "failure.h"

namespace arpipe {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) { throw Failure(ErrorCode::bad_model, "arpipe.json: " + what); }

const json& field(const json& obj, const char* parent, const char* name) {
    if (!obj.contains(name)) bad(std::string("missing field ") + parent + name);
    return obj.at(name);
}

std::string get_string(const json& obj, const char* parent, const char* name) {
    const json& v = field(obj, parent, name);
    if (!v.is_string()) bad(std::string(parent) + name + " = " + v.dump() + " is not a string");
    return v.get<std::string>();
}

double get_number(const json& obj, const char* parent, const char* name, double lo, double hi) {
    const json& v = field(obj, parent, name);
    if (!v.is_number()) bad(std::string(parent) + name + " = " + v.dump() + " is not a number");
    const double x = v.get<double>();
    if (!(x >= lo && x <= hi)) {
        std::ostringstream os;
        os << parent << name << " = " << v.dump() << " is not in [" << lo << ", " << hi << "]";
        bad(os.str());
    }
    return x;
}

int get_int(const json& obj, const char* parent, const char* name, int lo, int hi) {
    const json& v = field(obj, parent, name);
    if (!v.is_number_integer()) bad(std::string(parent) + name + " = " + v.dump() + " is not an integer");
    return static_cast<int>(get_number(obj, parent, name, lo, hi));
}

// The names of each kind in arpipe.json: read by get_choice, written by to_string. One table per enum.
template <typename E>
using Names = std::initializer_list<std::pair<E, const char*>>;
constexpr Names<InputKind> kInputKinds = {{InputKind::log_mel, "log_mel"}, {InputKind::waveform, "waveform"}};
constexpr Names<OutputKind> kOutputKinds = {
    {OutputKind::clip, "clip"}, {OutputKind::frames, "frames"}, {OutputKind::ctc, "ctc"}};
constexpr Names<CtcScores> kCtcScores = {{CtcScores::log_probs, "log_probs"}, {CtcScores::logits, "logits"}};
constexpr Names<CtcDecoding> kCtcDecodings = {
    {CtcDecoding::automatic, "auto"}, {CtcDecoding::greedy, "greedy"}, {CtcDecoding::lexicon, "lexicon"}};
constexpr Names<Activation> kActivations = {
    {Activation::softmax, "softmax"}, {Activation::sigmoid, "sigmoid"}, {Activation::none, "none"}};
constexpr Names<MelScale> kMelScales = {{MelScale::htk, "htk"}, {MelScale::slaney, "slaney"}};
constexpr Names<MelNorm> kMelNorms = {{MelNorm::none, "none"}, {MelNorm::slaney, "slaney"}};

template <typename E>
std::string_view name_of(Names<E> names, E value) noexcept {
    for (const auto& [v, name] : names)
        if (v == value) return name;
    return "?";
}

template <typename E>
E get_choice(const json& obj, const char* parent, const char* name, Names<E> allowed) {
    const std::string s = get_string(obj, parent, name);
    std::string list;
    for (const auto& [value, text] : allowed) {
        if (s == text) return value;
        list += list.empty() ? text : std::string(", ") + text;
    }
    bad(std::string(parent) + name + " = \"" + s + "\" is not one of: " + list);
}

const json& get_object(const json& obj, const char* name) {
    const json& v = field(obj, "", name);
    if (!v.is_object()) bad(std::string(name) + " is not an object");
    return v;
}

}  // namespace

std::string_view to_string(InputKind kind) noexcept { return name_of(kInputKinds, kind); }
std::string_view to_string(OutputKind kind) noexcept { return name_of(kOutputKinds, kind); }
std::string_view to_string(Activation activation) noexcept { return name_of(kActivations, activation); }
std::string_view to_string(CtcScores scores) noexcept { return name_of(kCtcScores, scores); }
std::string_view to_string(CtcDecoding decoding) noexcept { return name_of(kCtcDecodings, decoding); }

ParseResult<CtcDecoding> parse_ctc_decoding(std::string_view text) {
    for (const auto& [value, name] : kCtcDecodings)
        if (text == name) return {value, {}};
    return {std::nullopt, "decoding \"" + std::string(text) + "\" is not one of: auto, greedy, lexicon"};
}
std::string_view to_string(MelScale scale) noexcept { return name_of(kMelScales, scale); }
std::string_view to_string(MelNorm norm) noexcept { return name_of(kMelNorms, norm); }

ModelInfo parse_model_description(const std::string& json_text) {
    if (json_text.empty()) bad("the model has no arpipe.json extra file (see docs/model-contract.md)");
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        bad(std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) bad("top level is not an object");

    ModelInfo m;
    const std::string format = get_string(doc, "", "format");
    if (format != "arpipe-model/1") bad("format = \"" + format + "\" is not \"arpipe-model/1\"");
    if (doc.contains("name") && doc["name"].is_string()) m.name = doc["name"].get<std::string>();
    if (doc.contains("description") && doc["description"].is_string())
        m.description = doc["description"].get<std::string>();
    m.sample_rate_hz = get_int(doc, "", "sample_rate_hz", 1000, 192000);

    const json& in = get_object(doc, "input");
    m.input_kind = get_choice(in, "input.", "kind", kInputKinds);
    if (m.input_kind == InputKind::log_mel) {
        m.n_fft = get_int(in, "input.", "n_fft", 16, 65536);
        m.win_length = get_int(in, "input.", "win_length", 1, m.n_fft);
        m.hop_length = get_int(in, "input.", "hop_length", 1, 1 << 20);
        m.n_mels = get_int(in, "input.", "n_mels", 1, 512);
        m.f_min_hz = get_number(in, "input.", "f_min_hz", 0.0, m.sample_rate_hz / 2.0);
        m.f_max_hz = get_number(in, "input.", "f_max_hz", m.f_min_hz, m.sample_rate_hz / 2.0);
        if (m.f_max_hz <= m.f_min_hz) bad("input.f_max_hz must be greater than input.f_min_hz");
        m.mel_scale = get_choice(in, "input.", "mel_scale", kMelScales);
        m.mel_norm = get_choice(in, "input.", "mel_norm", kMelNorms);
        m.power = get_number(in, "input.", "power", 1.0, 2.0);
        if (m.power != 1.0 && m.power != 2.0) bad("input.power = " + std::to_string(m.power) + " is not 1 or 2");
        m.log_offset = get_number(in, "input.", "log_offset", 1e-30, 1e6);
    }

    const json& seg = get_object(doc, "segment");
    m.segment_seconds = get_number(seg, "segment.", "seconds", 1e-3, 600.0);
    m.hop_seconds = get_number(seg, "segment.", "hop_seconds", 1e-3, m.segment_seconds);
    m.segment_samples = std::llround(m.segment_seconds * m.sample_rate_hz);
    m.hop_samples = std::llround(m.hop_seconds * m.sample_rate_hz);
    if (m.hop_samples < 1) bad("segment.hop_seconds is shorter than one sample");
    if (m.input_kind == InputKind::log_mel && m.segment_samples <= m.n_fft / 2)
        bad("segment.seconds = " + std::to_string(m.segment_seconds) + " is shorter than half of input.n_fft");

    const json& out = get_object(doc, "output");
    m.output_kind = get_choice(out, "output.", "kind", kOutputKinds);
    if (m.output_kind != OutputKind::clip)
        m.frame_hop_seconds = get_number(out, "output.", "frame_hop_seconds", 1e-5, m.segment_seconds);
    if (m.output_kind == OutputKind::ctc) {
        // Posteriors come from a softmax over the vocabulary whatever the scores are (see CtcScores); an
        // "activation" field would have nothing to choose.
        if (out.contains("activation"))
            bad("output.activation = " + out["activation"].dump() + " does not apply to output.kind \"ctc\" (use output.scores)");
        m.activation = Activation::softmax;
        m.ctc_scores = get_choice(out, "output.", "scores", kCtcScores);
    } else {
        m.activation = get_choice(out, "output.", "activation", kActivations);
    }

    const json& labels = field(doc, "", "labels");
    if (!labels.is_array() || labels.empty() || labels.size() > 4096) bad("labels must be an array of 1 to 4096 strings");
    std::set<std::string> seen;
    for (const json& l : labels) {
        if (!l.is_string() || l.get<std::string>().empty()) bad("labels: " + l.dump() + " is not a non-empty string");
        if (!seen.insert(l.get<std::string>()).second) bad("labels: \"" + l.get<std::string>() + "\" appears twice");
        m.labels.push_back(l.get<std::string>());
    }
    if (m.output_kind == OutputKind::ctc) {
        const auto last = static_cast<int>(m.labels.size()) - 1;
        m.blank = get_int(out, "output.", "blank", 0, last);
        if (m.labels.size() < 2) bad("labels: a ctc model needs at least 2 tokens (the blank and one more)");
        if (out.contains("word_separator") && !out["word_separator"].is_null()) {
            m.word_separator = get_string(out, "output.", "word_separator");
            const auto at = std::find(m.labels.begin(), m.labels.end(), m.word_separator);
            if (at == m.labels.end())
                bad("output.word_separator = " + out["word_separator"].dump() + " is not one of the labels");
            if (at - m.labels.begin() == m.blank)
                bad("output.word_separator = " + out["word_separator"].dump() + " is the blank token (output.blank = " +
                    std::to_string(m.blank) + ")");
        }
        if (out.contains("lexicon") && !out["lexicon"].is_null()) {
            const json& lexicon = out["lexicon"];
            if (!lexicon.is_array() || lexicon.size() > kMaxLexiconWords)
                bad("output.lexicon must be an array of at most " + std::to_string(kMaxLexiconWords) + " words");
            for (const json& w : lexicon) {
                if (!w.is_string() || w.get<std::string>().empty()) bad("output.lexicon: " + w.dump() + " is not a non-empty string");
                m.lexicon.push_back(w.get<std::string>());
            }
            if (std::string why = check_lexicon(m.lexicon, m); !why.empty()) bad("output.lexicon: " + why);
        }
        if (out.contains("word_penalty")) m.word_penalty = get_number(out, "output.", "word_penalty", 0.0, 1000.0);
        if (out.contains("language_model") && !out["language_model"].is_null()) {
            m.language_model = get_string(out, "output.", "language_model");
            if (m.lexicon.empty()) bad("output.language_model needs an output.lexicon (it is used by lexicon decoding only)");
            try {
                const BigramLm lm(m.language_model);
                m.language_model_size.unigrams = lm.unigrams();
                m.language_model_size.bigrams = lm.bigrams();
                for (const std::string& w : m.lexicon) m.language_model_size.lexicon_words_missing += lm.index(w) < 0;
            } catch (const std::invalid_argument& e) {
                bad(std::string("output.language_model: ") + e.what());
            }
        }
        if (out.contains("lm_weight")) m.lm_weight = get_number(out, "output.", "lm_weight", 0.0, 100.0);
    } else {
        for (const char* name : {"lexicon", "word_penalty", "language_model", "lm_weight"})
            if (out.contains(name)) bad(std::string("output.") + name + " applies to output.kind \"ctc\" only");
    }
    m.description_json = json_text;
    return m;
}

LogMelParams log_mel_params(const ModelInfo& m) {
    LogMelParams p;
    p.sample_rate_hz = m.sample_rate_hz;
    p.n_fft = m.n_fft;
    p.win_length = m.win_length;
    p.hop_length = m.hop_length;
    p.n_mels = m.n_mels;
    p.f_min_hz = m.f_min_hz;
    p.f_max_hz = m.f_max_hz;
    p.slaney_scale = m.mel_scale == MelScale::slaney;
    p.slaney_norm = m.mel_norm == MelNorm::slaney;
    p.power = m.power;
    p.log_offset = m.log_offset;
    return p;
}

}  // namespace arpipe
