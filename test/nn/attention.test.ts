/**
 * Properties of MultiQueryAttention and TransformerBlock, over MHA
 * (kvHeads = heads), GQA and MQA (kvHeads = 1) with each position kind
 * (rope, alibi, relative, none):
 * - gradients w.r.t. the input and every parameter match finite
 *   differences (float64; check-vjp defaults atol 1e-7, rtol 1e-6), also for
 *   TransformerBlock (rms and layer norm);
 * - GQA/MQA equals multi-head attention whose k_proj/v_proj rows are the
 *   kv heads repeated (query head h reads kv head floor(h / (H/K))), loaded
 *   with loadStateDict, same q/o weights (1e-12);
 * - heads not a multiple of kvHeads fails with the documented message; the
 *   KV cache holds K heads: K/H the elements of MHA's;
 * - causal: the output at t is unchanged (exactly) when inputs after t change;
 * - KV-cached decoding, token by token or after a prefill, gives the full
 *   pass's outputs within 1e-10, and the cache is the full pass's cache.
 * - positions other than P..P+T-1 (which the mask and the biases assume)
 *   are rejected rather than silently mis-masked.
 * - the two layouts of the queries agree within 1e-12: rows of (B, K, T·G, D)
 *   where T is a number (eager, or traced with a symbolic cache length 'P'),
 *   broadcast (B, K, G, T, D) where it is symbolic (traced with 'T'), with
 *   and without a cache, padding mask and per-row positions; with one kv
 *   head, the rows layout lowers to a graph whose only Transposes are the
 *   keys' and the weights'.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import {
  AlibiBias, concat, LlmTricksError, MultiQueryAttention, referenceBackend, RelativePositionBias, RotaryEmbedding, sliceAxis, trace, TransformerBlock,
  type KvCache, type PositionModule, type Tensor,
} from '../../src/index.js';
import { lowerGraph } from '../../src/node.js';
import { ModelProtoSchema } from '../../src/backends/onnx/generated/onnx_pb.js';
import { assertModuleVjp, f64, i32, maxDiff, nums, randn, randomParams, seedArb } from './util.js';

type Kind = 'rope' | 'alibi' | 'relative' | 'none';
const KINDS: Kind[] = ['rope', 'alibi', 'relative', 'none'];
interface Config { dim: number; heads: number; kvHeads: number; headDim: number; kind: Kind; seed: number }

function positionModule(c: Config): PositionModule | null {
  switch (c.kind) {
    case 'rope': return new RotaryEmbedding(c.headDim, { maxPositions: 32 });
    case 'alibi': return new AlibiBias(c.heads);
    case 'relative': return new RelativePositionBias(c.heads, { buckets: 8, maxDistance: 16, seed: c.seed, dtype: 'float64' });
    case 'none': return null;
  }
}
/** An attention layer with random (not tiny) weights. */
function attention(c: Config, overrides: Partial<Config> = {}): MultiQueryAttention {
  const cfg = { ...c, ...overrides };
  const m = new MultiQueryAttention(cfg.dim, cfg.heads, { kvHeads: cfg.kvHeads, headDim: cfg.headDim, position: positionModule(cfg), seed: cfg.seed, dtype: 'float64' });
  const values = randomParams(m, cfg.seed);
  m.loadStateDict(new Map(m.namedParameters().map(([n], i) => [n, values[i]])));
  return m;
}
const configArb: fc.Arbitrary<Config> = fc.record({
  heads: fc.constantFrom(2, 4), headDim: fc.constantFrom(2, 4), kind: fc.constantFrom(...KINDS), seed: seedArb, g: fc.nat(),
}).map(({ heads, headDim, kind, seed, g }) => {
  const divisors = [1, 2, 4].filter((k) => k <= heads);
  return { dim: 8, heads, kvHeads: divisors[g % divisors.length], headDim, kind, seed };
});
const rows = (x: Tensor, from: number, to: number): Tensor => sliceAxis(x, 1, from, to);

describe('MultiQueryAttention gradients', () => {
  it('w.r.t. input and all parameters (MHA/GQA/MQA × rope/alibi/relative/none)', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 1, max: 2 }), fc.integer({ min: 2, max: 4 }), (c, B, T) => {
      const m = attention(c);
      assertModuleVjp(m, (x) => m.forward(x).output, [randn([B, T, c.dim], c.seed)], c.seed);
    }), { numRuns: 16 });
  });

  it('TransformerBlock w.r.t. input and all parameters (rms and layer norm)', () => {
    fc.assert(fc.property(configArb, fc.constantFrom('rms' as const, 'layer' as const), (c, norm) => {
      const block = new TransformerBlock(c.dim, attention(c), { norm, seed: c.seed, dtype: 'float64' });
      const names = block.namedParameters().map(([n]) => n);
      expect(names[0]).toBe('input_layernorm.weight');
      expect(names).toContain('self_attn.q_proj.weight');
      expect(names).toContain('post_attention_layernorm.weight');
      expect(names.at(-1)).toBe('mlp.down_proj.weight');
      assertModuleVjp(block, (x) => block.forward(x).output, [randn([1, 3, c.dim], c.seed)], c.seed);
    }), { numRuns: 8 });
  });
});

describe('grouped-query attention equals multi-head attention with copied kv heads', () => {
  it('same outputs when k_proj/v_proj rows of kv head floor(h / G) are repeated for query head h', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 1, max: 5 }), (c, T) => {
      const gqa = attention(c);
      const mha = attention(c, { kvHeads: c.heads, seed: c.seed + 1 });
      const G = c.heads / c.kvHeads;
      const D = c.headDim;
      const repeat = (w: Tensor): Tensor => {
        const v = nums(w); // (K·D, C)
        const out = Array.from({ length: c.heads }, (_, h) => v.slice(Math.floor(h / G) * D * c.dim, (Math.floor(h / G) + 1) * D * c.dim)).flat();
        return f64(out, [c.heads * D, c.dim]);
      };
      const state = gqa.stateDict();
      mha.loadStateDict(new Map([...state].map(([n, t]) => [n, n === 'k_proj.weight' || n === 'v_proj.weight' ? repeat(t) : t])));
      const x = randn([2, T, c.dim], c.seed + 2);
      const [a, b] = [gqa.forward(x), mha.forward(x)];
      expect(maxDiff(a.output, b.output)).toBeLessThan(1e-12);
      // The cache holds K heads instead of H.
      expect(a.cache.key.shape).toEqual([2, c.kvHeads, T, D]);
      expect(a.cache.key.size * c.heads).toBe(b.cache.key.size * c.kvHeads);
      expect(a.cache.value.size * c.heads).toBe(b.cache.value.size * c.kvHeads);
    }), { numRuns: 30 });
  });

  it('heads not a multiple of kvHeads is an LlmTricksError with the documented message', () => {
    expect(() => new MultiQueryAttention(48, 12, { kvHeads: 5 })).toThrow(LlmTricksError);
    expect(() => new MultiQueryAttention(48, 12, { kvHeads: 5 })).toThrow('MultiQueryAttention: heads (12) must be a multiple of kvHeads (5)');
  });
});

describe('causal mask', () => {
  it('the output at t does not depend on inputs after t', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 2, max: 5 }), fc.nat(), seedArb, (c, T, k, s) => {
      const t = k % T;
      const m = attention(c);
      const x = randn([2, T, c.dim], c.seed);
      const noise = nums(randn([2, T, c.dim], s, 3));
      const changed = f64(nums(x).map((v, i) => (Math.floor(i / c.dim) % T > t ? v + noise[i] : v)), [2, T, c.dim]);
      const [a, b] = [m.forward(x).output, m.forward(changed).output];
      expect(maxDiff(rows(a, 0, t + 1), rows(b, 0, t + 1))).toBe(0);
      if (t < T - 1) expect(maxDiff(rows(a, t + 1, T), rows(b, t + 1, T))).toBeGreaterThan(0);
    }), { numRuns: 30 });
  });

  it('explicit positions other than P..P+T-1 are rejected, since the mask assumes key j sits at position j', () => {
    const m = attention({ dim: 8, heads: 2, kvHeads: 2, headDim: 4, kind: 'none', seed: 1 });
    const x = randn([1, 3, 8], 2);
    expect(() => m.forward(x, { positions: i32([3, 4, 5]) })).toThrow(/^MultiQueryAttention: positions expected 0\.\.2 \(the tokens after a cache of 0\), got \[3,4,5\]$/);
    expect(maxDiff(m.forward(x, { positions: i32([0, 1, 2]) }).output, m.forward(x).output)).toBe(0);
  });
});

describe('KV-cached decoding equals the full pass', () => {
  const decode = (m: MultiQueryAttention, x: Tensor, splits: number[]): { out: Tensor; cache: KvCache } => {
    let cache: KvCache | undefined;
    const outs: Tensor[] = [];
    for (let i = 0; i + 1 < splits.length; i++) {
      const r = m.forward(rows(x, splits[i], splits[i + 1]), { cache });
      outs.push(r.output);
      cache = r.cache;
    }
    return { out: concat(outs, 1), cache: cache! };
  };

  it('token by token (MHA/GQA/MQA × rope/alibi/relative/none)', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 1, max: 5 }), (c, T) => {
      const m = attention(c);
      const x = randn([2, T, c.dim], c.seed);
      const full = m.forward(x);
      const step = decode(m, x, Array.from({ length: T + 1 }, (_, i) => i));
      expect(maxDiff(step.out, full.output)).toBeLessThan(1e-10);
      expect(maxDiff(step.cache.key, full.cache.key)).toBeLessThan(1e-12);
      expect(maxDiff(step.cache.value, full.cache.value)).toBe(0);
    }), { numRuns: 30 });
  });

  it('after a prefill of p tokens, the rest in one call', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 2, max: 5 }), fc.nat(), (c, T, k) => {
      const p = 1 + (k % (T - 1));
      const m = attention(c);
      const x = randn([1, T, c.dim], c.seed);
      expect(maxDiff(decode(m, x, [0, p, T]).out, m.forward(x).output)).toBeLessThan(1e-10);
    }), { numRuns: 20 });
  });
});

describe('the queries as rows (static T) and broadcast per kv head (symbolic T) agree', () => {
  it('with and without a cache, a padding mask or per-row positions (MHA/GQA/MQA × rope/alibi/relative/none)', async () => {
    // Traced with a symbolic T (the broadcast layout) or a literal one (rows, against a symbolic cache length).
    await fc.assert(fc.asyncProperty(configArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom('none', 'mask', 'rows'), fc.boolean(), async (c, T, P, extra, literal) => {
      const m = attention(c);
      const K = c.kvHeads;
      const [x, past] = [randn([2, T, c.dim], c.seed), randn([2, P, c.dim], c.seed + 1)];
      const cache = P ? m.forward(past).cache : undefined;
      const S = P + T;
      // Padding masks out the first key of row 1; per-row positions (rope and none only) shift nothing here.
      const mask = extra === 'mask' ? i32(Array.from({ length: 2 * S }, (_, i) => (i === S ? 0 : 1)), [2, S]) : undefined;
      const perRow = extra === 'rows' && (c.kind === 'rope' || c.kind === 'none') && !P ? i32(Array.from({ length: 2 * T }, (_, i) => i % T), [2, T]) : undefined;
      const want = m.forward(x, { cache, attentionMask: mask, positions: perRow });
      const graph = trace((xs, key, value, positions, attention) => {
        const r = m.forward(xs, { cache: P ? { key, value } : undefined, positions: perRow ? attention : positions, attentionMask: mask ? attention : undefined });
        return [r.output, r.cache.key];
      }, [
        { name: 'x', shape: [2, literal ? T : 'T', c.dim], dtype: 'float64' },
        { name: 'key', shape: [2, K, 'P', c.headDim], dtype: 'float64' },
        { name: 'value', shape: [2, K, 'P', c.headDim], dtype: 'float64' },
        { name: 'positions', shape: [literal ? T : 'T'], dtype: 'int32' },
        { name: 'extra', shape: perRow ? [2, literal ? T : 'T'] : [2, literal ? `P+${T}` : 'P+T'], dtype: 'int32' },
      ]);
      const none = randn([2, K, P, c.headDim], 0);
      const [out, key] = await (await referenceBackend.compile(graph)).run({
        x, key: cache?.key ?? none, value: cache?.value ?? none, positions: i32(Array.from({ length: T }, (_, i) => P + i)), extra: perRow ?? mask ?? i32(Array<number>(2 * S).fill(1), [2, S]),
      });
      expect(maxDiff(out, want.output)).toBeLessThan(1e-12);
      expect(maxDiff(key, want.cache.key)).toBe(0);
    }), { numRuns: 60 });
  });

  it('multi-query attention at a static length transposes only the keys and the weights', () => {
    const transposes = (kvHeads: number): number => {
      const m = new MultiQueryAttention(32, 4, { kvHeads, position: new RotaryEmbedding(8, { maxPositions: 16 }), seed: 1 });
      const graph = trace((x, ...params) => m.withParameters(params, () => m.forward(x).output), [
        { shape: [2, 16, 32] }, ...m.parameters().map((p) => ({ shape: p.value.shape, dtype: p.value.dtype })),
      ]);
      return fromBinary(ModelProtoSchema, lowerGraph(graph).bytes).graph!.node.filter((n) => n.opType === 'Transpose').length;
    };
    // The four projections' weights (x · Wᵀ) and the keys (q · kᵀ).
    expect(transposes(1)).toBe(5);
    // Grouped-query attention also moves its kv heads ahead of the tokens: in queries, keys, values and output.
    expect(transposes(2)).toBe(9);
  });
});
