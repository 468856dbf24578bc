#!/usr/bin/python3
"""Write the bundled transcriber's bigram language model (ARPA text) to a file, e.g. to try it with
`arpipe run --lm FILE` or to choose its weight:

    /usr/bin/python3 tools/models/make_lm.py ivr.arpa            # what the model carries (all training prompts)
    /usr/bin/python3 tools/models/make_lm.py --dev ivr_dev.arpa  # without every 4th training prompt
    /usr/bin/python3 tools/models/eval_transcriber.py --arpipe build/arpipe --sets train --lm ivr_dev.arpa --lm-weight W

The --dev model never counted the "training prompts" evaluation set (train[::4]), so its weight can be chosen
there; held-out prompts are never used to build or tune it. See transcriber_data.bigram_arpa.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transcriber_data as D  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--dev", action="store_true", help="leave out every 4th training prompt")
    ap.add_argument("--seed", type=int, default=1234, help="the split's seed (the training run's)")
    args = ap.parse_args()
    text = D.ivr_language_model(args.seed, dev=args.dev)
    Path(args.out).write_text(text)
    counts = [line for line in text.splitlines() if line.startswith("ngram ")]
    print(f"{args.out}: {', '.join(counts)}")


if __name__ == "__main__":
    sys.exit(main())
