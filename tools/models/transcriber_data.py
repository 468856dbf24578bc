"""Data preparation for arpipe's bundled transcriber (a small CTC model, IVR prompt vocabulary).

Real recorded speech with exact transcripts from Debian packages (see data/NOTICE):

- asterisk-core-sounds-en-wav: 568 prompts (Allison Smith, US English, 8 kHz); the text of each prompt is in
  /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz (package asterisk-core-sounds-en).
- asterisk-core-sounds-{es,fr,it}-wav + asterisk-core-sounds-{es,fr,it}: other languages, evaluation only.
- klettres-data (en, en_GB spoken letters), pocketsphinx-testdata (cards, goforward, a TIDIGITS string):
  other English speakers, evaluation only.
- espeak-ng: synthetic voices reading the *training* prompts' text add speaker variety in training; one
  voice that training never uses reads the held-out prompts (a synthetic check, reported as such).

Held-out split by prompt text: prompts with the same normalised text are one group (for example
confbridge-begin-glorious-a/-b/-c), and a seeded 15% of the groups never reach training.  The prompts that
data/samples/speech_ivr_prompts.wav is built from are always held out.

Features follow docs/model-contract.md: torchaudio MelSpectrogram at 8 kHz (n_fft 256, win 200, hop 80,
48 HTK mels 60-3800 Hz, power 2, no norm, center/reflect, periodic Hann), then ln(mel + 1e-6).
"""
import glob
import gzip
import hashlib
import os
import random
import re
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio
import torchaudio.functional as AF

SR = 8000
N_FFT, WIN, HOP_LENGTH, N_MELS, F_MIN, F_MAX, LOG_OFFSET = 256, 200, 80, 48, 60.0, 3800.0, 1e-6
SEG_SECONDS, HOP_SECONDS, FRAME_HOP = 4.0, 2.0, 0.02
BLANK, SEP = "<blank>", "|"
LABELS = [BLANK, SEP, "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
LI = {c: i for i, c in enumerate(LABELS)}
ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("TRANSCRIBER_WORK", ROOT / "tools" / "models" / ".work" / "transcriber"))
AST = "/usr/share/asterisk/sounds"
LANG_DIRS = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison", "fr": "fr_CA_f_June", "it": "it_IT_m_Carlo"}
EVAL_FRACTION = 0.15

# The prompts data/samples/speech_ivr_prompts.wav is made of: always held out.
SAMPLE_PROMPTS = ["vm-enter-num-to-call", "digits/7", "conf-invalidpin", "letters/q"]
PINNED_EVAL = set(SAMPLE_PROMPTS)

# Synthetic voices (espeak-ng) for training variety; EVAL_VOICE is never used in training.
TRAIN_VOICES = ["en-us+f3", "en-gb+m3", "en-gb-scotland+f2", "en-029+m1", "en-us+f5", "en-gb-x-rp+m7"]
EVAL_VOICE = "en-gb-x-gbcwmd+f4"

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
       "sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def num_words(n):
    if n < 20:
        return ONES[n]
    t, o = divmod(n, 10)
    return TENS[t] + ("" if o == 0 else " " + ONES[o])


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def normalise(text, lang="en"):
    """Prompt text -> lower-case words of a-z and ', or None when the prompt is not plainly speakable
    (non-speech entries such as "[ascending tones]", or numbers of 3+ digits whose reading is ambiguous)."""
    t = text.strip()
    if re.fullmatch(r"[\[<(].*[\]>)]", t):
        return None
    t = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", t)          # stage directions, "[@]"
    if re.search(r"\d{3,}", t):
        return None
    t = t.replace("*", " star ").replace("#", " pound ").replace("&", " and ")
    t = re.sub(r"\d+", lambda m: " " + num_words(int(m.group())) + " ", t)
    t = strip_accents(t).lower()
    t = re.sub(r"[^a-z' ]", " ", t)
    words = [w.strip("'") for w in t.split()]
    words = [w for w in words if w]
    return " ".join(words) if words else None


def encode(text):
    return [LI[SEP] if c == " " else LI[c] for c in text]


def read_texts(lang):
    path = f"/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz"
    out = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def load_wav(path, sr=SR):
    x, r = sf.read(path, dtype="float32", always_2d=True)
    x = torch.from_numpy(x.mean(axis=1).copy())
    if r != sr:
        x = AF.resample(x, r, sr)
    return x


def load_raw16k(path):
    x = torch.from_numpy(np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0)
    return AF.resample(x, 16000, SR)


@dataclass
class Utt:
    key: str          # prompt name (e.g. "digits/7") or file name
    text: str         # normalised transcript
    audio: torch.Tensor
    split: str = ""
    source: str = ""


def asterisk_prompts(lang="en", audio=True):
    """The speakable prompts of one language, sorted by key; audio=False leaves Utt.audio None (texts only)."""
    texts = read_texts(lang)
    base = f"{AST}/{LANG_DIRS[lang]}"
    utts, skipped = [], []
    for key in sorted(texts):
        p = f"{base}/{key}.wav"
        if not os.path.exists(p) or key.startswith("silence/"):
            continue
        t = normalise(texts[key], lang)
        if t is None:
            skipped.append(key)
            continue
        utts.append(Utt(key, t, load_wav(p) if audio else None, source=f"asterisk_{lang}"))
    return utts, skipped


def split_prompts(utts, seed=1234):
    """Held-out split by normalised text (one group per text), seeded; PINNED_EVAL always held out."""
    groups = sorted({u.text for u in utts})
    rng = random.Random(seed)
    rng.shuffle(groups)
    n_eval = round(EVAL_FRACTION * len(groups))
    pinned = {u.text for u in utts if u.key in PINNED_EVAL}
    ev = set(pinned)
    for g in groups:
        if len(ev) >= n_eval:
            break
        ev.add(g)
    for u in utts:
        u.split = "eval" if u.text in ev else "train"
    return utts


# Number, ordinal and calendar words an IVR reads out (asterisk says dates, times and counts), listed here from
# the language, not from any prompt: ordinals as spoken in dates ("the twenty first"), weekdays, months.
CLOSED_CLASSES = (
    "oh hundred thousand million first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
    "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth "
    "fortieth fiftieth sixtieth seventieth eightieth ninetieth hundredth monday tuesday wednesday thursday "
    "friday saturday sunday january february march april may june july august september october november "
    "december")

# Nats arpipe's lexicon decoding takes off a path's score per word (arpipe.json output.word_penalty). Without
# a language model 1.0 was best on training prompts (eval_transcriber.py --sets train --word-penalty B, B in
# 0-8); with the bigram model (LM_WEIGHT below) 0 was, on the two tuning sets. Never chosen on held-out prompts.
WORD_PENALTY = 0.0


def ivr_lexicon(seed=1234):
    """The closed vocabulary for lexicon decoding (arpipe.json output.lexicon), with no word taken from the
    held-out prompts: the words of the training prompts (split_prompts with `seed`), plus the classes the
    domain defines by construction, spelled as normalise() spells them: the letters a-z (a letter prompt's
    text is the letter itself, "letters/q: q"), the number words of 0-99, star, pound and CLOSED_CLASSES.
    Returns (sorted words, stats); stats counts the held-out word tokens and distinct words, and those of
    them outside the vocabulary (for the docs: the words lexicon decoding cannot produce there)."""
    utts, _ = asterisk_prompts("en", audio=False)
    split_prompts(utts, seed)
    words = {w for u in utts if u.split == "train" for w in u.text.split()}
    words |= {normalise(c) for c in "abcdefghijklmnopqrstuvwxyz"}
    words |= {w for n in range(100) for w in num_words(n).split()}
    words |= set(normalise("* #").split())
    words |= set(CLOSED_CLASSES.split())
    held = [w for u in utts if u.split == "eval" for w in u.text.split()]
    oov = [w for w in held if w not in words]
    stats = {"held_tokens": len(held), "held_oov_tokens": len(oov),
             "held_words": len(set(held)), "held_oov_words": len(set(oov)), "oov_words": sorted(set(oov))}
    return sorted(words), stats


# Weight of the bigram model's natural-log probabilities in arpipe's lexicon decoding (arpipe.json
# output.lm_weight): chosen with a model built without every 4th training prompt (make_lm.py --dev), evaluated
# on those prompts read by Allison Smith and by the unseen synthetic voice (eval_transcriber.py --sets
# train,synthetic-train), never on held-out ones. The discount and the unigram add-on were set once, not tuned.
LM_WEIGHT = 0.3
LM_DISCOUNT = 0.5
LM_UNIGRAM_ADD = 0.5


def bigram_arpa(sentences, vocabulary, discount=LM_DISCOUNT, add=LM_UNIGRAM_ADD):
    """A word bigram model in ARPA format over `vocabulary` (every word gets a unigram, seen or not), from
    `sentences` (one normalised prompt text each, wrapped in <s> ... </s>). Unigrams: counts plus `add`
    (so the closed classes no prompt says still have a little mass). Bigrams: absolute discounting of the
    seen pairs by `discount`, the mass taken backs off to the unigrams of the words not seen after the context
    (Katz-style back-off weights, so that each context's distribution sums to 1)."""
    from collections import Counter
    import math
    uni, bi = Counter(), Counter()
    for s in sentences:
        ws = ["<s>"] + s.split() + ["</s>"]
        uni.update(ws[1:])
        bi.update(zip(ws[:-1], ws[1:]))
    targets = sorted(set(vocabulary) | {w for w in uni if w != "<s>"} | {"</s>"})
    total = sum(uni[w] for w in targets) + add * len(targets)
    p1 = {w: (uni[w] + add) / total for w in targets}
    contexts = {}
    for (v, w), c in bi.items():
        contexts.setdefault(v, {})[w] = c
    p2, backoff = {}, {}
    for v, nexts in contexts.items():
        cv = sum(nexts.values())
        for w, c in nexts.items():
            p2[(v, w)] = (c - discount) / cv
        left = discount * len(nexts) / cv
        backoff[v] = left / (1.0 - sum(p1[w] for w in nexts))
    lines = ["\\data\\", f"ngram 1={len(targets) + 1}", f"ngram 2={len(p2)}", "", "\\1-grams:"]
    lines.append(f"-99\t<s>\t{math.log10(backoff['<s>']):.6f}" if "<s>" in backoff else "-99\t<s>")
    for w in targets:
        lines.append(f"{math.log10(p1[w]):.6f}\t{w}" + (f"\t{math.log10(backoff[w]):.6f}" if w in backoff else ""))
    lines += ["", "\\2-grams:"]
    for (v, w) in sorted(p2):
        lines.append(f"{math.log10(p2[(v, w)]):.6f}\t{v}\t{w}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def ivr_language_model(seed=1234, dev=False):
    """The bigram model arpipe.json carries (output.language_model): the training prompts' sentences over
    ivr_lexicon's words. dev=True leaves out every 4th training prompt (the "training prompts" evaluation set),
    to choose LM_WEIGHT on prompts the model did not count."""
    utts, _ = asterisk_prompts("en", audio=False)
    split_prompts(utts, seed)
    train = [u for u in utts if u.split == "train"]
    if dev:
        held = {id(u) for u in train[::4]}
        train = [u for u in train if id(u) not in held]
    words, _ = ivr_lexicon(seed)
    return bigram_arpa([u.text for u in train], words)


def silences():
    return [load_wav(p) for p in sorted(glob.glob(f"{AST}/{LANG_DIRS['en']}/silence/*.wav"))]


def espeak(text, voice, speed):
    """espeak-ng reading `text` -> 8 kHz waveform (cached under WORK/espeak)."""
    h = hashlib.sha1(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
    d = WORK / "espeak"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{h}.wav"
    if not p.exists():
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(p) + ".tmp", text],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.replace(str(p) + ".tmp", p)
    x = load_wav(str(p))
    return x / max(float(x.abs().max()), 1e-4) * 0.5


def synthetic(utts, voices, seed=1234):
    rng = random.Random(seed)
    out = []
    for u in utts:
        for v in voices:
            out.append(Utt(u.key, u.text, espeak(u.text, v, rng.choice([135, 150, 165, 180])),
                           split=u.split, source=f"espeak:{v}"))
    return out


def other_speakers():
    """Real English recordings by other speakers with known text (evaluation only)."""
    out = []
    for d in ["en", "en_GB"]:
        for p in sorted(glob.glob(f"/usr/share/klettres/{d}/alpha/*.ogg")):
            letter = os.path.splitext(os.path.basename(p))[0].lower()
            if re.fullmatch(r"[a-z]", letter):
                out.append(Utt(f"klettres/{d}/{letter}", letter, load_wav(p), "eval", f"klettres_{d}"))
    ps = "/usr/share/pocketsphinx/test/data"
    for line in open(f"{ps}/cards/cards.transcription"):
        m = re.match(r"<s>(.*)</s>\s*\((\d+)\)", line.strip())
        if m:
            out.append(Utt(f"cards/{m.group(2)}", " ".join(m.group(1).split()),
                           load_wav(f"{ps}/cards/{m.group(2)}.wav"), "eval", "pocketsphinx"))
    out.append(Utt("goforward", "go forward ten meters", load_raw16k(f"{ps}/goforward.raw"), "eval", "pocketsphinx"))
    out.append(Utt("tidigits/dhd.2934z", "two nine three four zero", load_raw16k(f"{ps}/tidigits/dhd.2934z.raw"),
                   "eval", "pocketsphinx"))
    out += saytime_numbers()
    return out


TUXPAINT = "/usr/share/tuxpaint/stamps"


def extra_speakers():
    """Real English speech by speakers other than Allison Smith, used in training only (evaluation keeps its own
    other speakers: klettres, pocketsphinx, saytime, none of them here). The text of each clip is known:
    - tuxpaint-stamps-default: digits 0-9 in two voices (symbols/math/N.ogg, N_en_GB.ogg), the letters in a
      British voice (one recording per letter, shared by the four English alphabet stamp sets), and 66 spoken
      animal descriptions (<stamp>_desc.ogg; the text is the first line of <stamp>.txt, "A koala.");
    - scid-data: a male voice saying chess squares' digits 1-8 and files a-h (sounds/<x>.wav).
    One minute and a half in all: a little speaker variety, not a second training speaker."""
    missing = [d for d in (TUXPAINT, "/usr/share/scid/sounds") if not os.path.isdir(d)]
    if missing:
        raise SystemExit(f"--other-speakers: {', '.join(missing)} missing; install tuxpaint-stamps-default and "
                         "scid-data (tools/models/train_transcriber.sh --other-speakers does)")
    out = []
    for n in range(10):
        for suffix, src in (("", "tuxpaint_digits"), ("_en_GB", "tuxpaint_digits_en_GB")):
            p = f"{TUXPAINT}/symbols/math/{n}{suffix}.ogg"
            if os.path.exists(p):
                out.append(Utt(f"tuxpaint/{n}{suffix}", ONES[n], load_wav(p), "train", src))
    seen = set()
    for p in sorted(glob.glob(f"{TUXPAINT}/symbols/alphabets/english/*/*/*_en_GB.ogg")):
        letter = os.path.basename(p)[0].lower()
        if letter in seen:
            continue  # the same recording under filled/outlined, upper/lower case
        seen.add(letter)
        out.append(Utt(f"tuxpaint/letter/{letter}", letter, load_wav(p), "train", "tuxpaint_letters_en_GB"))
    for p in sorted(glob.glob(f"{TUXPAINT}/**/*_desc.ogg", recursive=True)):
        txt = p[:-len("_desc.ogg")] + ".txt"
        if not os.path.exists(txt):
            continue
        with open(txt, encoding="utf-8") as f:
            t = normalise(f.readline())
        if t:
            out.append(Utt(f"tuxpaint/{os.path.relpath(p, TUXPAINT)}", t, load_wav(p), "train", "tuxpaint_desc"))
    for p in sorted(glob.glob("/usr/share/scid/sounds/*.wav")):
        stem = os.path.splitext(os.path.basename(p))[0]
        if re.fullmatch(r"[1-8]", stem):
            out.append(Utt(f"scid/{stem}", ONES[int(stem)], load_wav(p), "train", "scid"))
        elif re.fullmatch(r"[a-h]", stem):
            out.append(Utt(f"scid/{stem}", stem, load_wav(p), "train", "scid"))
    return out


def saytime_numbers(root=os.environ.get("SAYTIME_DIR", "/usr/share/saytime")):
    """saytime's spoken numbers (one male speaker, David C Dawson, GPL): 0-20, 30, 40, 50 and "oh", the text in
    the file name ("13.au" -> "thirteen"). The .au files are headerless 8 kHz mu-law; sox decodes them."""
    out = []
    for p in sorted(glob.glob(f"{root}/*.au")):
        stem = os.path.splitext(os.path.basename(p))[0]
        if not (stem.isdigit() or stem == "oh"):
            continue  # time words: am, pm, o'clock, ...
        pcm = subprocess.run(["sox", "-t", "ul", "-r", str(SR), "-c", "1", p, "-t", "raw", "-e", "signed", "-b", "16",
                              "-L", "-"], check=True, stdout=subprocess.PIPE).stdout
        x = torch.from_numpy(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0)
        out.append(Utt(f"saytime/{stem}", "oh" if stem == "oh" else num_words(int(stem)), x, "eval", "saytime"))
    return out


def mel_transform():
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SR, n_fft=N_FFT, win_length=WIN, hop_length=HOP_LENGTH, f_min=F_MIN, f_max=F_MAX,
        n_mels=N_MELS, power=2.0, norm=None, mel_scale="htk")


def log_mel(wave, mel=None):
    """wave [B, S] -> [B, 48, 1 + S // 80]."""
    mel = mel or mel_transform()
    with torch.no_grad():
        return torch.log(mel(wave) + LOG_OFFSET)
