/**
 * Training step throughput of the example's byte-level decoder (multi-query
 * attention, RoPE, RMSNorm, SwiGLU, Lion, dropout): tokens/s and peak memory
 * on onnxruntime-node's CPU against the reference backend, PyTorch (eager
 * and torch.compile) and TensorFlow.js; the copy overhead of feeding state
 * through JavaScript instead of keeping it resident, timed in alternation
 * with the resident step; and model FLOP/s against the machine's GEMM
 * ceiling (ONNX Runtime's MatMul on a large square product).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildStepGraph, ByteTokenizer, DecoderLM, languageModelLoss, Lion, matmul, referenceBackend, tensor, TokenBatches, trace, Trainer } from 'llm-tricks';
import * as tf from '@tensorflow/tfjs';
import { tfjsTrainer, useBackend } from '../peers/tfjs-decoder.js';
import { deviceBackend } from '../lib/device.js';
import { startPeer, type PeerProcess } from '../lib/peer.js';
import { median, paired, signSentence, timeInterleaved, timeRuns } from '../lib/timing.js';
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

export const trainPart: Part = {
  name: 'train',
  title: 'Training step: tokens/s',
  about: "One training step (forward, loss, backward, clipping, Lion update: one backend run) of the training example's byte-level decoder, 4 layers of width 128 with multi-query attention, on batches of 16 × 64 tokens. The peers: the reference backend (pure TypeScript); PyTorch on the CPU, eager and with torch.compile, running the same model (the same parameter count, scaled_dot_product_attention with grouped-query support, the same dropout sites, gradient clipping and a Lion step written with foreach ops) on the same number of threads as ONNX Runtime; and the same decoder written with TensorFlow.js ops and trained with its Adam, on its CPU and WASM backends (tfjs tiles the single key/value head across query heads). Also: the step with parameters and optimizer state copied through JavaScript every step (plain run) against kept in reused output buffers (runResident), and model FLOP/s against ONNX Runtime's MatMul on the same threads. llm-tricks, its copying variant and the PyTorch peers are timed in alternation, one step each per round (the order reversed every other round, 50 ms idle before each step), so the machine's drift falls on all of them alike; the reference backend and tfjs run alone.",
  count: (s) => 6 + (s.mode === 'quick' ? 1 : 2),
  summary(rows) {
    const ort = rows.find((r) => r.group === 'step' && !r.isPeer);
    const ref = rows.find((r) => r.impl === 'llm-tricks reference');
    const copy = rows.find((r) => r.group === 'copy');
    const gemm = rows.find((r) => r.group === 'gemm');
    const out: string[] = [];
    if (ort && ref) out.push(`Training step on ${ort.impl.replace('llm-tricks ', '')}: ${Number(ort.extra?.tokensPerSecond).toFixed(0)} tokens/s, ${(ref.median / ort.median).toFixed(1)}× the reference backend's ${Number(ref.extra?.tokensPerSecond).toFixed(0)} tokens/s; peak RSS growth ${ort.extra?.peakMiB} MiB.`);
    for (const peer of rows.filter((r) => (r.group === 'pytorch' || r.group === 'tfjs') && r.ms.length)) {
      if (!ort) continue;
      const ratio = peer.median / ort.median;
      let verdict = ratio >= 1 ? `llm-tricks ${ratio.toFixed(1)}× faster` : `llm-tricks ${(1 / ratio).toFixed(1)}× slower`;
      if (peer.extra?.rounds) {
        verdict = signSentence('timed in alternation, the peer was slower', Number(peer.extra.slowerRounds), Number(peer.extra.rounds), 'llm-tricks faster', 'llm-tricks slower');
      }
      out.push(`${peer.impl}: ${Number(peer.extra?.tokensPerSecond).toFixed(0)} tokens/s; peer ÷ llm-tricks = ${ratio.toFixed(2)}; ${verdict}.`);
    }
    if (copy?.extra) {
      const { residentMedianMs: resident, pairedDeltaMs: delta, slowerRounds, rounds } = copy.extra;
      const sign = signSentence('copying slower', Number(slowerRounds), Number(rounds), 'copying costs time', 'copying was faster');
      out.push(`State copied through JavaScript every step vs kept resident, timed in alternation: ${copy.median.toFixed(1)} ms vs ${Number(resident).toFixed(1)} ms per step; median paired difference ${Number(delta).toFixed(1)} ms, ${sign}.`);
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
    const tokensPerSecond = (ms: number): number => Math.round((z.B * z.T) / (ms / 1000));
    // The reference backend is slow: a few runs on their own are enough to place it.
    {
      const m = model(z);
      const trainer = await Trainer.create({ model: m, optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: referenceBackend });
      let k = 0;
      const ms = await timeRuns(() => trainer.step(data.batch(k++)), 1, Math.min(3, s.runs));
      report({ part: 'train', task, impl: 'llm-tricks reference', group: 'step', isPeer: true, ms, median: median(ms), extra: { tokensPerSecond: tokensPerSecond(median(ms)) } });
    }
    // Timed in alternation, round by round: the resident Trainer, the same compiled step with its state
    // fed and read through JavaScript arrays, and PyTorch eager and torch.compile (outside --quick: compiling
    // takes about a minute) in their own processes with ONNX Runtime's thread count (its default: one per core).
    // A 50 ms pause before each timed step lets the other runtime's spinning threads go to sleep: without it,
    // PyTorch measured a third slower right after an ONNX Runtime step.
    const m = model(z);
    const base = rssMiB();
    const trainer = await Trainer.create({ model: m, optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: on.backend, compile: { device: on.device } });
    let peak = rssMiB();
    // Warm-up steps of the Trainer alone: its peak memory, before the other variants share the process.
    for (let i = 0; i < s.warmup; i++) {
      await trainer.step(data.batch(i));
      peak = Math.max(peak, rssMiB());
    }
    const spec = { shape: [z.B, z.T], dtype: 'int32' } as const;
    const copying = model(z);
    const { graph } = buildStepGraph({ model: copying, loss: languageModelLoss, optimizer: new Lion({ lr: 1e-3 }), batch: [spec, spec], maxGradNorm: 1 });
    const exe = await on.backend.compile(graph, { device: on.device });
    const params = copying.parameters().map((p) => p.value);
    let state = [...params, ...params.map((p) => tensor(new Float32Array(p.size), { shape: p.shape as number[] }))];
    const torchConfig = { vocab: 256, dim: z.dim, layers: z.layers, heads: m.config.heads, kvHeads: m.config.kvHeads, hidden: m.config.hidden, B: z.B, T: z.T, dropout: 0.1, threads: availableParallelism() };
    const torch: PeerProcess[] = [];
    for (const compile of s.mode === 'quick' ? [false] : [false, true]) {
      const peer = await startPeer('torch_peer.py', ['train', JSON.stringify({ ...torchConfig, compile })]);
      if ('missing' in peer) {
        report({ part: 'train', task, impl: `pytorch cpu ${compile ? 'torch.compile' : 'eager'}`, group: 'pytorch', isPeer: true, ms: [], median: NaN, missing: peer.missing });
        continue;
      }
      if (peer.extra.params !== m.parameterCount()) throw new Error(`bench train: the PyTorch model has ${peer.extra.params} parameters, expected ${m.parameterCount()}`);
      torch.push(peer);
    }
    let j = s.warmup;
    let k = 0;
    // The first call of each peer (torch.compile compiles then) is timed apart from the rounds.
    const firstCall: number[] = [];
    for (const p of torch) firstCall.push((await timeRuns(() => p.step(), 0, 1))[0]);
    const [resident, copied, ...peers] = await timeInterleaved([
      () => trainer.step(data.batch(j++)),
      async () => {
        const out = await exe.run([...state, ...data.batch(k), tensor(1e-3), tensor(++k, { dtype: 'int32' }), tensor(0.1), tensor(0, { dtype: 'int32' })]);
        state = out.slice(2).map((t) => tensor(t.data().slice() as Float32Array, { shape: t.shape as number[] }));
      },
      ...torch.map((p) => () => p.step()),
    ], 1, s.runs * 2, 50);
    for (const p of torch) p.close();
    const med = median(resident);
    report({ part: 'train', task, impl: `llm-tricks ${on.label}`, group: 'step', isPeer: false, ms: resident, median: med, extra: { tokensPerSecond: tokensPerSecond(med), gflops: Number(((tokensPerSecond(med) * flopsPerToken(m, z.T)) / 1e9).toFixed(2)), peakMiB: Math.round(peak - base), params: m.parameterCount() } });
    const vsResident = (ms: number[]): Record<string, number> => {
      const p = paired(resident, ms);
      return { pairedDeltaMs: Number(p.medianDelta.toFixed(2)), slowerRounds: p.slower, rounds: p.rounds };
    };
    report({ part: 'train', task, impl: `${on.label}, state through JS`, group: 'copy', isPeer: false, ms: copied, median: median(copied), extra: { residentMedianMs: Number(med.toFixed(2)), ...vsResident(copied) } });
    torch.forEach((p, i) => report({ part: 'train', task, impl: p.peer, group: 'pytorch', isPeer: true, ms: peers[i], median: median(peers[i]), extra: { tokensPerSecond: tokensPerSecond(median(peers[i])), threads: p.extra.threads, firstCallMs: Math.round(firstCall[i]), ...vsResident(peers[i]) } }));
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
      report({ part: 'train', task, impl, group: 'tfjs', isPeer: true, ms, median: median(ms), extra: { tokensPerSecond: tokensPerSecond(median(ms)) } });
    }
    {
      // The GEMM ceiling: one large float32 MatMul on ONNX Runtime's CPU provider with its default threads.
      const n = GEMM(s);
      const g = trace((a, b) => matmul(a, b), [{ shape: [n, n] }, { shape: [n, n] }]);
      const exe = await on.backend.compile(g, { device: on.device });
      const a = tensor(Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000), { shape: [n, n] });
      const ms = await timeRuns(() => exe.run([a, a]), s.warmup, s.runs);
      const med = median(ms);
      report({ part: 'train', task: `GEMM ${n}×${n}×${n}`, impl: `${on.label} MatMul (onnxruntime ${ort.env.versions.common})`, group: 'gemm', isPeer: true, ms, median: med, extra: { gflops: Number(((2 * n ** 3) / (med / 1000) / 1e9).toFixed(2)) } });
    }
  },
};
