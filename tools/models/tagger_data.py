"""Data preparation for the arpipe default tagger (speech/music/noise/alert/silence).

Everything here comes from real recordings shipped in Debian packages (see data/NOTICE); a small share of
synthetic audio (noise colours, beeps/ring cadences, dither) adds variety in training only and is never
evaluated on.  Recordings are split into train/eval by *recording group* (a recording, or a set of files
that may share a recording or a speaker), never by segment.

Features follow docs/model-contract.md exactly: torchaudio MelSpectrogram (16 kHz, n_fft 512, win 400,
hop 160, 64 HTK mels 0-8000 Hz, power 2, no norm, center/reflect, periodic Hann) on each 1 s segment on its
own, then log(mel + 1e-6).
"""
import glob
import hashlib
import math
import os
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torchaudio
import torchaudio.functional as AF

SR = 16000
SEG = 16000              # 1.0 s segments
HOP = 8000               # 0.5 s hop (eval windows, sample checks)
CLASSES = ["speech", "music", "noise", "alert", "silence"]
CI = {c: i for i, c in enumerate(CLASSES)}
ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("TAGGER_WORK", ROOT / "tools" / "models" / ".work"))
EVAL_FRACTION = 0.2

# Recordings that data/samples/ is cut from: always held out of training.
PINNED_EVAL = {
    ("librivox", "sense_and_sensibility_01_austen_64kb-0930"),
    ("singularity", "Awakening"),
    ("moh", "manolo_camp-morning_coffee"),
    ("asterisk_fr", "conf-getpin"),
    ("asterisk_fr", "vm-intro"),
    ("ufoai_noise", "waterfontain"),
    ("freedesktop_alert", "alarm-clock-elapsed"),
}

AST = "/usr/share/asterisk/sounds"
SONIC = "/usr/share/sonic-pi/samples"
FD = "/usr/share/sounds/freedesktop/stereo"


def mel_transform():
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SR, n_fft=512, win_length=400, hop_length=160, f_min=0.0, f_max=8000.0,
        n_mels=64, power=2.0, norm=None, mel_scale="htk")


def log_mel(wave, mel=None, batch=512):
    """wave [N, 16000] -> float32 [N, 64, 101], each row transformed on its own."""
    mel = mel or mel_transform()
    out = []
    with torch.no_grad():
        for i in range(0, wave.shape[0], batch):
            out.append(torch.log(mel(wave[i:i + batch]) + 1e-6))
    return torch.cat(out) if out else torch.zeros(0, 64, 101)


@dataclass
class Rec:
    cls: str          # label
    source: str       # source set (its own split and sampling weight)
    group: str        # split unit: files in one group never straddle train/eval
    path: str
    band_limited: bool = False   # 8 kHz origin: already <= 4 kHz, never low-passed again
    split: str = ""


def _stem(p):
    return os.path.splitext(os.path.basename(p))[0]


def _ufoai_extract():
    """ufoai-sound ships its sounds in a zip (0snd.pk3): extract the ambience folder once."""
    pk3 = "/usr/share/games/ufoai/base/0snd.pk3"
    out = WORK / "ufoai"
    if not (out / "sound" / "ambience").is_dir():
        with zipfile.ZipFile(pk3) as z:
            for n in sorted(z.namelist()):
                if n.startswith("sound/ambience/") and n.endswith(".ogg"):
                    z.extract(n, out)
    return out / "sound" / "ambience"


# Sound files picked by name and checked by spectrogram: ambiences that are real noise (no speech, no music).
UFOAI_NOISE = ["arcticwind", "city_abnd_ufoai_atm", "cricket_loop", "fire", "fire03", "fire04", "fire05",
               "fire06", "fire1", "fire2", "firesoft", "smallfire", "minepump03", "sand-city", "steam",
               "thunder1", "thunder2", "thunder3", "tv_static", "ufo_night_atm", "water", "water01", "water02",
               "water03", "waterfontain", "wind_turbine", "hum", "hum2", "machine1", "sparks", "droning_long",
               "bloodspiderwalk", "alien-ventilation"]
SONIC_MUSIC = ["loop_amen", "loop_amen_full", "loop_breakbeat", "loop_compus", "loop_electric", "loop_garzul",
               "loop_mehackit1", "loop_mehackit2", "loop_mika", "loop_perc1", "loop_perc2", "loop_safari",
               "loop_tabla", "loop_weirdo", "loop_drone_g_97", "guit_e_fifths", "guit_e_slide", "guit_em9",
               "guit_harmonics", "ambi_piano", "ambi_choir", "bass_dnb_f", "bass_voxy_c", "bass_woodsy_c"]
SONIC_NOISE = ["vinyl_hiss", "loop_3d_printer"]
SONIC_ALERT = ["elec_beep", "elec_bell", "elec_chime", "elec_ping", "elec_blip", "elec_blip2", "elec_bong",
               "perc_bell", "perc_bell2"]
# (dialog-warning, dialog-error, window-attention and window-question are left out: the package's copyright
# file does not name their author)
FD_ALERT = ["alarm-clock-elapsed", "bell", "complete", "dialog-information", "message", "message-new-instant",
            "phone-incoming-call", "phone-outgoing-busy", "phone-outgoing-calling", "service-login",
            "service-logout", "suspend-error", "network-connectivity-established", "network-connectivity-lost",
            "power-plug", "power-unplug", "device-added", "device-removed", "audio-volume-change"]
NOT_ALERT_THEME = re.compile(r"(camera|shutter|screen-capture|trash|Window-(Move|Shade|Close|Max|Min|All))", re.I)
AST_TONES = ["beep", "beeperr", "ascending-2tone", "descending-2tone"]


def list_recordings():
    recs = []
    add = lambda *a, **k: recs.append(Rec(*a, **k))
    # ---------------- speech
    for p in sorted(glob.glob("/usr/share/pocketsphinx/test/data/librivox/*.wav")):
        add("speech", "librivox", _stem(p), p)
    for p in sorted(glob.glob("/usr/share/pocketsphinx/test/data/cards/*.wav")) + \
            sorted(glob.glob("/usr/share/pocketsphinx/test/data/*.raw")):
        add("speech", "pocketsphinx", _stem(p), p)
    # spoken channel names: alsa-utils and sound-theme-freedesktop carry the same ALSA recordings -> one group
    for p in sorted(glob.glob("/usr/share/sounds/alsa/*.wav")):
        if _stem(p) != "Noise":
            add("speech", "channel_names", _stem(p).lower(), p)
    for p in sorted(glob.glob(FD + "/audio-channel-*.oga")):
        add("speech", "channel_names", _stem(p)[len("audio-channel-"):].replace("-", "_"), p)
    for lang, src in (("en_US_f_Allison", "asterisk_en"), ("es_MX_f_Allison", "asterisk_es"),
                      ("fr_CA_f_June", "asterisk_fr")):
        for p in sorted(glob.glob(f"{AST}/{lang}/**/*.wav", recursive=True)):
            rel = os.path.relpath(p, f"{AST}/{lang}")
            if rel.startswith("silence/"):
                add("silence", "asterisk_silence", "silence/" + _stem(p), p, True)
            elif _stem(p) in AST_TONES:
                add("alert", "asterisk_tones", _stem(p), p, True)
            else:
                add("speech", src, os.path.splitext(rel)[0], p, True)
    # KDE edu recordings (letters, syllables, words) by many speakers: split by language so eval speakers are new
    for p in sorted(glob.glob("/usr/share/klettres/*/*/*.ogg")):
        lang = p.split("/")[-3]
        add("speech", "kde_voices", "lang:" + re.split(r"[_@]", lang)[0], p)
    for p in sorted(glob.glob("/usr/share/ktuberling/sounds/*/*.ogg")):
        lang = p.split("/")[-2]
        add("speech", "kde_voices", "lang:" + re.split(r"[_@]", lang)[0], p)
    # ---------------- music
    for p in sorted(glob.glob("/usr/share/asterisk/moh/*.wav")):
        add("music", "moh", _stem(p), p, True)
    for p in sorted(glob.glob("/usr/share/games/singularity/music/**/*.ogg", recursive=True)):
        add("music", "singularity", _stem(p), p)
    for n in SONIC_MUSIC:
        add("music", "sonicpi_music", "loop_amen" if n.startswith("loop_amen") else n, f"{SONIC}/{n}.flac")
    # ---------------- noise
    amb = _ufoai_extract()
    for n in UFOAI_NOISE:
        # fire1/fire2/fire03.. may be cuts of one recording: group by the name without digits
        g = re.sub(r"(_long|_short|\d+)$", "", n)
        add("noise", "ufoai_noise", g, str(amb / f"{n}.ogg"), n == "droning_long")
    for n in SONIC_NOISE:
        add("noise", "sonicpi_noise", n, f"{SONIC}/{n}.flac")
    add("noise", "alsa_noise", "Noise", "/usr/share/sounds/alsa/Noise.wav")
    # ---------------- alert
    for n in FD_ALERT:
        add("alert", "freedesktop_alert", n, f"{FD}/{n}.oga", n.startswith("phone-outgoing"))
    for p in sorted(glob.glob("/usr/share/sounds/Oxygen-*.ogg")):
        if not NOT_ALERT_THEME.search(p):
            add("alert", "oxygen_alert", _stem(p), p)
    for p in sorted(glob.glob("/usr/share/sounds/deepin/stereo/*.wav")):
        if not NOT_ALERT_THEME.search(p):
            add("alert", "deepin_alert", _stem(p), p)
    for p in sorted(glob.glob("/usr/share/sounds/Yaru/stereo/*.oga")):
        if not NOT_ALERT_THEME.search(p):
            add("alert", "yaru_alert", _stem(p), p)
    for p in sorted(glob.glob("/usr/share/sounds/lomiri/notifications/*.ogg")) + \
            ["/usr/share/sounds/lomiri/ringtones/Alarm clock.ogg", "/usr/share/sounds/lomiri/ringtones/Alarm synth.ogg"]:
        add("alert", "lomiri_alert", _stem(p), p)
    for n in SONIC_ALERT:
        add("alert", "sonicpi_alert", n, f"{SONIC}/{n}.flac")
    missing = [r.path for r in recs if not os.path.exists(r.path)]
    if missing:
        raise SystemExit(f"missing {len(missing)} source files, e.g. {missing[:3]}: run tools/models/train_tagger.sh")
    return recs


def assign_split(recs, seed):
    """Per source: shuffle its groups with a seeded RNG; ~20% of groups (at least one when there are two or
    more) go to eval. Groups in PINNED_EVAL always go to eval. Returns recs with .split set."""
    by_source = {}
    for r in recs:
        by_source.setdefault(r.source, set()).add(r.group)
    evals = set()
    for src in sorted(by_source):
        groups = sorted(by_source[src])
        rng = random.Random(f"{seed}:{src}")
        rng.shuffle(groups)
        pinned = [g for g in groups if (src, g) in PINNED_EVAL]
        n_eval = 0 if len(groups) < 2 else max(1, round(EVAL_FRACTION * len(groups)))
        chosen = pinned + [g for g in groups if g not in pinned][:max(0, n_eval - len(pinned))]
        evals.update((src, g) for g in chosen)
    for r in recs:
        r.split = "eval" if (r.source, r.group) in evals else "train"
    return recs


_RESAMPLE = dict(lowpass_filter_width=16, rolloff=0.945, resampling_method="kaiser_window",
                 beta=14.769656459379492)
_RESAMPLERS = {}


def resample(w, sr):
    """High-quality (Kaiser, 16 zero crossings) resampling to 16 kHz; the kernel is built once per rate."""
    if sr == SR:
        return w
    if sr not in _RESAMPLERS:
        _RESAMPLERS[sr] = torchaudio.transforms.Resample(sr, SR, **_RESAMPLE)
    with torch.no_grad():
        return _RESAMPLERS[sr](w)


def load16k(path):
    """Decode a file to mono float32 at 16 kHz (cached under .work/cache)."""
    key = hashlib.sha1(path.encode()).hexdigest()[:16]
    cache = WORK / "cache" / f"{key}.pt"
    if cache.exists():
        return torch.load(cache)
    if path.endswith(".raw"):   # pocketsphinx test data: headerless 16 kHz s16le
        import numpy as np
        w = torch.from_numpy(np.fromfile(path, dtype="<i2").astype("float32") / 32768.0)
        sr = 16000
    else:
        w, sr = torchaudio.load(path)
        w = w.mean(0)
    w = resample(w, sr).contiguous().float()
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(w, cache)
    return w


# ------------------------------------------------------------------------------------------ streams
def frame_db(w, frame=400, hop=160):
    if w.numel() < frame:
        w = torch.nn.functional.pad(w, (0, frame - w.numel()))
    f = w.unfold(0, frame, hop)
    return 10 * torch.log10(f.pow(2).mean(1) + 1e-12)


def trim(w, rel_db=45.0, margin=800):
    """Cut leading/trailing parts more than rel_db below the clip's loudest frame (keeps margin samples)."""
    d = frame_db(w)
    act = (d > d.max() - rel_db).nonzero()
    if act.numel() == 0:
        return w[:0]
    a = max(0, int(act[0]) * 160 - margin)
    b = min(w.numel(), int(act[-1]) * 160 + 400 + margin)
    return w[a:b]


class Stream:
    """All recordings of one (source, split) joined into one signal, with a frame-level activity mask."""

    def __init__(self, cls, source, split, wave, band_limited, ngroups):
        self.cls, self.source, self.split = cls, source, split
        self.wave = wave
        self.band_limited = band_limited
        self.ngroups = ngroups
        d = frame_db(wave)
        self.frame_db = d
        ref = torch.quantile(d[d > -100], 0.95).item() if (d > -100).any() else -100.0
        self.active = d > max(ref - 30.0, -70.0)

    def activity(self, start):
        f0 = start // 160
        return self.active[f0:f0 + 99].float().mean().item()

    def seconds(self):
        return self.wave.numel() / SR


def build_stream(cls, recs, rng):
    """Join recordings the way each class naturally continues: speech with short pauses, alerts repeated
    with gaps (alarms and rings repeat), music and noise loops repeated back to back."""
    parts = []
    recs = list(recs)
    rng.shuffle(recs)
    zeros = lambda s: torch.zeros(int(s * SR))
    for r in recs:
        w = load16k(r.path)
        if cls == "speech":
            w = trim(w)
            if w.numel() == 0:
                continue
            parts += [w, zeros(rng.uniform(0.05, 0.35))]
        elif cls == "alert":
            w = trim(w, 50.0, 160)
            if w.numel() == 0:
                continue
            for _ in range(rng.randint(1, 4)):
                parts += [w, zeros(rng.uniform(0.05, 0.6))]
            parts.append(zeros(rng.uniform(0.1, 0.8)))
        elif cls in ("music", "noise"):
            w = trim(w, 60.0, 0)
            reps = max(1, math.ceil(4.0 * SR / max(1, w.numel())))
            parts += [w] * reps
        else:   # silence recordings as they are
            parts.append(w)
    return torch.cat(parts) if parts else torch.zeros(0)


def build_streams(recs, seed):
    streams = []
    keys = sorted({(r.cls, r.source, r.split) for r in recs})
    for cls, src, split in keys:
        rs = [r for r in recs if (r.cls, r.source, r.split) == (cls, src, split)]
        rng = random.Random(f"{seed}:{src}:{split}:stream")
        w = build_stream(cls, sorted(rs, key=lambda r: r.path), rng)
        if cls == "alert" and split == "train":
            # the same alarms and chimes pitched ~3 semitones up and ~2 down (speed change): more variety
            # for the class with the least real audio
            with torch.no_grad():
                w = torch.cat([w, AF.resample(w, SR, 13500, **_RESAMPLE), AF.resample(w, SR, 18000, **_RESAMPLE)])
        if w.numel() < SEG + 512:
            w = torch.cat([w, torch.zeros(SEG + 512 - w.numel())])
        streams.append(Stream(cls, src, split, w, all(r.band_limited for r in rs), len({r.group for r in rs})))
    return streams


# ------------------------------------------------------------------------------------------ augmentation
MIN_ACTIVITY = {"speech": 0.3, "alert": 0.15, "music": 0.6, "noise": 0.6, "silence": 0.0}
LP_CUTOFFS = [3400.0, 3800.0, 4000.0, 4000.0, 5000.0, 6000.0, 7000.0]
MARGIN = 128


def lowpass_kernel(fc, taps=2 * MARGIN + 1):
    n = torch.arange(taps, dtype=torch.float64) - (taps - 1) / 2
    h = 2 * fc / SR * torch.special.sinc(2 * fc / SR * n) * torch.kaiser_window(taps, False, 8.6, dtype=torch.float64)
    return (h / h.sum()).float()


def rms_db(x):
    return 10 * torch.log10(x.pow(2).mean(-1) + 1e-20)


def active_rms_db(x):
    """Level of the loud part of each row: mean power of frames within 30 dB of the loudest frame."""
    f = x.unfold(-1, 400, 160).pow(2).mean(-1)          # [N, frames]
    fd = 10 * torch.log10(f + 1e-20)
    m = fd > fd.max(-1, keepdim=True).values - 30
    return 10 * torch.log10((f * m).sum(-1) / m.sum(-1).clamp(min=1) + 1e-20)


def draw(stream, rng, want_activity, n_try=30):
    """A random window of SEG + 2*MARGIN samples from stream (margins feed the low-pass filter)."""
    L = stream.wave.numel()
    best = None
    for _ in range(n_try):
        s = rng.randint(MARGIN, max(MARGIN, L - SEG - MARGIN))
        a = stream.activity(s)
        if a >= want_activity:
            best = s
            break
        if best is None or a > stream.activity(best):
            best = s
    s = best
    w = stream.wave[max(0, s - MARGIN):s + SEG + MARGIN]
    if w.numel() < SEG + 2 * MARGIN:
        w = torch.nn.functional.pad(w, (0, SEG + 2 * MARGIN - w.numel()))
    return w


def synth_noise(g, n):
    """White/pink/brown noise (synthetic variety, training only)."""
    x = torch.randn(n, generator=g)
    kind = int(torch.randint(3, (1,), generator=g))
    if kind == 0:
        return x
    X = torch.fft.rfft(x)
    f = torch.arange(X.numel()).clamp(min=1).float()
    X = X / (f.sqrt() if kind == 1 else f)
    y = torch.fft.irfft(X, n)
    return y / (y.std() + 1e-9)


def synth_alert(g, n):
    """Beeps, two-tone alarms and telephone ring cadences (synthetic variety, training only)."""
    t = torch.arange(n) / SR
    u = lambda a, b: a + (b - a) * float(torch.rand(1, generator=g))
    kind = int(torch.randint(3, (1,), generator=g))
    if kind == 0:      # beep train
        f, on, period = u(500, 3500), u(0.05, 0.4), u(0.15, 0.8)
        env = ((t + u(0, 1)) % period < on).float()
        x = torch.sin(2 * math.pi * f * t)
    elif kind == 1:    # two-tone alarm / siren
        f1, f2, period = u(400, 1500), u(600, 2500), u(0.2, 1.0)
        f = torch.where((t % period) < period / 2, torch.tensor(f1), torch.tensor(f2))
        x = torch.sin(2 * math.pi * torch.cumsum(f, 0) / SR)
        env = torch.ones(n)
    else:              # ring: two summed tones with a cadence, or a ringing bell-like partial series
        f1, f2 = u(350, 480), u(400, 620)
        x = 0.5 * (torch.sin(2 * math.pi * f1 * t) + torch.sin(2 * math.pi * f2 * t))
        x = x * (1 + 0.5 * torch.sin(2 * math.pi * u(15, 25) * t))
        env = ((t + u(0, 1)) % u(0.6, 1.2) < u(0.3, 0.5)).float()
    return x * env


def make_train_set(streams, n_per_class, seed, classes=CLASSES):
    """Balanced, augmented training segments of `classes` -> (wave [N, SEG], labels [N])."""
    rng = random.Random(f"{seed}:train:{','.join(classes)}")
    g = torch.Generator().manual_seed(seed + sum(CI[c] + 1 for c in classes))
    tr = [s for s in streams if s.split == "train"]
    by_cls = {c: [s for s in tr if s.cls == c] for c in CLASSES}
    noise_streams = by_cls["noise"]
    fg_streams = by_cls["speech"] + by_cls["music"]
    kernels = {fc: lowpass_kernel(fc) for fc in sorted(set(LP_CUTOFFS))}
    U = lambda a, b: rng.uniform(a, b)

    def pick(sl):
        w = [math.sqrt(s.seconds()) * (1 + math.log(s.ngroups)) for s in sl]
        return rng.choices(sl, weights=w)[0]

    def lowpass(x, band_limited):
        if band_limited or rng.random() > 0.4:
            return x[MARGIN:MARGIN + SEG]
        k = kernels[rng.choice(LP_CUTOFFS)]
        return torch.nn.functional.conv1d(x.view(1, 1, -1), k.view(1, 1, -1)).view(-1)[:SEG]

    def at_level(x, db):
        return x * 10 ** ((db - active_rms_db(x.unsqueeze(0)).item()) / 20)

    waves, labels = [], []
    for c in classes:
        ci = CI[c]
        for _ in range(n_per_class):
            if c == "silence":
                r = rng.random()
                if r < 0.1:
                    x = torch.zeros(SEG)
                elif r < 0.3:
                    x = torch.randn(SEG, generator=g) * 10 ** (U(-100, -70) / 20)
                elif r < 0.5 and by_cls["silence"]:
                    s = pick(by_cls["silence"])
                    x = lowpass(draw(s, rng, 0.0), s.band_limited)
                    x = x * 10 ** (U(-12, 15) / 20)       # asterisk silence is ~-96 dBFS
                else:      # real noise, speech or music far below audibility
                    s = pick(noise_streams if rng.random() < 0.7 else fg_streams)
                    x = lowpass(draw(s, rng, 0.5), s.band_limited)
                    x = x / 10 ** (rms_db(x).item() / 20) * 10 ** (U(-100, -66) / 20)
                if rng.random() < 0.5:   # 16-bit quantisation as in real files
                    x = torch.round(x * 32768) / 32768
            else:
                synth = (c == "noise" and rng.random() < 0.08) or (c == "alert" and rng.random() < 0.12)
                if synth:
                    x = synth_noise(g, SEG) if c == "noise" else synth_alert(g, SEG)
                    if rng.random() < 0.4:
                        k = kernels[rng.choice(LP_CUTOFFS)]
                        x = torch.nn.functional.conv1d(
                            torch.nn.functional.pad(x, (MARGIN, MARGIN)).view(1, 1, -1),
                            k.view(1, 1, -1)).view(-1)[:SEG]
                else:
                    s = pick(by_cls[c])
                    x = lowpass(draw(s, rng, MIN_ACTIVITY[c]), s.band_limited)
                x = at_level(x, U(-42, -10))
                # background: real noise under speech/music/alert, a second noise under noise,
                # quiet music/speech under alerts (the alert stays the louder sound)
                r = rng.random()
                if r < 0.4:
                    s = pick(noise_streams)
                    b = lowpass(draw(s, rng, 0.5), s.band_limited)
                    snr = U(0, 12) if c == "noise" else U(6, 30)
                    x = x + at_level(b, active_rms_db(x.unsqueeze(0)).item() - snr)
                elif c == "alert" and r < 0.55:
                    s = pick(fg_streams)
                    b = lowpass(draw(s, rng, 0.5), s.band_limited)
                    x = x + at_level(b, active_rms_db(x.unsqueeze(0)).item() - U(8, 20))
                peak = x.abs().max().item()
                if peak > 0.99:
                    x = x * (0.99 / peak)
            waves.append(x)
            labels.append(ci)
    return torch.stack(waves), torch.tensor(labels)


def make_eval_set(streams, seed, cap_per_source=240, condition="clean"):
    """Windows of the held-out streams at 1 s / 0.5 s hop, no augmentation (condition 'clean'), or with a
    4 kHz low-pass and real noise at 15 dB SNR (condition 'lp4k_noise'). Windows that do not hold enough of
    their class (a pause between words) are dropped; silence is held-out asterisk silence, digital zero, and
    held-out recordings of the other classes attenuated to -95..-70 dBFS."""
    rng = random.Random(f"{seed}:eval:{condition}")
    ev = [s for s in streams if s.split == "eval"]
    noise_ev = [s for s in ev if s.cls == "noise"]
    waves, labels, srcs = [], [], []
    k4 = lowpass_kernel(4000.0)
    for s in ev:
        starts = [i for i in range(0, s.wave.numel() - SEG + 1, HOP) if s.activity(i) >= MIN_ACTIVITY[s.cls]]
        if len(starts) > cap_per_source:
            step = len(starts) / cap_per_source
            starts = [starts[int(i * step)] for i in range(cap_per_source)]
        for st in starts:
            x = s.wave[st:st + SEG].clone()
            if condition == "lp4k_noise" and s.cls != "silence":
                if not s.band_limited:
                    x = torch.nn.functional.conv1d(
                        torch.nn.functional.pad(x, (MARGIN, MARGIN)).view(1, 1, -1), k4.view(1, 1, -1)).view(-1)
                if s.cls != "noise":
                    nb = rng.choice(noise_ev)
                    o = rng.randrange(0, nb.wave.numel() - SEG)
                    b = nb.wave[o:o + SEG]
                    lvl = active_rms_db(x.unsqueeze(0)).item() - 15
                    x = x + b * 10 ** ((lvl - active_rms_db(b.unsqueeze(0)).item()) / 20)
            waves.append(x)
            labels.append(CI[s.cls])
            srcs.append(s.source)
    # silence from the other classes' held-out recordings, attenuated
    n_sil = sum(1 for lab in labels if lab == CI["silence"])
    others = [s for s in ev if s.cls != "silence"]
    for i in range(max(0, 240 - n_sil)):
        if i % 8 == 0:
            x = torch.zeros(SEG)
            src = "digital_zero"
        else:
            s = others[i % len(others)]
            o = rng.randrange(0, s.wave.numel() - SEG)
            x = s.wave[o:o + SEG]
            x = x / 10 ** (rms_db(x).item() / 20) * 10 ** (rng.uniform(-95, -70) / 20)
            x = torch.round(x * 32768) / 32768
            src = s.source + "_attenuated"
        waves.append(x)
        labels.append(CI["silence"])
        srcs.append(src)
    return torch.stack(waves), torch.tensor(labels), srcs


def segments_of_file(path):
    """What arpipe feeds the model for a file: mono, 16 kHz, 1 s windows every 0.5 s, the last zero-padded."""
    w, sr = torchaudio.load(path)
    w = resample(w.mean(0), sr)
    n = max(1, math.ceil(max(0, w.numel() - SEG) / HOP) + 1)
    segs = []
    for i in range(n):
        x = w[i * HOP:i * HOP + SEG]
        segs.append(torch.nn.functional.pad(x, (0, SEG - x.numel())))
    return torch.stack(segs), w.numel() / SR
