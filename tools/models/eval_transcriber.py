#!/usr/bin/env python3
"""Evaluate a transcriber model file (e.g. the per-epoch checkpoint of an interrupted run) on the same sets as
train_transcriber.py, through the reference pipeline. Prints CER/WER per set as it goes.

  /usr/bin/python3 tools/models/eval_transcriber.py --model tools/models/.work/transcriber/checkpoint_last.pt
  ... --sets held,digits,train,synthetic,others,es,fr,it   (the default: all of them, in this order)
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as in train_transcriber.py: no nested BLAS threads
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transcriber_data as D  # noqa: E402
import transcriber_reference as R  # noqa: E402
from train_transcriber import evaluate  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="data/models/ivr_en_ctc.pt")
    ap.add_argument("--seed", type=int, default=1234, help="the split's seed (the training run's)")
    ap.add_argument("--sets", default="held,digits,train,synthetic,others,es,fr,it")
    args = ap.parse_args()
    torch.set_num_threads(2)
    want = args.sets.split(",")
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
    if "synthetic" in want:
        sets[f"synthetic unseen voice espeak-ng {D.EVAL_VOICE}, held-out prompts"] = D.synthetic(
            held, [D.EVAL_VOICE], args.seed)
    if "others" in want:
        others = D.other_speakers()
        sets["other speakers: klettres en letters"] = [u for u in others if u.source == "klettres_en"]
        sets["other speakers: klettres en_GB letters"] = [u for u in others if u.source == "klettres_en_GB"]
        sets["other speakers: pocketsphinx cards/goforward/tidigits"] = [
            u for u in others if u.source == "pocketsphinx"]
    for lang in ["es", "fr", "it"]:
        if lang in want:
            sets[f"other language: asterisk {lang}"] = D.asterisk_prompts(lang)[0]
    for name, us in sets.items():
        t0 = time.time()
        (c, w), pairs = evaluate(model, desc, us, mel)
        print(f"{name}: n={len(us)} CER {c:.3f} WER {w:.3f} ({time.time() - t0:.0f} s)", flush=True)
        for ref, hyp in pairs[:6]:
            print(f"    {ref!r} -> {hyp!r}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
