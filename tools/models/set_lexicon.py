#!/usr/bin/python3
"""Set the lexicon decoding fields (output.lexicon, output.word_penalty, output.language_model, output.lm_weight) in
the arpipe.json of an existing transcriber model file, leaving the weights and every other field as they are
(train_transcriber.py writes the same fields itself: transcriber_data.ivr_lexicon, ivr_language_model).

    /usr/bin/python3 tools/models/set_lexicon.py [--model data/models/ivr_en_ctc.pt] [--seed 1234]

Writes to a temporary file in a directory beside the model, checks that its tensors equal the old file's, then renames it.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transcriber_data as D  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(D.ROOT / "data" / "models" / "ivr_en_ctc.pt"))
    ap.add_argument("--seed", type=int, default=1234, help="the split's seed (the training run's)")
    args = ap.parse_args()
    files = {"arpipe.json": ""}
    model = torch.jit.load(args.model, _extra_files=files)
    desc = json.loads(files["arpipe.json"])
    words, st = D.ivr_lexicon(args.seed)
    labels = set(desc["labels"]) - {desc["labels"][desc["output"]["blank"]], desc["output"]["word_separator"]}
    bad = [w for w in words if not w or set(w) - labels]
    if bad:
        sys.exit(f"words the model cannot spell: {bad[:10]}")
    desc["output"]["lexicon"] = words
    desc["output"]["word_penalty"] = D.WORD_PENALTY
    desc["output"]["language_model"] = D.ivr_language_model(args.seed)
    desc["output"]["lm_weight"] = D.LM_WEIGHT
    # A directory of its own keeps the file's name, which torch uses as the archive's top folder.
    tmp_dir = Path(args.model).parent / ".set_lexicon.tmp"
    tmp_dir.mkdir(exist_ok=True)
    tmp = str(tmp_dir / Path(args.model).name)
    torch.jit.save(model, tmp, _extra_files={"arpipe.json": json.dumps(desc, indent=1)})

    # The new file must hold the same tensors and the new description.
    check = {"arpipe.json": ""}
    new = torch.jit.load(tmp, _extra_files=check)
    old_sd, new_sd = model.state_dict(), new.state_dict()
    same = old_sd.keys() == new_sd.keys() and all(
        old_sd[k].dtype == new_sd[k].dtype and torch.equal(old_sd[k], new_sd[k]) for k in old_sd)
    if not same or json.loads(check["arpipe.json"]) != desc:
        os.remove(tmp)
        tmp_dir.rmdir()
        sys.exit("the rewritten file differs from the old one beyond its description: left unchanged")
    os.replace(tmp, args.model)
    tmp_dir.rmdir()
    print(f"{args.model}: output.lexicon = {len(words)} words, word_penalty {D.WORD_PENALTY}, "
          f"bigram language model weight {D.LM_WEIGHT}; held-out prompts: "
          f"{st['held_oov_tokens']}/{st['held_tokens']} word tokens ({st['held_oov_tokens'] / st['held_tokens']:.1%}) "
          f"and {st['held_oov_words']}/{st['held_words']} distinct words "
          f"({st['held_oov_words'] / st['held_words']:.1%}) out of it; {len(old_sd)} tensors unchanged")
    print("out of vocabulary:", " ".join(st["oov_words"]))


if __name__ == "__main__":
    sys.exit(main())
