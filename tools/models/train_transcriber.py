#!/usr/bin/python3
"""Train arpipe's bundled transcriber (data/models/ivr_en_ctc.pt): a small character CTC model for English
IVR prompts (digits, letters, the asterisk prompt vocabulary), trained on real recorded speech.

Run through tools/models/train_transcriber.sh (installs the Debian packages the data comes from), or:
    /usr/bin/python3 tools/models/train_transcriber.py --seed 1234
Deterministic on one machine: fixed seeds, fixed file order, torch.use_deterministic_algorithms(True),
2 torch threads.
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time
from pathlib import Path

# Before torch loads: torch's 2 OpenMP threads each call single-threaded OpenBLAS (Debian's pthread OpenBLAS
# otherwise starts its own threads inside them), and idle threads sleep instead of spinning. On a busy 2-core
# machine the defaults made a batch 3-4 times slower (measured: 3.3 s against 0.9 s per 96 s batch).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchaudio.functional as AF  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transcriber_data as D  # noqa: E402
import transcriber_reference as R  # noqa: E402

DILATIONS = (1, 1, 2, 2, 3, 3, 4, 4)
KERNEL = 5
DESCRIPTION = {
    "format": "arpipe-model/1",
    "name": "ivr_en_ctc",
    "description": "English IVR prompt transcriber (digits, letters, telephone-menu vocabulary): character "
                   "CTC, dilated depthwise-separable 1-D convolutions, receptive field +-0.85 s; trained on "
                   "the asterisk core sounds (one speaker); see data/models/README.md",
    "sample_rate_hz": D.SR,
    "input": {"kind": "log_mel", "n_fft": D.N_FFT, "win_length": D.WIN, "hop_length": D.HOP_LENGTH,
              "n_mels": D.N_MELS, "f_min_hz": D.F_MIN, "f_max_hz": D.F_MAX, "mel_scale": "htk",
              "mel_norm": "none", "power": 2.0, "log_offset": D.LOG_OFFSET},
    "segment": {"seconds": D.SEG_SECONDS, "hop_seconds": D.HOP_SECONDS},
    "output": {"kind": "ctc", "frame_hop_seconds": D.FRAME_HOP, "scores": "log_probs", "blank": 0,
               "word_separator": D.SEP},
    "labels": D.LABELS,
}


class Block(nn.Module):
    """Residual: depthwise conv (kernel 5, dilation d) -> BN -> ReLU -> pointwise conv -> BN -> ReLU."""

    def __init__(self, c: int, d: int, k: int = KERNEL, p: float = 0.1):
        super().__init__()
        self.dw = nn.Conv1d(c, c, k, padding=d * (k // 2), dilation=d, groups=c, bias=False)
        self.bn1 = nn.BatchNorm1d(c)
        self.pw = nn.Conv1d(c, c, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(c)
        self.drop = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.bn2(self.pw(torch.relu(self.bn1(self.dw(x)))))))


class Transcriber(nn.Module):
    """float32 [B, 48, F] log-mel (10 ms frames) -> [B, T, V] log-probs, T = (F - 1) // 2 + 1 (20 ms frames;
    output frame j is centred on input frame 2j). No global context: every output frame depends only on
    input frames 2j-82 .. 2j+82 (+-0.82 s; +-0.84 s of audio with the FFT window)."""

    def __init__(self, mean, std, c: int = 224, n_labels: int = len(D.LABELS)):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1).clone())
        self.register_buffer("inv_std", (1.0 / std).reshape(1, -1, 1).clone())
        self.front = nn.Conv1d(D.N_MELS, c, 5, stride=2, padding=2, bias=False)
        self.bn = nn.BatchNorm1d(c)
        self.blocks = nn.Sequential(*[Block(c, d) for d in DILATIONS])
        self.head = nn.Conv1d(c, n_labels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) * self.inv_std
        x = torch.relu(self.bn(self.front(x)))
        x = self.head(self.blocks(x))
        return torch.log_softmax(x.transpose(1, 2), dim=-1)


SPEEDS = (0.85, 0.92, 1.0, 1.08, 1.15)
EXTRA_REPEAT = 3


def speed_variants(x):
    out = []
    for s in SPEEDS:
        new = int(round(D.SR / s / 50)) * 50
        out.append(x if new == D.SR else AF.resample(x, D.SR, new))
    return out


def pack_epoch(items, rng, max_s=8.0):
    """items: list of (variants, ids). Returns examples: list of (wave, target ids)."""
    order = list(range(len(items)))
    rng.shuffle(order)
    examples, cur, cur_len = [], [], 0.0
    for k in order:
        var, ids = items[k]
        x = var[rng.randrange(len(var))]
        d = x.shape[0] / D.SR + 0.6
        if cur and cur_len + d > max_s:
            examples.append(cur)
            cur, cur_len = [], 0.0
        cur.append((x, ids))
        cur_len += d
    if cur:
        examples.append(cur)
    out = []
    for ex in examples:
        parts, tgt = [torch.zeros(int(rng.uniform(0.0, 0.8) * D.SR))], []
        for x, ids in ex:
            x = x * (10 ** (rng.uniform(-6, 6) / 20))
            parts += [x, torch.zeros(int(rng.uniform(0.1, 0.9) * D.SR))]
            if tgt:
                tgt.append(D.LI[D.SEP])
            tgt += ids
        out.append((torch.cat(parts), tgt))
    return out


def augment(wave, g):
    """Level and noise on a padded batch [B, S] (generator g)."""
    B = wave.shape[0]
    peak = wave.abs().amax(dim=1, keepdim=True).clamp_min(1e-4)
    level = 10 ** (torch.empty(B, 1).uniform_(-32, -2, generator=g) / 20)
    wave = wave / peak * level
    noisy = (torch.rand(B, 1, generator=g) < 0.5).float()
    snr = torch.empty(B, 1).uniform_(12, 45, generator=g)
    rms = wave.pow(2).mean(dim=1, keepdim=True).sqrt()
    noise = torch.randn(wave.shape, generator=g)
    wave = wave + noisy * noise * rms * 10 ** (-snr / 20)
    return wave


VTLP_RANGE, VTLP_F_HI = (0.88, 1.12), 3400.0


def warped_fbanks(alpha):
    """HTK mel filterbank [n_freqs, n_mels] read on a warped frequency axis (vocal tract length perturbation,
    Jaitly and Hinton 2013): the energy at f is counted at alpha * f, bending linearly above VTLP_F_HI so that
    the Nyquist frequency stays in place. alpha = 1 is exactly torchaudio's filterbank (checked in main)."""
    nyq = D.SR / 2
    f = torch.linspace(0, nyq, D.N_FFT // 2 + 1, dtype=torch.float64)
    b = VTLP_F_HI * min(alpha, 1.0) / alpha
    w = torch.where(f <= b, f * alpha, nyq - (nyq - VTLP_F_HI * min(alpha, 1.0)) / (nyq - b) * (nyq - f))
    mel = lambda x: 2595.0 * math.log10(1.0 + x / 700.0)  # noqa: E731
    m = torch.linspace(mel(D.F_MIN), mel(D.F_MAX), D.N_MELS + 2, dtype=torch.float64)
    fp = 700.0 * (10 ** (m / 2595.0) - 1.0)
    down = (w.unsqueeze(1) - fp[:-2]) / (fp[1:-1] - fp[:-2])
    up = (fp[2:] - w.unsqueeze(1)) / (fp[2:] - fp[1:-1])
    return torch.clamp(torch.minimum(down, up), min=0).float()


def vtlp_log_mel(wave, spec, g, share):
    """wave [B, S] -> log-mel [B, 48, F] where a random `share` of the examples get a random warp factor."""
    with torch.no_grad():
        power = spec(wave)                                   # [B, n_freqs, F]
        out = []
        for b in range(wave.shape[0]):
            alpha = 1.0
            if torch.rand(1, generator=g).item() < share:
                alpha = float(torch.empty(1).uniform_(*VTLP_RANGE, generator=g))
            out.append(torch.matmul(power[b].transpose(0, 1), warped_fbanks(alpha)).transpose(0, 1))
        return torch.log(torch.stack(out) + D.LOG_OFFSET)


def spec_augment(feat, g):
    B, M, T = feat.shape
    fill = feat.mean()
    for b in range(B):
        if torch.rand(1, generator=g).item() < 0.6:
            for _ in range(2):
                w = int(torch.randint(0, 7, (1,), generator=g))
                f0 = int(torch.randint(0, M - w + 1, (1,), generator=g))
                feat[b, f0:f0 + w] = fill
            for _ in range(2):
                w = int(torch.randint(0, 11, (1,), generator=g))
                t0 = int(torch.randint(0, max(1, T - w), (1,), generator=g))
                feat[b, :, t0:t0 + w] = fill
    return feat


def cer_wer(pairs):
    ce = cn = we = wn = 0
    for ref, hyp in pairs:
        ce += edit(list(ref), list(hyp))
        cn += len(ref)
        we += edit(ref.split(), hyp.split())
        wn += len(ref.split())
    return ce / max(cn, 1), we / max(wn, 1)


def edit(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def evaluate(model, desc, utts, mel):
    """Through the reference pipeline (4 s windows, 2 s hop, middle-frame stitching, greedy decode)."""
    pairs = []
    for u in utts:
        text, _ = R.transcribe(model, desc, u.audio, mel=mel)
        pairs.append((u.text, text))
    return cer_wer(pairs), pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--channels", type=int, default=224)
    ap.add_argument("--synthetic", type=float, default=0.25, help="synthetic share of each epoch's prompts")
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one cycle: warm-up, then cosine)")
    ap.add_argument("--batch-seconds", type=float, default=64.0, help="seconds of audio per batch")
    ap.add_argument("--vtlp", type=float, default=0.0, metavar="SHARE",
                    help="share of training examples whose mel axis is warped by 0.88-1.12 (vocal tract length "
                         "perturbation); 0, the committed model's setting, is off")
    ap.add_argument("--other-speakers", action="store_true",
                    help="also train on 1.5 min of other real speakers (tuxpaint, scid: transcriber_data.extra_speakers); "
                         "off for the committed model")
    ap.add_argument("--out", default=str(D.ROOT / "data" / "models" / "ivr_en_ctc.pt"))
    ap.add_argument("--checkpoint", default=str(D.WORK / "checkpoint_last.pt"),
                    help="after every epoch, the model so far (TorchScript with its description) is saved here")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    t0 = time.time()

    utts, skipped = D.asterisk_prompts("en")
    D.split_prompts(utts, args.seed)
    train = [u for u in utts if u.split == "train"]
    held = [u for u in utts if u.split == "eval"]
    # The closed vocabulary for arpipe's lexicon decoding: training words and closed classes, none taken
    # from the held-out prompts (see transcriber_data.ivr_lexicon). Saved with every checkpoint too.
    lexicon, lex_stats = D.ivr_lexicon(args.seed)
    DESCRIPTION["output"]["lexicon"] = lexicon
    DESCRIPTION["output"]["word_penalty"] = D.WORD_PENALTY
    DESCRIPTION["output"]["language_model"] = D.ivr_language_model(args.seed)
    DESCRIPTION["output"]["lm_weight"] = D.LM_WEIGHT
    syn_train = D.synthetic(train, D.TRAIN_VOICES, args.seed)
    syn_eval = D.synthetic(held, [D.EVAL_VOICE], args.seed)
    others = D.other_speakers()
    langs = {}
    for lang in ["es", "fr", "it"]:
        lu, _ = D.asterisk_prompts(lang)
        langs[lang] = lu
    print(f"data: {len(train)} train prompts ({sum(len(u.audio) for u in train) / D.SR / 60:.1f} min), "
          f"{len(held)} held out ({sum(len(u.audio) for u in held) / D.SR / 60:.1f} min), skipped {skipped}; "
          f"{len(syn_train)} synthetic train clips; lexicon {len(lexicon)} words (held-out word tokens out of "
          f"it: {lex_stats['held_oov_tokens']}/{lex_stats['held_tokens']}); {time.time() - t0:.0f} s", flush=True)
    D.WORK.mkdir(parents=True, exist_ok=True)
    (D.WORK / "split.json").write_text(json.dumps(
        {"train": [u.key for u in train], "eval": [u.key for u in held], "skipped": skipped}, indent=1))

    real_items = [(speed_variants(u.audio), D.encode(u.text)) for u in train]
    # Other real speakers (tuxpaint, scid: 1.5 min of digits, letters and short phrases), each clip EXTRA_REPEAT
    # times per epoch at a random speed: some speaker variety beside the 20 min of Allison Smith.
    extra_items = []
    if args.other_speakers:
        extra = D.extra_speakers()
        extra_items = [(speed_variants(u.audio), D.encode(u.text)) for u in extra] * EXTRA_REPEAT
        print(f"other training speakers: {len(extra)} clips, {sum(len(u.audio) for u in extra) / D.SR / 60:.1f} min, "
              f"x{EXTRA_REPEAT} per epoch", flush=True)
    syn_items = [([u.audio], D.encode(u.text)) for u in syn_train]
    mel = D.mel_transform()
    spec = mel.spectrogram
    assert torch.allclose(warped_fbanks(1.0), mel.mel_scale.fb, atol=1e-5), "VTLP filterbank at alpha 1"
    feats = D.log_mel(torch.cat([u.audio for u in train]).unsqueeze(0), mel)[0]
    mean, std = feats.mean(dim=1), feats.std(dim=1)
    model = Transcriber(mean, std, args.channels)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters", flush=True)

    n_syn = int(round(args.synthetic / (1 - args.synthetic) * len(real_items)))
    batch_s = args.batch_seconds
    max_lr = args.lr
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=0.01)

    def lr_at(p):   # one cycle: linear warm-up over 10% of training, then cosine to zero
        return max_lr * (p / 0.1 if p < 0.1 else 0.5 * (1 + math.cos(math.pi * (p - 0.1) / 0.9)))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    for epoch in range(args.epochs):
        model.train()
        te = time.time()
        items = real_items + extra_items + [syn_items[k] for k in rng.sample(range(len(syn_items)), n_syn)]
        ex = pack_epoch(items, rng)
        ex.sort(key=lambda e: e[0].shape[0])
        batches, cur, dur = [], [], 0.0
        for e in ex:
            cur.append(e)
            dur += e[0].shape[0] / D.SR
            if dur >= batch_s:
                batches.append(cur)
                cur, dur = [], 0.0
        if cur:
            batches.append(cur)
        rng.shuffle(batches)
        tot = 0.0
        for bi, b in enumerate(batches):
            for group in opt.param_groups:
                group["lr"] = lr_at((epoch + bi / len(batches)) / args.epochs)
            S = max(e[0].shape[0] for e in b)
            wave = torch.zeros(len(b), S)
            for i, e in enumerate(b):
                wave[i, :e[0].shape[0]] = e[0]
            wave = augment(wave, g)
            feat = spec_augment(vtlp_log_mel(wave, spec, g, args.vtlp) if args.vtlp > 0 else D.log_mel(wave, mel), g)
            lp = model(feat)
            T = lp.shape[1]
            targets = torch.tensor([i for e in b for i in e[1]])
            tl = torch.tensor([len(e[1]) for e in b])
            il = torch.full((len(b),), T, dtype=torch.long)
            loss = ctc(lp.transpose(0, 1), targets, il, tl)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            tot += loss.item()
        model.eval()
        print(f"epoch {epoch + 1}/{args.epochs}: {len(batches)} batches, loss {tot / max(1, len(batches)):.3f}, "
              f"{time.time() - te:.0f} s", flush=True)
        # So that an interrupted run still leaves a usable model (the latest epoch's weights).
        ck = copy.deepcopy(model).eval()
        Path(args.checkpoint).parent.mkdir(parents=True, exist_ok=True)
        torch.jit.save(torch.jit.script(ck), args.checkpoint,
                       _extra_files={"arpipe.json": json.dumps(DESCRIPTION, indent=1)})
    train_s = time.time() - t0

    model.eval()
    scripted = torch.jit.script(model)
    out = Path(args.out)
    torch.jit.save(scripted, str(out), _extra_files={"arpipe.json": json.dumps(DESCRIPTION, indent=1)})
    loaded, desc = R.load_model(str(out))
    x = D.log_mel(torch.zeros(2, int(D.SEG_SECONDS * D.SR)), mel)
    assert loaded(x).shape == (2, (x.shape[2] - 1) // 2 + 1, len(D.LABELS))

    # Stitching check: a fully convolutional model with a receptive field < (seg - hop) / 2 gives the same
    # middle frames as one pass over the whole file.
    long = torch.cat([torch.cat([u.audio, torch.zeros(2400)]) for u in held[:12]])
    st = torch.from_numpy(R.log_probs(loaded, desc, long, mel=mel))
    seg, hop = int(D.SEG_SECONDS * D.SR), int(D.HOP_SECONDS * D.SR)
    padded = torch.zeros((R.window_count(long.shape[0], seg, hop) - 1) * hop + seg)
    padded[:long.shape[0]] = long     # zero-padded to the last window's end, as arpipe pads it
    with torch.no_grad():
        whole = loaded(D.log_mel(padded.unsqueeze(0), mel))[0][:st.shape[0]]
    print(f"stitched vs one pass over {long.shape[0] / D.SR:.1f} s: max |diff| {float((st - whole).abs().max()):.2e} "
          "(one pass over the audio zero-padded to the last window's end)", flush=True)

    report = {"parameters": n_params, "file_bytes": out.stat().st_size, "train_seconds": round(train_s),
              "train_prompts": len(train), "held_out_prompts": len(held), "lexicon_words": len(lexicon),
              "lexicon_held_out_oov": {k: v for k, v in lex_stats.items() if k != "oov_words"}}
    sets = {"same speaker, held-out prompts (asterisk en, Allison Smith)": held,
            "same speaker, held-out digits and letters": [u for u in held if u.key.startswith(("digits/", "letters/"))],
            "same speaker, training prompts (not held out)": train[::4],
            f"synthetic unseen voice espeak-ng {D.EVAL_VOICE}, held-out prompts": syn_eval,
            "other speakers: klettres en letters": [u for u in others if u.source == "klettres_en"],
            "other speakers: klettres en_GB letters": [u for u in others if u.source == "klettres_en_GB"],
            "other speakers: pocketsphinx cards/goforward/tidigits": [u for u in others if u.source == "pocketsphinx"],
            "other speakers: saytime numbers (David C Dawson)": [u for u in others if u.source == "saytime"]}
    for lang, lu in langs.items():
        sets[f"other language: asterisk {lang}"] = lu
    for name, us in sets.items():
        (c, w), pairs = evaluate(loaded, desc, us, mel)
        report[name] = {"n": len(us), "cer": round(c, 3), "wer": round(w, 3), "examples": pairs[:8]}
        print(f"{name}: n={len(us)} CER {c:.3f} WER {w:.3f}")
        for ref, hyp in pairs[:6]:
            print(f"    {ref!r} -> {hyp!r}")
    (D.WORK / "report.json").write_text(json.dumps(report, indent=1))
    print(f"saved {out} ({out.stat().st_size} bytes, {n_params} parameters); training {train_s / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
