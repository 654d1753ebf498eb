/**
 * Module basics, on DecoderLM and its parts:
 * - parameterCount() equals the closed form (below) over generated configs
 *   (position kind, norm, tied, H, K, D, F, layers, maxPositions);
 * - parameter names and shapes follow Hugging Face LLaMA
 *   (model.embed_tokens.weight, model.layers.0.self_attn.q_proj.weight, ...,
 *   model.norm.weight, lm_head.weight), listed here independently;
 * - seeded init is deterministic: same seed, same weights; another seed,
 *   different random weights; different layers/projections differ;
 * - stateDict → loadStateDict round trips (Map or record) and reproduces the
 *   logits; a wrong shape or dtype, a missing or an unexpected name throws an
 *   LlmTricksError naming the module and the parameter and changes nothing;
 * - train()/eval() reach every sub-module: in eval mode dropout layers are
 *   the identity even with a rate in the context;
 * - withParameters restores the parameters, also when fn throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecoderLM, Linear, LlmTricksError, tensor, type DecoderLMConfig, type Module, type PositionKind, type Tensor } from '../../src/index.js';
import { f64, i32, maxDiff, nums, randn, seedArb } from './util.js';

const configArb = fc.record({
  vocab: fc.integer({ min: 2, max: 20 }), dim: fc.integer({ min: 2, max: 12 }), layers: fc.integer({ min: 1, max: 3 }),
  heads: fc.constantFrom(1, 2, 3, 4), kv: fc.nat(), headDim: fc.constantFrom(2, 4, 6), hidden: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
  position: fc.constantFrom<PositionKind>('rope', 'alibi', 'learned', 'relative', 'none'), norm: fc.constantFrom('rms' as const, 'layer' as const),
  tiedEmbeddings: fc.boolean(), maxPositions: fc.integer({ min: 1, max: 32 }), seed: seedArb,
}).map(({ kv, ...c }) => {
  const divisors = [1, 2, 3, 4].filter((k) => c.heads % k === 0);
  return { ...c, kvHeads: divisors[kv % divisors.length] };
});
type Config = DecoderLMConfig & { vocab: number; dim: number; layers: number; heads: number; kvHeads: number; headDim: number; position: PositionKind; norm: 'rms' | 'layer'; tiedEmbeddings: boolean; maxPositions: number };

/** The smallest multiple of 8 at or above 8·C/3 (LLaMA's SwiGLU width). */
const defaultHidden = (C: number): number => { let f = 8; while (3 * f < 8 * C) f += 8; return f; };

function expectedCount(c: Config): number {
  const [V, C, H, K, D, L] = [c.vocab, c.dim, c.heads, c.kvHeads, c.headDim, c.layers];
  const F = c.hidden ?? defaultHidden(C);
  const norm = c.norm === 'rms' ? C : 2 * C;
  const perLayer = C * H * D + 2 * C * K * D + H * D * C + 3 * C * F + 2 * norm + (c.position === 'relative' ? 32 * H : 0);
  return V * C + (c.position === 'learned' ? c.maxPositions * C : 0) + L * perLayer + norm + (c.tiedEmbeddings ? 0 : V * C);
}

function expectedNames(c: Config): [string, number[]][] {
  const [V, C, H, K, D] = [c.vocab, c.dim, c.heads, c.kvHeads, c.headDim];
  const F = c.hidden ?? defaultHidden(C);
  const norm = (p: string): [string, number[]][] => (c.norm === 'rms' ? [[`${p}.weight`, [C]]] : [[`${p}.weight`, [C]], [`${p}.bias`, [C]]]);
  const layer = (i: number): [string, number[]][] => {
    const p = `model.layers.${i}`;
    return [
      ...norm(`${p}.input_layernorm`),
      [`${p}.self_attn.q_proj.weight`, [H * D, C]], [`${p}.self_attn.k_proj.weight`, [K * D, C]],
      [`${p}.self_attn.v_proj.weight`, [K * D, C]], [`${p}.self_attn.o_proj.weight`, [C, H * D]],
      ...(c.position === 'relative' ? [[`${p}.self_attn.relative_bias.relative_attention_bias.weight`, [32, H]] as [string, number[]]] : []),
      ...norm(`${p}.post_attention_layernorm`),
      [`${p}.mlp.gate_proj.weight`, [F, C]], [`${p}.mlp.up_proj.weight`, [F, C]], [`${p}.mlp.down_proj.weight`, [C, F]],
    ];
  };
  return [
    ['model.embed_tokens.weight', [V, C]],
    ...(c.position === 'learned' ? [['model.embed_positions.weight', [c.maxPositions, C]] as [string, number[]]] : []),
    ...Array.from({ length: c.layers }, (_, i) => layer(i)).flat(),
    ...norm('model.norm'),
    ...(c.tiedEmbeddings ? [] : [['lm_head.weight', [V, C]] as [string, number[]]]),
  ];
}

describe('parameter counts and names', () => {
  it('parameterCount() equals the closed form', () => {
    fc.assert(fc.property(configArb, (c) => {
      expect(new DecoderLM(c).parameterCount()).toBe(expectedCount(c));
    }), { numRuns: 60 });
  });

  it('names and shapes follow Hugging Face LLaMA, in order', () => {
    fc.assert(fc.property(configArb, (c) => {
      const got = new DecoderLM(c).namedParameters().map(([n, p]): [string, number[]] => [n, p.value.shape as number[]]);
      expect(got).toEqual(expectedNames(c));
    }), { numRuns: 60 });
  });

  it('a worked example: LLaMA-like 2 layers, vocab 32, dim 16, 4 heads, 2 kv heads, hidden 48', () => {
    const m = new DecoderLM({ vocab: 32, dim: 16, layers: 2, heads: 4, kvHeads: 2 });
    // 512 embed + 2 × (256 q + 2·128 kv + 256 o + 3·768 mlp + 32 norms) + 16 norm + 512 head
    expect(m.parameterCount()).toBe(512 + 2 * (256 + 256 + 256 + 2304 + 32) + 16 + 512);
  });
});

const small = (seed: number, extra: Partial<DecoderLMConfig> = {}): DecoderLM =>
  new DecoderLM({ vocab: 6, dim: 8, layers: 2, heads: 2, kvHeads: 1, hidden: 8, position: 'learned', maxPositions: 8, seed, dtype: 'float64', ...extra });
const sameValues = (a: Map<string, Tensor>, b: Map<string, Tensor>): boolean =>
  [...a.keys()].join() === [...b.keys()].join() && [...a].every(([n, t]) => maxDiff(t, b.get(n)!) === 0);

describe('seeded initialisation', () => {
  it('same seed → same weights; another seed → different random weights', () => {
    fc.assert(fc.property(seedArb, seedArb, (s1, s2) => {
      fc.pre(s1 !== s2);
      const [a, a2, b] = [small(s1), small(s1), small(s2)];
      expect(sameValues(a.stateDict(), a2.stateDict())).toBe(true);
      for (const [n, t] of a.stateDict()) {
        const other = b.stateDict().get(n)!;
        if (/norm/.test(n)) expect(maxDiff(t, other)).toBe(0); // constant gains
        else expect(maxDiff(t, other)).toBeGreaterThan(0);
      }
    }), { numRuns: 10 });
  });

  it('layers and projections draw different weights, with std close to 0.02', () => {
    const s = small(3).stateDict();
    expect(maxDiff(s.get('model.layers.0.mlp.gate_proj.weight')!, s.get('model.layers.0.mlp.up_proj.weight')!)).toBeGreaterThan(0);
    expect(maxDiff(s.get('model.layers.0.self_attn.q_proj.weight')!, s.get('model.layers.1.self_attn.q_proj.weight')!)).toBeGreaterThan(0);
    const w = nums(new Linear(64, 64, { seed: 5, dtype: 'float64' }).weight.value);
    const std = Math.sqrt(w.reduce((acc, v) => acc + v * v, 0) / w.length);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.002); // 4096 normal draws: the std's sd is ~0.02/90
  });
});

describe('stateDict and loadStateDict', () => {
  it('round trip as a Map or a record reproduces weights and logits', () => {
    fc.assert(fc.property(seedArb, fc.boolean(), (s, asRecord) => {
      const [a, b] = [small(s), small(s + 1)];
      const state = a.stateDict();
      b.loadStateDict(asRecord ? Object.fromEntries(state) : state);
      expect(sameValues(b.stateDict(), state)).toBe(true);
      const ids = i32([1, 2, 3, 4], [1, 4]);
      expect(maxDiff(b.forward(ids).logits, a.forward(ids).logits)).toBe(0);
    }), { numRuns: 5 });
  });

  const target = 'model.layers.1.mlp.up_proj.weight';
  const cases: [string, (s: Map<string, Tensor>) => void, RegExp][] = [
    ['a wrong shape', (s) => s.set(target, randn([3, 3], 1)), /expected float64\[8, 8\], got float64\[3, 3\]/],
    ['a wrong dtype', (s) => s.set(target, tensor(nums(s.get(target)!), { shape: [8, 8], dtype: 'float32' })), /expected float64\[8, 8\], got float32\[8, 8\]/],
    ['a missing name', (s) => s.delete(target), /got none for/],
    ['an unexpected name', (s) => s.set(target.replace('up_proj', 'upproj'), randn([8, 8], 1)), /unexpected/],
  ];
  for (const [what, corrupt, message] of cases) {
    it(`${what} throws an LlmTricksError naming the module and parameter, and changes nothing`, () => {
      const m = small(1);
      const before = m.stateDict();
      // Every other entry is a valid new tensor, so a partial load would show.
      const state = new Map([...small(2).stateDict()].filter(([n]) => n !== target));
      state.set(target, small(2).stateDict().get(target)!); // last, so a non-atomic loader would have changed the rest first
      corrupt(state);
      let error: unknown;
      try { m.loadStateDict(state); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(LlmTricksError);
      expect((error as Error).message).toMatch(/^DecoderLM\.loadStateDict: /);
      expect((error as Error).message).toContain(what === 'an unexpected name' ? 'upproj' : target);
      expect((error as Error).message).toMatch(message);
      const after = m.stateDict();
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [n, t] of after) expect(t).toBe(before.get(n));
    });
  }

  it('strict: false loads a subset and ignores unknown names', () => {
    const m = small(1);
    const w = f64(new Array(8).fill(2), [8]);
    m.loadStateDict({ 'model.norm.weight': w, 'nope.weight': w }, { strict: false });
    expect(m.finalNorm.weight.value).toBe(w);
  });
});

describe('train/eval and withParameters', () => {
  const modules = (m: DecoderLM): Module[] => [
    m, m.embedTokens, m.embedPositions!, m.embedDropout!, m.finalNorm, m.lmHead!,
    ...m.layers.flatMap((l) => [l, l.inputNorm, l.postNorm, l.mlp, l.attention, l.attention.qProj, l.attention.dropout!, ...l.residualDropout!]),
  ];

  it('eval() and train() reach every sub-module; eval makes dropout the identity', () => {
    const m = small(4, { dropout: true });
    const plain = small(4); // same weights: dropout layers add no parameters
    expect(sameValues(m.stateDict(), plain.stateDict())).toBe(true);
    const ids = i32([1, 2, 3, 4, 5], [1, 5]);
    const ctx = { dropout: 0.5, seed: i32([7], []), step: i32([1], []) };
    expect(modules(m).every((x) => x.training)).toBe(true);
    expect(maxDiff(m.forward(ids, { ctx }).logits, plain.forward(ids).logits)).toBeGreaterThan(0);
    m.eval();
    expect(modules(m).every((x) => !x.training)).toBe(true);
    expect(maxDiff(m.forward(ids, { ctx }).logits, plain.forward(ids).logits)).toBe(0);
    m.train();
    expect(modules(m).every((x) => x.training)).toBe(true);
  });

  it('withParameters swaps values for fn only, restoring them after a throw; a wrong count is an error', () => {
    const l = new Linear(2, 2, { bias: true, dtype: 'float64' });
    const saved = l.parameters().map((p) => p.value);
    const x = f64([1, 2], [2]);
    const y = l.withParameters([f64([1, 0, 0, 1], [2, 2]), f64([5, 5], [2])], () => nums(l.forward(x)));
    expect(y).toEqual([6, 7]);
    expect(() => l.withParameters(saved, () => { throw new Error('boom'); })).toThrow('boom');
    expect(l.parameters().map((p) => p.value)).toEqual(saved);
    expect(() => l.withParameters([saved[0]], () => 0)).toThrow(/Linear\.withParameters: values expected 2 tensors, got 1/);
  });
});
