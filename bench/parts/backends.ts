/**
 * Forward and forward+backward passes per backend: blocks and a small DecoderLM on the reference
 * backend, onnxruntime-node's CPU and onnxruntime-web's WebAssembly, and the
 * overhead of llm-tricks' runtime over a bare InferenceSession.run of the
 * same ONNX model.
 */
import * as ort from 'onnxruntime-node';
import {
  crossEntropy, DecoderLM, MultiQueryAttention, referenceBackend, RmsNorm, RotaryEmbedding, sum, SwiGlu, tensor, trace, vjp,
  type Backend, type DType, type Module, type Shape, type Tensor,
} from 'llm-tricks';
import { lowerGraph, ortNode } from 'llm-tricks/node';
import { ortWeb } from 'llm-tricks/web';
import { median, paired, signSentence, timeInterleaved, timeRuns } from '../lib/timing.js';
import type { Part, Row, RunSettings } from '../lib/types.js';

// B batch, T tokens, C width.
const size = (s: RunSettings): { B: number; T: number; C: number } => (s.mode === 'quick' ? { B: 1, T: 8, C: 32 } : { B: 4, T: 64, C: 128 });

function randn(shape: number[], seed: number): Tensor {
  let x = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5), { shape });
}

interface Case { task: string; graph: ReturnType<typeof trace>; feeds: Tensor[]; backward: { graph: ReturnType<typeof trace>; feeds: Tensor[] } }

/**
 * Forward and backward of `loss` (a scalar of the block's output) with the
 * module's parameters as inputs: the gradient with respect to every
 * parameter and every float input, as a training step needs.
 */
function withBackward(m: Module, inputs: { shape: Shape; dtype?: DType }[], feeds: Tensor[], loss: (...xs: Tensor[]) => Tensor): Case['backward'] {
  const params = m.parameters().map((p) => p.value);
  const graph = trace((...args) => m.withParameters(args.slice(inputs.length), () => loss(...args.slice(0, inputs.length))), [
    ...inputs, ...params.map((p) => ({ shape: p.shape, dtype: p.dtype })),
  ]);
  const wrt = graph.inputs.flatMap((n, i) => (n.dtype === 'float32' ? [i] : []));
  return { graph: vjp(graph, { wrt }), feeds: [...feeds, ...params, tensor(1)] };
}

function cases(s: RunSettings): Case[] {
  const { B, T, C } = size(s);
  const x = randn([B, T, C], 1);
  const norm = new RmsNorm(C);
  const mlp = new SwiGlu(C);
  const attn = new MultiQueryAttention(C, 8, { kvHeads: 2, position: new RotaryEmbedding(C / 8, { maxPositions: 256 }) });
  const lm = new DecoderLM({ vocab: 256, dim: C, layers: 2, heads: 8, kvHeads: 2, maxPositions: 256 });
  const ids = tensor(Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 31 + t * 7) % 256)), { dtype: 'int32' });
  const spec = [{ shape: [B, T, C] }];
  const idSpec = [{ shape: [B, T], dtype: 'int32' as const }];
  return [
    { task: `RmsNorm (${B}, ${T}, ${C})`, graph: trace((h) => norm.forward(h), spec), feeds: [x], backward: withBackward(norm, spec, [x], (h) => sum(norm.forward(h))) },
    { task: `SwiGlu (${B}, ${T}, ${C})`, graph: trace((h) => mlp.forward(h), spec), feeds: [x], backward: withBackward(mlp, spec, [x], (h) => sum(mlp.forward(h))) },
    { task: `GQA + RoPE (${B}, ${T}, ${C})`, graph: trace((h) => attn.forward(h).output, spec), feeds: [x], backward: withBackward(attn, spec, [x], (h) => sum(attn.forward(h).output)) },
    {
      task: `DecoderLM 2 layers (${B}, ${T})`, graph: trace((i) => lm.forward(i).logits, idSpec), feeds: [ids],
      backward: withBackward(lm, idSpec, [ids], (i) => crossEntropy(lm.forward(i).logits, i)),
    },
  ];
}

/** llm-tricks' run() against a bare InferenceSession.run: the most time it may add. */
const OVERHEAD_TARGET = 0.05;

const BACKENDS: [string, Backend, string][] = [['reference', referenceBackend, 'cpu'], ['ort-node cpu', ortNode, 'cpu'], ['ort-web wasm', ortWeb, 'wasm']];

export const backendsPart: Part = {
  name: 'backends',
  title: 'Forward and backward passes per backend',
  about: 'Forward time, and forward + backward time (gradients of a scalar loss with respect to every parameter and float input, our autodiff), of blocks and a 2-layer DecoderLM, on each backend with its default settings (onnxruntime-node on all cores), one backend after another: the reference backend is the peer, and its ratio a rough measure, not timed in alternation (it runs 3 forward + backward passes, the others the run\'s count). Then llm-tricks\' run() on onnxruntime-node against a bare InferenceSession.run of the same ONNX model, each on one thread, timed in alternation round by round with the sign test (the peer of the last rows; the target is within 5%).',
  count: (s) => cases(s).length * (2 * BACKENDS.length + 2),
  summary(rows) {
    return rows.filter((r) => r.group.startsWith('overhead') && !r.isPeer).map((r) => {
      const bare = rows.find((p) => p.isPeer && p.group === r.group)!;
      const pct = (median(r.ms.map((x, i) => x / bare.ms[i])) - 1) * 100;
      const sign = signSentence('llm-tricks slower', Number(bare.extra?.slowerRounds), Number(bare.extra?.rounds), 'llm-tricks is slower', 'llm-tricks is faster');
      const within = Math.abs(pct) <= OVERHEAD_TARGET * 100 ? `within the ${OVERHEAD_TARGET * 100}% target` : `outside the ${OVERHEAD_TARGET * 100}% target`;
      return `${r.task}: timed in alternation, llm-tricks' run() took ${Math.abs(pct).toFixed(1)}% ${pct >= 0 ? 'more' : 'less'} time than a bare InferenceSession.run (the median of the rounds' ratios, ${within}); median paired difference ${Number(bare.extra?.pairedDeltaMs).toFixed(3)} ms, ${sign}.`;
    });
  },
  async run(s, report) {
    for (const c of cases(s)) {
      for (const [impl, backend, device] of BACKENDS) {
        const exe = await backend.compile(c.graph, { device });
        const ms = await timeRuns(() => exe.run(c.feeds), s.warmup, s.runs);
        report({ part: 'backends', task: c.task, impl, group: 'forward', isPeer: impl === 'reference', ms, median: median(ms) });
        const both = await backend.compile(c.backward.graph, { device });
        const bms = await timeRuns(() => both.run(c.backward.feeds), impl === 'reference' ? 1 : s.warmup, impl === 'reference' ? Math.min(3, s.runs) : s.runs);
        report({ part: 'backends', task: `${c.task} fwd+bwd`, impl, group: 'forward+backward', isPeer: impl === 'reference', ms: bms, median: median(bms) });
      }
      // The same model run two ways: through llm-tricks, and straight through ONNX Runtime.
      // One thread each, and the two timed alternately, so machine noise falls on both alike.
      const exe = await ortNode.compile(c.graph, { device: 'cpu', intraOpNumThreads: 1 });
      const model = lowerGraph(c.graph);
      const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 });
      const feeds = Object.fromEntries(c.feeds.map((t, i) => [model.inputNames[i], new ort.Tensor(t.dtype as 'float32', t.data() as Float32Array, t.shape as number[])]));
      // Each takes the first place in every other round (with two, one of them runs twice in a row at each turn of a round, each as often).
      const [ours, bare] = await timeInterleaved([() => exe.run(c.feeds), () => session.run(feeds)], s.warmup, 3 * s.runs, 0, 'rotate');
      const p = paired(bare, ours);
      const rows: Row[] = [
        { part: 'backends', task: c.task, impl: 'llm-tricks ortNode.run', group: `overhead ${c.task}`, isPeer: false, ms: ours, median: median(ours) },
        { part: 'backends', task: c.task, impl: 'bare InferenceSession.run', group: `overhead ${c.task}`, isPeer: true, ms: bare, median: median(bare), extra: { pairedDeltaMs: Number(p.medianDelta.toFixed(4)), slowerRounds: p.slower, rounds: p.rounds } },
      ];
      rows.forEach(report);
    }
  },
};
