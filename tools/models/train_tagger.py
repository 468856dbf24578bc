#!/usr/bin/python3
"""Train arpipe's default tagger (data/models/tagger.pt): speech / music / noise / alert / silence.

Run through tools/models/train_tagger.sh (installs the Debian packages the data comes from), or directly:
    /usr/bin/python3 tools/models/train_tagger.py --seed 1234
Deterministic: fixed seeds, fixed file order, torch.use_deterministic_algorithms(True), 2 torch threads.
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tagger_data as D  # noqa: E402

DESCRIPTION = {
    "format": "arpipe-model/1",
    "name": "tagger",
    "description": "speech/music/noise/alert/silence tagger, 1 s windows (compact CNN trained on real "
                   "recordings from Debian packages; see data/models/README.md)",
    "sample_rate_hz": 16000,
    "input": {"kind": "log_mel", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64,
              "f_min_hz": 0.0, "f_max_hz": 8000.0, "mel_scale": "htk", "mel_norm": "none",
              "power": 2.0, "log_offset": 1e-6},
    "segment": {"seconds": 1.0, "hop_seconds": 0.5},
    "output": {"kind": "clip", "activation": "softmax"},
    "labels": D.CLASSES,
}


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Tagger(nn.Module):
    """[B, 64 mels, 101 frames] log-mel -> [B, 5] logits. Four strided 3x3 conv blocks (BatchNorm folded into
    the convolutions at export), mean over frequency, mean+max over time, dropout, linear."""

    def __init__(self, mean: float = 0.0, std: float = 1.0, widths=(12, 24, 48, 96), n_classes: int = 5):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("inv_std", torch.tensor(1.0 / std))
        layers = []
        cin = 1
        for w in widths:
            layers.append(conv_bn(cin, w, 2))
            cin = w
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(2 * cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x - self.mean) * self.inv_std).unsqueeze(1)
        x = self.features(x)
        x = x.mean(2)
        x = torch.cat([x.mean(2), x.amax(2)], 1)
        return self.fc(self.dropout(x))


def fold_bn(model):
    """Replace each Conv2d+BatchNorm2d pair by one Conv2d with bias (eval-mode arithmetic)."""
    for block in model.features:
        conv, bn = block[0], block[1]
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                          bias=True)
        with torch.no_grad():
            fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            fused.bias.copy_(bn.bias - bn.running_mean * scale)
        block[0] = fused
        block[1] = nn.Identity()
    return model


def mflops_per_segment(model):
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            total += 2 * out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            total += 2 * mod.in_features * mod.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 64, 101))
    for h in hs:
        h.remove()
    return total / 1e6


def confusion(pred, y, n=5):
    cm = torch.zeros(n, n, dtype=torch.long)
    for t, p in zip(y.tolist(), pred.tolist()):
        cm[t, p] += 1
    return cm


def report_table(cm, title):
    lines = [f"**{title}** (rows: true class, columns: predicted)", "",
             "| true \\ predicted | " + " | ".join(D.CLASSES) + " | n | precision | recall |",
             "|---|" + "---|" * (len(D.CLASSES) + 3)]
    for i, c in enumerate(D.CLASSES):
        tp = cm[i, i].item()
        prec = tp / max(1, cm[:, i].sum().item())
        rec = tp / max(1, cm[i].sum().item())
        lines.append(f"| {c} | " + " | ".join(str(v) for v in cm[i].tolist()) +
                     f" | {cm[i].sum().item()} | {prec:.3f} | {rec:.3f} |")
    acc = cm.diag().sum().item() / max(1, cm.sum().item())
    bal = sum(cm[i, i].item() / max(1, cm[i].sum().item()) for i in range(len(D.CLASSES))) / len(D.CLASSES)
    lines += ["", f"accuracy {acc:.3f}, balanced accuracy (mean recall) {bal:.3f}, {cm.sum().item()} segments", ""]
    return "\n".join(lines), acc, bal


def predict(model, feats, batch=512):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, feats.shape[0], batch):
            out.append(model(feats[i:i + batch].float()))
    return torch.cat(out)


def check_samples(scripted, samples_dir, verbose=True):
    """Run the saved model on data/samples/* as arpipe would and compare with data/expected_tags.json."""
    exp_path = samples_dir.parent / "expected_tags.json"
    expected = json.loads(exp_path.read_text()) if exp_path.exists() else {}
    results, ok = {}, True
    for f in sorted(samples_dir.iterdir()):
        if f.suffix not in (".wav", ".flac", ".ogg", ".oga"):
            continue
        segs, dur = D.segments_of_file(str(f))
        with torch.no_grad():
            p = torch.softmax(scripted(D.log_mel(segs)), 1)
        top = [D.CLASSES[i] for i in p.argmax(1).tolist()]
        results[f.name] = {"seconds": round(dur, 2), "top": top,
                           "mean": {c: round(v, 3) for c, v in zip(D.CLASSES, p.mean(0).tolist())}}
        e = expected.get(f.name)
        msg = ""
        if e:
            counts = {c: top.count(c) for c in D.CLASSES}
            dominant = max(D.CLASSES, key=lambda c: counts[c])
            bad = [c for c in e.get("must_include", []) if c not in top]
            if e.get("dominant") and dominant != e["dominant"]:
                bad.append(f"dominant={dominant}")
            for r in e.get("segments", []):       # {"from": s, "to": s, "label": l}: every window inside
                for i, lab in enumerate(top):
                    a, b = i * 0.5, i * 0.5 + 1.0
                    if a >= r["from"] and b <= r["to"] and lab != r["label"]:
                        bad.append(f"{a:.1f}-{b:.1f}s={lab}!={r['label']}")
            msg = "OK" if not bad else "MISMATCH " + ", ".join(bad)
            ok &= not bad
        if verbose:
            print(f"  {f.name:32s} {dur:5.1f}s {' '.join(t[:2] for t in top)}  {msg}")
    return results, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--per-class", type=int, default=10000, help="training segments per class")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out", default=str(D.ROOT / "data" / "models" / "tagger.pt"))
    ap.add_argument("--samples", default=str(D.ROOT / "data" / "samples"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    sys.stdout.reconfigure(line_buffering=True)
    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    D.WORK.mkdir(parents=True, exist_ok=True)

    recs = D.assign_split(D.list_recordings(), args.seed)
    streams = D.build_streams(recs, args.seed)
    split_info = {}
    for s in streams:
        split_info.setdefault(f"{s.cls}/{s.source}", {})[s.split] = \
            {"groups": s.ngroups, "seconds": round(s.seconds(), 1)}
    print(f"[{time.time() - t_start:6.1f}s] {len(recs)} recordings in {len(streams)} streams")
    with open(D.WORK / "split.json", "w") as f:
        json.dump({"seed": args.seed, "streams": split_info,
                   "eval_groups": sorted({f"{r.source}:{r.group}" for r in recs if r.split == "eval"})},
                  f, indent=1)

    mel = D.mel_transform()
    X, y = [], []
    for c in D.CLASSES:     # one class at a time keeps the raw audio in memory small
        wav, lab = D.make_train_set(streams, args.per_class, args.seed, [c])
        X.append(D.log_mel(wav, mel).half())
        y.append(lab)
        del wav
    X, y = torch.cat(X), torch.cat(y)
    print(f"[{time.time() - t_start:6.1f}s] training set {tuple(X.shape)}")
    ev = {}
    for cond in ("clean", "lp4k_noise"):
        ew, ey, esrc = D.make_eval_set(streams, args.seed, condition=cond)
        ev[cond] = (D.log_mel(ew, mel), ey, esrc)
    print(f"[{time.time() - t_start:6.1f}s] eval sets " +
          ", ".join(f"{k} {tuple(v[0].shape)}" for k, v in ev.items()))

    Xf = X[: min(4000, X.shape[0])].float()
    mean, std = Xf.mean().item(), Xf.std().item()
    model = Tagger(mean, std)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    steps_per_epoch = math.ceil(X.shape[0] / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                pct_start=0.2)
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(X.shape[0], generator=g)
        tot, n_ok, t0 = 0.0, 0, time.time()
        for i in range(0, X.shape[0], args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = X[idx].float(), y[idx]
            # SpecAugment-style masking: one random band of up to 8 mels and one span of up to 15 frames
            if True:
                B = xb.shape[0]
                f0 = torch.randint(0, 64, (B, 1, 1), generator=g)
                fw = torch.randint(0, 9, (B, 1, 1), generator=g)
                t0_ = torch.randint(0, 101, (B, 1, 1), generator=g)
                tw = torch.randint(0, 16, (B, 1, 1), generator=g)
                fi = torch.arange(64).view(1, 64, 1)
                ti = torch.arange(101).view(1, 1, 101)
                m = ((fi >= f0) & (fi < f0 + fw)) | ((ti >= t0_) & (ti < t0_ + tw))
                keep = torch.rand(B, 1, 1, generator=g) < 0.5      # half the batch unmasked
                xb = torch.where(m & ~keep, torch.full_like(xb, mean), xb)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n_ok += (logits.argmax(1) == yb).sum().item()
        ep = predict(model, ev["clean"][0]).argmax(1)
        bal = sum(((ep == i) & (ev["clean"][1] == i)).sum().item() / max(1, (ev["clean"][1] == i).sum().item())
                  for i in range(5)) / 5
        print(f"[{time.time() - t_start:6.1f}s] epoch {epoch + 1:2d} loss {tot / X.shape[0]:.4f} "
              f"train acc {n_ok / X.shape[0]:.3f} eval bal.acc {bal:.3f} ({time.time() - t0:.1f}s)")

    model.eval()
    ref = predict(model, ev["clean"][0][:256])
    fold_bn(model)
    folded = predict(model, ev["clean"][0][:256])
    assert torch.allclose(ref, folded, atol=1e-4), (ref - folded).abs().max()
    scripted = torch.jit.script(model)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(scripted, str(out), _extra_files={"arpipe.json": json.dumps(DESCRIPTION, indent=1)})
    files = {"arpipe.json": ""}
    loaded = torch.jit.load(str(out), _extra_files=files)
    assert json.loads(files["arpipe.json"])["labels"] == D.CLASSES
    assert loaded(torch.zeros(3, 64, 101)).shape == (3, 5)
    assert torch.allclose(loaded(ev["clean"][0][:256]), folded, atol=1e-5)
    train_seconds = time.time() - t_start

    mflops = mflops_per_segment(model)
    n_params_folded = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    report = [f"seed {args.seed}; {X.shape[0]} training segments; {args.epochs} epochs; "
              f"{n_params} trainable parameters ({n_params_folded} values after folding BatchNorm); "
              f"{mflops:.2f} MFLOPs per segment; file {out.stat().st_size} bytes; "
              f"data prep + training {train_seconds:.0f} s with {args.threads} threads", ""]
    metrics = {}
    for cond, title in (("clean", "Held-out recordings, as recorded"),
                        ("lp4k_noise", "Held-out recordings, low-passed at 4 kHz plus real noise at 15 dB SNR")):
        feats, ey, esrc = ev[cond]
        pred = predict(loaded, feats).argmax(1)
        cm = confusion(pred, ey)
        txt, acc, bal = report_table(cm, title)
        report.append(txt)
        metrics[cond] = {"accuracy": acc, "balanced_accuracy": bal, "confusion": cm.tolist()}
        if cond == "clean":   # per-source recall, to spot a source the model fails on
            rows = ["| source | segments | recall |", "|---|---|---|"]
            for src in sorted(set(esrc)):
                ii = [k for k, s in enumerate(esrc) if s == src]
                r = (pred[ii] == ey[ii]).float().mean().item()
                rows.append(f"| {src} ({D.CLASSES[ey[ii[0]].item()]}) | {len(ii)} | {r:.3f} |")
            report += ["Per held-out source (as recorded):", ""] + rows + [""]
    print("\n".join(report))
    (D.WORK / "report.md").write_text("\n".join(report) + "\n")
    (D.WORK / "metrics.json").write_text(json.dumps(metrics, indent=1))

    samples = Path(args.samples)
    if samples.is_dir():
        print("samples (top label per 1 s window, 0.5 s hop):")
        res, ok = check_samples(loaded, samples)
        (D.WORK / "samples.json").write_text(json.dumps(res, indent=1))
        if not ok:
            print("WARNING: data/expected_tags.json does not match the model's output")
    print(f"done in {time.time() - t_start:.0f} s -> {out}")


if __name__ == "__main__":
    main()
