#!/usr/bin/env python3
"""Evaluate a transcriber model file (e.g. the per-epoch checkpoint of an interrupted run) on the same sets as
train_transcriber.py, through the reference pipeline. Prints CER/WER per set as it goes.

  /usr/bin/python3 tools/models/eval_transcriber.py --model tools/models/.work/transcriber/checkpoint_last.pt
  ... --sets held,digits,train,synthetic,others,es,fr,it   (the default: all of them, in this order)
  ... --sets synthetic-train   (the unseen synthetic voice on every 4th training prompt: for tuning decoding)
  ... --arpipe build/arpipe [--decoding greedy|lexicon] [--lexicon WORDS.txt] [--word-penalty NATS]
      [--lm FILE.arpa] [--lm-weight W] [--beam-width N]

With --arpipe, the C++ side decodes instead: each set's utterances are written as 16-bit 8 kHz mono WAV files
to a temporary directory and one `arpipe run -f jsonl` reads them all; a file's hypothesis is its transcripts
joined by spaces ("" when it has none). --decoding lexicon (the default) uses the model's output.lexicon, or
the words of --lexicon FILE (one per line) instead.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as in train_transcriber.py: no nested BLAS threads
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transcriber_data as D  # noqa: E402
import transcriber_reference as R  # noqa: E402
from train_transcriber import cer_wer, evaluate  # noqa: E402


def write_wavs(utts, d):
    """Utterance k -> d/u00007.wav (16-bit 8 kHz mono); the names, in utterance order. Rounds x * 32768, so
    16-bit recordings read as x = s / 32768 come back as the same samples."""
    names = []
    for k, u in enumerate(utts):
        s = np.clip(np.round(u.audio.numpy().astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)
        names.append(f"u{k:05d}.wav")
        sf.write(os.path.join(d, names[-1]), s, D.SR, subtype="PCM_16")
    return names


def read_jsonl(text, names):
    """arpipe's JSONL -> one hypothesis per name: its "transcript" records' texts in time order joined by a
    space, "" when it has none. Error records are reported on stderr (the hypothesis stays "")."""
    found = {n: [] for n in names}
    for line in text.splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        name = os.path.basename(r.get("file", ""))
        if r.get("type") == "transcript" and name in found:
            found[name].append((r["start"], r["text"]))
        elif r.get("type") == "error":
            print(f"arpipe error on {r.get('file')}: {r.get('code')}: {r.get('message')}", file=sys.stderr)
    return [" ".join(t for _, t in sorted(found[n], key=lambda x: x[0]) if t) for n in names]


def evaluate_arpipe(binary, model, decoding, utts, lexicon=None, word_penalty=None, lm=None, lm_weight=None,
                    beam_width=None):
    """As train_transcriber.evaluate, with `arpipe run` decoding WAV copies of the utterances."""
    with tempfile.TemporaryDirectory(prefix="eval_transcriber.") as d:
        names = write_wavs(utts, d)
        cmd = [binary, "run", "-m", model, "-f", "jsonl", "--utterance-gap", "1000", "-j", "2",
               "--decoding", decoding] + (["--lexicon", lexicon] if lexicon else []) + (
                   ["--word-penalty", str(word_penalty)] if word_penalty is not None else []) + (
                   ["--lm", lm] if lm else []) + (["--lm-weight", str(lm_weight)] if lm_weight is not None else []) + (
                   ["--beam-width", str(beam_width)] if beam_width is not None else []) + [d]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0 and not p.stdout.strip():
            raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    hyps = read_jsonl(p.stdout, names)
    pairs = [(u.text, h) for u, h in zip(utts, hyps)]
    return cer_wer(pairs), pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="data/models/ivr_en_ctc.pt")
    ap.add_argument("--seed", type=int, default=1234, help="the split's seed (the training run's)")
    ap.add_argument("--sets", default="held,digits,train,synthetic,others,es,fr,it")
    ap.add_argument("--arpipe", metavar="BIN", help="decode with this arpipe binary instead of the Python reference")
    ap.add_argument("--decoding", choices=["greedy", "lexicon"], default="lexicon",
                    help="with --arpipe: arpipe's --decoding (lexicon: the model's output.lexicon)")
    ap.add_argument("--lexicon", metavar="FILE", help="with --arpipe --decoding lexicon: these words instead")
    ap.add_argument("--word-penalty", type=float, metavar="NATS",
                    help="with --arpipe --decoding lexicon: arpipe's --word-penalty (default: the model's)")
    ap.add_argument("--lm", metavar="FILE", help="with --arpipe --decoding lexicon: this ARPA language model instead")
    ap.add_argument("--lm-weight", type=float, metavar="W",
                    help="with --arpipe --decoding lexicon: arpipe's --lm-weight (default: the model's; 0: none)")
    ap.add_argument("--beam-width", type=int, metavar="N", help="with --arpipe --decoding lexicon: arpipe's --beam-width")
    args = ap.parse_args()
    torch.set_num_threads(2)
    want = args.sets.split(",")
    if args.arpipe:
        print(f"decoding with {args.arpipe} run --decoding {args.decoding}"
              + (f" --lexicon {args.lexicon}" if args.lexicon else "") + (f" --lm {args.lm}" if args.lm else "")
              + (f" --lm-weight {args.lm_weight}" if args.lm_weight is not None else ""), file=sys.stderr, flush=True)
    else:
        model, desc = R.load_model(args.model)
    mel = D.mel_transform()
    utts, _ = D.asterisk_prompts("en")
    D.split_prompts(utts, args.seed)
    train = [u for u in utts if u.split == "train"]
    held = [u for u in utts if u.split == "eval"]
    sets = {}
    if "held" in want:
        sets["same speaker, held-out prompts (asterisk en, Allison Smith)"] = held
    if "digits" in want:
        sets["same speaker, held-out digits and letters"] = [
            u for u in held if u.key.startswith(("digits/", "letters/"))]
    if "train" in want:
        sets["same speaker, training prompts (not held out)"] = train[::4]
    if "synthetic-train" in want:   # for tuning: an unseen voice, on texts held-out prompts never share
        sets[f"synthetic unseen voice espeak-ng {D.EVAL_VOICE}, every 4th training prompt"] = D.synthetic(
            train[::4], [D.EVAL_VOICE], args.seed)
    if "synthetic" in want:
        sets[f"synthetic unseen voice espeak-ng {D.EVAL_VOICE}, held-out prompts"] = D.synthetic(
            held, [D.EVAL_VOICE], args.seed)
    if "others" in want:
        others = D.other_speakers()
        sets["other speakers: klettres en letters"] = [u for u in others if u.source == "klettres_en"]
        sets["other speakers: klettres en_GB letters"] = [u for u in others if u.source == "klettres_en_GB"]
        sets["other speakers: pocketsphinx cards/goforward/tidigits"] = [
            u for u in others if u.source == "pocketsphinx"]
        sets["other speakers: saytime numbers (David C Dawson)"] = [u for u in others if u.source == "saytime"]
    for lang in ["es", "fr", "it"]:
        if lang in want:
            sets[f"other language: asterisk {lang}"] = D.asterisk_prompts(lang)[0]
    for name, us in sets.items():
        t0 = time.time()
        if args.arpipe:
            (c, w), pairs = evaluate_arpipe(args.arpipe, args.model, args.decoding, us, args.lexicon,
                                            args.word_penalty, args.lm, args.lm_weight, args.beam_width)
        else:
            (c, w), pairs = evaluate(model, desc, us, mel)
        print(f"{name}: n={len(us)} CER {c:.3f} WER {w:.3f} ({time.time() - t0:.0f} s)", flush=True)
        for ref, hyp in pairs[:6]:
            print(f"    {ref!r} -> {hyp!r}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
