/**
 * Training step throughput of the example's byte-level decoder (multi-query
 * attention, RoPE, RMSNorm, SwiGLU, Lion, dropout): tokens/s and peak memory
 * on onnxruntime-node's CPU against the reference backend, the copy overhead
 * of feeding state through JavaScript instead of keeping it resident, and
 * model FLOP/s against the machine's GEMM ceiling (ONNX Runtime's MatMul on
 * a large square product).
 */
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { buildStepGraph, ByteTokenizer, DecoderLM, languageModelLoss, Lion, matmul, referenceBackend, tensor, TokenBatches, trace, Trainer, type Backend } from 'llm-tricks';
import * as tf from '@tensorflow/tfjs';
import { tfjsTrainer, useBackend } from '../peers/tfjs-decoder.js';
import { deviceBackend } from '../lib/device.js';
import { median, timeRuns } from '../lib/timing.js';
import type { Part, RunSettings } from '../lib/types.js';

interface Size { dim: number; layers: number; B: number; T: number }
const size = (s: RunSettings): Size => (s.mode === 'quick' ? { dim: 32, layers: 1, B: 2, T: 16 } : { dim: 128, layers: 4, B: 16, T: 64 });
const GEMM = (s: RunSettings): number => (s.mode === 'quick' ? 256 : 1024);

function model(z: Size): DecoderLM {
  return new DecoderLM({ vocab: 256, dim: z.dim, layers: z.layers, heads: 4, kvHeads: 1, dropout: true, maxPositions: 512, seed: 1 });
}

/** Training FLOPs per token: 6 per weight (forward and backward) plus attention's 12 · layers · T · dim (PaLM, appendix B). */
function flopsPerToken(m: DecoderLM, T: number): number {
  return 6 * m.parameterCount() + 12 * m.config.layers * T * m.config.heads * m.config.headDim;
}

function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

function torchNotice(): string {
  const r = spawnSync('python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0
    ? `torch ${r.stdout.trim()} is importable, but no PyTorch transcription of this model exists in bench/peers yet`
    : 'torch is not importable (python3 -m pip install torch); no PyTorch peer ran';
}

export const trainPart: Part = {
  name: 'train',
  title: 'Training step: tokens/s',
  about: "One training step (forward, loss, backward, clipping, Lion update: one backend run) of the training example's byte-level decoder, 4 layers of width 128 with multi-query attention, on batches of 16 × 64 tokens. The peers are the reference backend (pure TypeScript) and the same decoder written with TensorFlow.js ops and trained with its Adam, on its CPU and WASM backends (tfjs tiles the single key/value head across query heads). Also: the same step with parameters and optimizer state copied through JavaScript every step (plain run) instead of kept in reused output buffers (runResident), and model FLOP/s against ONNX Runtime's MatMul on the same threads.",
  count: () => 7,
  summary(rows) {
    const ort = rows.find((r) => r.group === 'step' && !r.isPeer);
    const ref = rows.find((r) => r.impl === 'llm-tricks reference');
    const plain = rows.find((r) => r.group === 'copy');
    const gemm = rows.find((r) => r.group === 'gemm');
    const out: string[] = [];
    if (ort && ref) out.push(`Training step on ${ort.impl.replace('llm-tricks ', '')}: ${Number(ort.extra?.tokensPerSecond).toFixed(0)} tokens/s, ${(ref.median / ort.median).toFixed(1)}× the reference backend's ${Number(ref.extra?.tokensPerSecond).toFixed(0)} tokens/s; peak RSS growth ${ort.extra?.peakMiB} MiB.`);
    if (ort && plain) {
      const pct = (plain.median / ort.median - 1) * 100;
      const spread = Math.max(...ort.ms) - Math.min(...ort.ms);
      out.push(`State copied through JavaScript every step: ${plain.median.toFixed(1)} ms per step against ${ort.median.toFixed(1)} ms kept resident (${Math.abs(pct).toFixed(1)}% ${pct >= 0 ? 'more' : 'less'}); the resident runs themselves spread over ${spread.toFixed(1)} ms (max − min), so a difference smaller than that is not a measured effect.`);
    }
    for (const peer of rows.filter((r) => r.group === 'tfjs' && r.ms.length)) {
      if (ort) out.push(`${peer.impl} (the same decoder in tfjs ops, Adam): ${Number(peer.extra?.tokensPerSecond).toFixed(0)} tokens/s; ${ort.impl} is ${(peer.median / ort.median).toFixed(1)}× faster.`);
    }
    if (ort && gemm) out.push(`Model FLOP/s ${(Number(ort.extra?.gflops)).toFixed(1)} GFLOP/s = ${((100 * Number(ort.extra?.gflops)) / Number(gemm.extra?.gflops)).toFixed(0)}% of the measured GEMM ceiling (${Number(gemm.extra?.gflops).toFixed(1)} GFLOP/s).`);
    return out;
  },
  async run(s, report) {
    const z = size(s);
    const tokens = new ByteTokenizer().encode('Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(200));
    const data = new TokenBatches(tokens, { batchSize: z.B, length: z.T, seed: 1 });
    const task = `step, ${z.layers}×${z.dim}, ${z.B}×${z.T} tokens`;
    const on = deviceBackend(s.device);
    const cases: [string, Backend, string, boolean][] = [[`llm-tricks ${on.label}`, on.backend, on.device, false], ['llm-tricks reference', referenceBackend, 'cpu', true]];
    for (const [impl, backend, device, isPeer] of cases) {
      const m = model(z);
      const base = rssMiB();
      const trainer = await Trainer.create({ model: m, optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend, compile: { device } });
      let peak = rssMiB();
      let k = 0;
      // The reference backend is slow: a few runs are enough to place it.
      const runs = isPeer ? Math.min(3, s.runs) : s.runs;
      const ms = await timeRuns(async () => {
        await trainer.step(data.batch(k++));
        peak = Math.max(peak, rssMiB());
      }, isPeer ? 1 : s.warmup, runs);
      const med = median(ms);
      const tps = (z.B * z.T) / (med / 1000);
      report({ part: 'train', task, impl, group: 'step', isPeer, ms, median: med, extra: { tokensPerSecond: Math.round(tps), gflops: Number(((tps * flopsPerToken(m, z.T)) / 1e9).toFixed(2)), peakMiB: Math.round(peak - base), params: m.parameterCount() } });
    }
    // The same compiled step, fed and read through JavaScript arrays every run.
    {
      const m = model(z);
      const spec = { shape: [z.B, z.T], dtype: 'int32' } as const;
      const { graph } = buildStepGraph({ model: m, loss: languageModelLoss, optimizer: new Lion({ lr: 1e-3 }), batch: [spec, spec], maxGradNorm: 1 });
      const exe = await on.backend.compile(graph, { device: on.device });
      const params = m.parameters().map((p) => p.value);
      let state = [...params, ...params.map((p) => tensor(new Float32Array(p.size), { shape: p.shape as number[] }))];
      let k = 0;
      const ms = await timeRuns(async () => {
        const out = await exe.run([...state, ...data.batch(k), tensor(1e-3), tensor(++k, { dtype: 'int32' }), tensor(0.1), tensor(0, { dtype: 'int32' })]);
        state = out.slice(2).map((t) => tensor(t.data().slice() as Float32Array, { shape: t.shape as number[] }));
      }, s.warmup, s.runs);
      report({ part: 'train', task, impl: `${on.label}, state through JS`, group: 'copy', isPeer: false, ms, median: median(ms) });
    }
    // TensorFlow.js: the same decoder written with its ops, trained with its Adam, on its CPU (JavaScript) and WASM backends.
    for (const name of ['cpu', 'wasm'] as const) {
      const impl = `tfjs ${tf.version.tfjs} ${name}`;
      if (!(await useBackend(name))) {
        report({ part: 'train', task, impl, group: 'tfjs', isPeer: true, ms: [], median: NaN, missing: `the tfjs ${name} backend did not start` });
        continue;
      }
      const m = model(z);
      const step = tfjsTrainer({ vocab: 256, dim: z.dim, layers: z.layers, heads: m.config.heads, kvHeads: m.config.kvHeads, hidden: m.config.hidden, B: z.B, T: z.T });
      let k = 0;
      const ms = await timeRuns(() => {
        const [ids, targets] = data.batch(k++);
        return step(ids.data() as Int32Array, targets.data() as Int32Array);
      }, Math.min(2, s.warmup), Math.min(3, s.runs));
      report({ part: 'train', task, impl, group: 'tfjs', isPeer: true, ms, median: median(ms), extra: { tokensPerSecond: Math.round((z.B * z.T) / (median(ms) / 1000)) } });
    }
    report({ part: 'train', task, impl: 'pytorch cpu eager', group: 'step', isPeer: true, ms: [], median: NaN, missing: torchNotice() });
    // The GEMM ceiling: one large float32 MatMul on ONNX Runtime's CPU provider with its default threads.
    const n = GEMM(s);
    const g = trace((a, b) => matmul(a, b), [{ shape: [n, n] }, { shape: [n, n] }]);
    const exe = await on.backend.compile(g, { device: on.device });
    const a = tensor(Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000), { shape: [n, n] });
    const ms = await timeRuns(() => exe.run([a, a]), s.warmup, s.runs);
    const med = median(ms);
    report({ part: 'train', task: `GEMM ${n}×${n}×${n}`, impl: `${on.label} MatMul (onnxruntime ${ort.env.versions.common})`, group: 'gemm', isPeer: true, ms, median: med, extra: { gflops: Number(((2 * n ** 3) / (med / 1000) / 1e9).toFixed(2)) } });
  },
};
