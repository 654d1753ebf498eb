/**
 * Every block of src/nn, lowered to ONNX and run on each backend under
 * test, agrees with the reference backend (within BLOCK, see
 * test/helpers/backends.ts):
 * - forward passes of RmsNorm, LayerNorm, Linear, Embedding (lookup and
 *   tied head), SwiGlu, RotaryEmbedding (half and interleaved layouts,
 *   partial rotary dims, given positions), AlibiBias, RelativePositionBias,
 *   MultiQueryAttention (MHA, GQA, MQA with rope, alibi or no positions),
 *   TransformerBlock, Dropout and a tiny DecoderLM (rope, alibi, learned,
 *   relative and no positions; LayerNorm, tied embeddings), and a check
 *   that this list names every Module the library exports; traced with the
 *   parameters as graph inputs
 *   (module.withParameters, random values so no gain is 1 and no bias 0) or
 *   closed over as constants, with a symbolic batch 'B' fed at two sizes;
 * - a KV-cache decoding step traced with a symbolic cache length 'P' (and
 *   the derived key length 'P+T'), fed caches of two lengths;
 * - the gradient graph vjp(trace(loss)) of a tiny DecoderLM's crossEntropy
 *   loss w.r.t. every parameter, for rope/alibi/learned positions and
 *   MHA/GQA/MQA.
 *
 * Sizes are tiny (dim 8, T 4, vocab 16) so WebGPU on the software device
 * stays fast. WebGPU runs most cases with their symbolic dims made static
 * (ONNX Runtime places run-time shape arithmetic on the CPU, which
 * strictDevice refuses; the norms, Linear, Embedding and SwiGlu keep 'B').
 * Gradient graphs run there whole: scatterAdd lowers to int32
 * ScatterElements for static shapes.
 */
import { afterAll, expect, it } from 'vitest';
import * as lib from '../../../src/index.js';
import {
  AlibiBias, Dropout, crossEntropy, DecoderLM, Embedding, LayerNorm, Linear, MultiQueryAttention, RelativePositionBias, RmsNorm, RotaryEmbedding,
  Module, SwiGlu, tensor, trace, TransformerBlock, vjp, type DecoderLMConfig, type Graph, type InputSpec, type Shape, type Tensor,
  type TraceOutput,
} from '../../../src/index.js';
import { BLOCK, describePerBackend, expectConforms, lenient, reportToleranceUse } from '../../helpers/backends.js';
import { rng } from '../../helpers/check-vjp.js';

const [C, T, V] = [8, 4, 16];

/** A float32 tensor of `shape`, uniform in [-scale, scale), from a seed. */
function randf(shape: readonly number[], seed: number, scale = 1): Tensor {
  const r = rng(seed);
  return tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * (2 * r() - 1)), { shape: [...shape] });
}
const ints = (shape: readonly number[], seed: number, max: number): Tensor => {
  const r = rng(seed);
  return tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(max * r())), { shape: [...shape], dtype: 'int32' });
};
/** Random values for every parameter (scale 0.5: no gain is 1, no bias 0). */
const paramValues = (m: Module, seed: number): Tensor[] => m.parameters().map((p, i) => randf(p.value.shape as number[], seed + 7919 * i, 0.5));
const paramSpecs = (m: Module): InputSpec[] => m.parameters().map((p, i) => ({ shape: p.value.shape, dtype: p.value.dtype, name: `p${i}` }));

/** One forward check: a graph, the feeds for its symbolic sizes, and how WebGPU treats it. */
interface BlockCase {
  readonly name: string;
  /** Builds the graph; `sym` is false where symbolic dims are to be made static (WebGPU). */
  readonly build: (sym: boolean) => { graph: Graph; feeds: Tensor[][] };
  /** Why WebGPU cannot run it with strictDevice, when it cannot. */
  readonly webgpu?: string;
  /** WebGPU runs it with its symbolic dims too (no run-time reshape or slice sizes for ONNX Runtime to place on the CPU). */
  readonly webgpuSymbolic?: boolean;
}

/**
 * A module call `f(inputs)` traced with the module's parameters as trailing
 * graph inputs; inputs are [spec, values at B=1, values at B=3] with 'B'
 * (made 2 when `sym` is false) leading their shape where they have one.
 */
function withParams(m: Module, inputs: readonly { shape: Shape; dtype?: 'float32' | 'int32'; make: (shape: number[], seed: number) => Tensor }[], f: (...xs: Tensor[]) => TraceOutput, sym: boolean): { graph: Graph; feeds: Tensor[][] } {
  const sizes = sym ? [1, 3] : [2];
  const specs: InputSpec[] = inputs.map((x, i) => ({ shape: x.shape.map((d) => (d === 'B' && !sym ? 2 : d)), dtype: x.dtype ?? 'float32', name: `x${i}` }));
  const n = inputs.length;
  const graph = trace((...xs) => m.withParameters(xs.slice(n), () => f(...xs.slice(0, n))), [...specs, ...paramSpecs(m)]);
  const params = paramValues(m, 11);
  const feeds = sizes.map((B, k) => [...inputs.map((x, i) => x.make(x.shape.map((d) => (d === 'B' ? B : d as number)), 100 * k + i + 1)), ...params]);
  return { graph, feeds };
}

const floats = (shape: Shape): { shape: Shape; make: (s: number[], seed: number) => Tensor } => ({ shape, make: (s, seed) => randf(s, seed) });
const tokens = (shape: Shape, max = V): { shape: Shape; dtype: 'int32'; make: (s: number[], seed: number) => Tensor } => ({ shape, dtype: 'int32', make: (s, seed) => ints(s, seed, max) });

const attention = (heads: number, kvHeads: number, position: 'rope' | 'alibi' | 'none', headDim = C / heads): MultiQueryAttention => new MultiQueryAttention(C, heads, {
  kvHeads, headDim, seed: 3,
  position: position === 'rope' ? new RotaryEmbedding(headDim, { maxPositions: 16 }) : position === 'alibi' ? new AlibiBias(heads) : null,
});
const KINDS = { MHA: [2, 2], GQA: [4, 2], MQA: [2, 1] } as const;

const model = (position: DecoderLMConfig['position'], kind: keyof typeof KINDS, extra: Partial<DecoderLMConfig> = {}): DecoderLM =>
  new DecoderLM({ vocab: V, dim: C, layers: 2, heads: KINDS[kind][0], kvHeads: KINDS[kind][1], hidden: 16, position, maxPositions: 16, seed: 5, ...extra });

const FORWARD: BlockCase[] = [
  { name: 'RmsNorm', webgpuSymbolic: true, build: (sym) => { const m = new RmsNorm(C); return withParams(m, [floats(['B', T, C])], (x) => m.forward(x), sym); } },
  { name: 'LayerNorm', webgpuSymbolic: true, build: (sym) => { const m = new LayerNorm(C); return withParams(m, [floats(['B', T, C])], (x) => m.forward(x), sym); } },
  { name: 'Linear with bias', webgpuSymbolic: true, build: (sym) => { const m = new Linear(C, 6, { bias: true }); return withParams(m, [floats(['B', T, C])], (x) => m.forward(x), sym); } },
  {
    name: 'Embedding lookup and tied head (attend)',
    webgpuSymbolic: true,
    build: (sym) => { const m = new Embedding(V, C); return withParams(m, [tokens(['B', T]), floats(['B', T, C])], (ids, x) => [m.forward(ids), m.attend(x)], sym); },
  },
  { name: 'SwiGlu', webgpuSymbolic: true, build: (sym) => { const m = new SwiGlu(C, { hidden: 16 }); return withParams(m, [floats(['B', T, C])], (x) => m.forward(x), sym); } },
  ...(['half', 'interleaved'] as const).map((layout): BlockCase => ({
    name: `RotaryEmbedding, ${layout} layout: full and partial rotary dims, default and given positions`,
    build: (sym) => {
      const full = new RotaryEmbedding(4, { layout, maxPositions: 16 });
      const partial = new RotaryEmbedding(6, { layout, rotaryDim: 4, maxPositions: 16, base: 100 });
      return withParams(full, [floats(['B', 2, T, 4]), floats(['B', T, 6]), { shape: [T], dtype: 'int32', make: () => tensor([5, 6, 7, 8], { dtype: 'int32' }) }],
        (x, y, pos) => [full.forward(x), full.forward(x, pos), partial.forward(y, pos)], sym);
    },
  })),
  {
    name: 'AlibiBias, causal and bidirectional, queries after a cache',
    build: (sym) => {
      const causal = new AlibiBias(4);
      const both = new AlibiBias(3, { mode: 'bidirectional' });
      return withParams(causal, [{ shape: [T], dtype: 'int32', make: () => tensor([3, 4, 5, 6], { dtype: 'int32' }) }],
        (pos) => [causal.forward(pos, 7), both.forward(pos, 7), causal.forward(pos, T)], sym);
    },
  },
  {
    name: 'RelativePositionBias, causal and bidirectional',
    build: (sym) => {
      const m = new RelativePositionBias(2, { buckets: 8, maxDistance: 16, seed: 1 });
      const both = new RelativePositionBias(2, { buckets: 8, maxDistance: 16, bidirectional: true, seed: 2 });
      return withParams(m, [{ shape: [T], dtype: 'int32', make: () => tensor([0, 9, 20, 30], { dtype: 'int32' }) }],
        (pos) => [m.forward(pos, 40), both.forward(pos, 40)], sym);
    },
  },
  ...(Object.keys(KINDS) as (keyof typeof KINDS)[]).flatMap((kind) => (['rope', 'alibi', 'none'] as const).map((position): BlockCase => ({
    name: `MultiQueryAttention ${kind}, ${position} positions`,
    build: (sym) => { const m = attention(KINDS[kind][0], KINDS[kind][1], position); return withParams(m, [floats(['B', T, C])], (x) => m.forward(x).output, sym); },
  }))),
  {
    name: 'TransformerBlock (GQA, rope; LayerNorm variant)',
    build: (sym) => {
      const m = new TransformerBlock(C, attention(4, 2, 'rope'), { seed: 7, mlp: new SwiGlu(C, { hidden: 16, seed: 8 }) });
      const l = new TransformerBlock(C, attention(2, 1, 'alibi'), { seed: 9, norm: 'layer' });
      const both = new Stack([m, l]);
      return withParams(both, [floats(['B', T, C])], (x) => [m.forward(x).output, l.forward(x).output], sym);
    },
  },
  {
    name: 'Dropout at a fed rate, seed and step',
    build: (sym) => {
      const d = new Dropout({ seed: 4 });
      const B = sym ? 'B' : 2;
      const graph = trace((x, rate, seed, step) => d.forward(x, { dropout: rate, seed, step }), [
        { shape: [B, T, C] }, { shape: [] }, { shape: [], dtype: 'int32' }, { shape: [], dtype: 'int32' },
      ]);
      const feeds = (sym ? [1, 3] : [2]).map((b, k) => [randf([b, T, C], 50 + k), tensor(0.25 + 0.25 * k), tensor(7 - k, { dtype: 'int32' }), tensor(3 + k, { dtype: 'int32' })]);
      return { graph, feeds };
    },
  },
  ...(['rope', 'alibi', 'learned', 'relative', 'none'] as const).map((position): BlockCase => ({
    name: `DecoderLM, ${position} positions${position === 'learned' ? ' (LearnedPositionEmbedding)' : ''}, parameters as inputs`,
    build: (sym) => { const m = model(position, 'GQA'); return withParams(m, [tokens(['B', T])], (ids) => m.forward(ids).logits, sym); },
  })),
  {
    name: 'DecoderLM with LayerNorm and tied embeddings, parameters as constants',
    build: (sym) => {
      const m = model('rope', 'MQA', { norm: 'layer', tiedEmbeddings: true });
      m.loadStateDict(new Map(m.namedParameters().map(([n, p], i) => [n, randf(p.value.shape as number[], 300 + i, 0.5)])));
      const sizes = sym ? [1, 3] : [2];
      const graph = trace((ids) => m.forward(ids).logits, [{ shape: [sym ? 'B' : 2, T], dtype: 'int32' }]);
      return { graph, feeds: sizes.map((B, k) => [ints([B, T], 40 + k, V)]) };
    },
  },
];

/** A decoding step of `m` traced with a symbolic cache length 'P' (static P = 2, T = 2 where `sym` is false), fed prefixes of 2 and 3 tokens. */
function decodingStep(m: DecoderLM, sym: boolean): { graph: Graph; feeds: Tensor[][] } {
  const { kvHeads: K, headDim: D, layers } = m.config;
  const cacheShape: Shape = [1, K, sym ? 'P' : 2, D];
  const specs: InputSpec[] = [
    { name: 'ids', shape: [1, sym ? 'T' : 2], dtype: 'int32' },
    { name: 'positions', shape: [sym ? 'T' : 2], dtype: 'int32' },
    ...Array.from({ length: layers }, (_, i) => [{ name: `key${i}`, shape: cacheShape }, { name: `value${i}`, shape: cacheShape }]).flat(),
  ];
  const graph = trace((ids, positions, ...kv) => {
    const cache = Array.from({ length: layers }, (_, i) => ({ key: kv[2 * i], value: kv[2 * i + 1] }));
    const r = m.forward(ids, { cache, positions });
    return [r.logits, ...r.cache.flatMap((c) => [c.key, c.value])];
  }, specs);
  expect(graph.outputs[1].shape).toEqual([1, K, sym ? 'P+T' : 4, D]);
  const feeds = (sym ? [[2, 2], [3, 1]] : [[2, 2]]).map(([P, n], k) => {
    const prefix = m.forward(ints([1, P], 60 + k, V)).cache;
    const positions = tensor(Array.from({ length: n }, (_, i) => P + i), { dtype: 'int32' });
    return [ints([1, n], 70 + k, V), positions, ...prefix.flatMap((c) => [c.key, c.value])];
  });
  return { graph, feeds };
}

/** The gradient graph of a DecoderLM's crossEntropy loss w.r.t. every parameter; ones as the cotangent. */
function lossGradient(m: DecoderLM, sym: boolean): { graph: Graph; feeds: Tensor[][] } {
  const B: number | string = sym ? 'B' : 2;
  const forward = trace((ids, targets, ...ps) => m.withParameters(ps, () => crossEntropy(m.forward(ids).logits, targets)), [
    { name: 'ids', shape: [B, T], dtype: 'int32' }, { name: 'targets', shape: [B, T], dtype: 'int32' }, ...paramSpecs(m),
  ]);
  const graph = vjp(forward);
  expect(graph.outputs).toHaveLength(1 + m.parameters().length);
  const params = paramValues(m, 23);
  const feeds = (sym ? [1, 3] : [2]).map((b, k) => [ints([b, T], 80 + k, V), ints([b, T], 90 + k, V), ...params, tensor(1)]);
  return { graph, feeds };
}

const DECODING: BlockCase[] = ([['rope', 'GQA'], ['alibi', 'MQA'], ['learned', 'MHA']] as const).map(([position, kind]) => ({
  name: `DecoderLM KV-cache decoding step, ${position} positions, ${kind}, symbolic cache length 'P'`,
  build: (sym) => decodingStep(model(position, kind), sym),
}));

const GRADIENTS: BlockCase[] = (['rope', 'alibi', 'learned'] as const).flatMap((position) => (Object.keys(KINDS) as (keyof typeof KINDS)[]).map((kind): BlockCase => ({
  name: `vjp of a DecoderLM crossEntropy loss w.r.t. every parameter, ${position} positions, ${kind}`,
  // Static dims on WebGPU, strictly: scatterAdd (gather's gradient) lowers to int32 ScatterElements there.
  build: (sym) => lossGradient(model(position, kind), sym),
})));

afterAll(reportToleranceUse);

it('the forward table names every block the library exports', () => {
  const blocks = Object.entries(lib).filter(([, v]) => typeof v === 'function' && v.prototype instanceof Module).map(([k]) => k);
  expect(blocks.length).toBeGreaterThan(10);
  for (const name of blocks) expect(FORWARD.some((c) => new RegExp(`\\b${name}\\b`).test(c.name)), name).toBe(true);
});

describePerBackend('blocks match the reference backend', (b) => {
  for (const c of [...FORWARD, ...DECODING, ...GRADIENTS]) {
    const skip = b.webgpu && c.webgpu !== undefined;
    const symbolic = !b.webgpu || c.webgpuSymbolic === true;
    // What WebGPU cannot run whole (the reason is in the name) runs there with CPU fallback for what it lacks.
    it(`${c.name}${skip ? ` (on WebGPU with CPU fallback: ${c.webgpu})` : symbolic ? '' : ' (static dims on WebGPU)'}`, async () => {
      const { graph, feeds } = c.build(symbolic);
      await expectConforms(skip ? lenient(b) : b, graph, feeds, BLOCK, c.name);
    });
  }
});

/** Several blocks as one module, so their parameters travel as one list. */
class Stack extends Module {
  constructor(blocks: readonly Module[]) {
    super();
    blocks.forEach((m, i) => this.module(String(i), m));
  }
}
