/**
 * Properties of DecoderLM (tiny: vocab 7, dim 8, hidden 8, 1–2 layers),
 * for each position kind (rope, alibi, learned, relative, none), tied and
 * untied embeddings, rms and layer norm, MHA/GQA/MQA:
 * - gradients of crossEntropy(logits, targets) w.r.t. every parameter
 *   match finite differences (float64; check-vjp atol 1e-7, rtol 1e-6);
 * - causal: logits at t are unchanged (exactly) when tokens after t change;
 * - KV-cached decoding, token by token or after a prefill, gives the full
 *   pass's logits within 1e-10 (float64);
 * - lastLogitsOnly gives (B, 1, V): the full pass's last row, with and
 *   without a cache, with a padding mask, traced with a symbolic T too;
 *   anything but a boolean is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, crossEntropy, DecoderLM, referenceBackend, sliceAxis, Tensor, trace, type KvCache, type PositionKind } from '../../src/index.js';
import { assertModuleVjp, i32, maxDiff, randomParams, seedArb } from './util.js';

const VOCAB = 7;
interface Config { position: PositionKind; tied: boolean; norm: 'rms' | 'layer'; heads: number; kvHeads: number; layers: number; seed: number }
const configArb: fc.Arbitrary<Config> = fc.record({
  position: fc.constantFrom<PositionKind>('rope', 'alibi', 'learned', 'relative', 'none'),
  tied: fc.boolean(), norm: fc.constantFrom('rms' as const, 'layer' as const),
  heads: fc.constantFrom(2, 4), kv: fc.nat(), layers: fc.integer({ min: 1, max: 2 }), seed: seedArb,
}).map(({ kv, ...c }) => ({ ...c, kvHeads: [1, 2, 4].filter((k) => k <= c.heads)[kv % (c.heads === 2 ? 2 : 3)] }));

/** A tiny float64 model with random (not tiny) weights. */
function model(c: Config): DecoderLM {
  const m = new DecoderLM({
    vocab: VOCAB, dim: 8, hidden: 8, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, position: c.position,
    tiedEmbeddings: c.tied, norm: c.norm, maxPositions: 16, seed: c.seed, dtype: 'float64',
  });
  const values = randomParams(m, c.seed);
  m.loadStateDict(new Map(m.namedParameters().map(([n], i) => [n, values[i]])));
  return m;
}
const tokensArb = (n: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: VOCAB - 1 }), { minLength: n, maxLength: n });
const rows = (x: Tensor, from: number, to: number): Tensor => sliceAxis(x, 1, from, to);

describe('DecoderLM gradients through crossEntropy', () => {
  it('w.r.t. every parameter, for each position kind, tied and untied', () => {
    fc.assert(fc.property(configArb, tokensArb(4), (c, toks) => {
      const m = model({ ...c, layers: 1 });
      const ids = i32(toks.slice(0, 3), [1, 3]);
      const targets = i32(toks.slice(1), [1, 3]);
      assertModuleVjp(m, (t) => crossEntropy(m.forward(t).logits, targets), [ids], c.seed);
    }), { numRuns: 12 });
  });

  it('every position kind × tied/untied at least once', () => {
    for (const position of ['rope', 'alibi', 'learned', 'relative', 'none'] as const) {
      for (const tied of [false, true]) {
        const c: Config = { position, tied, norm: 'rms', heads: 2, kvHeads: 1, layers: 1, seed: 7 };
        const m = model(c);
        expect(m.lmHead === null).toBe(tied);
        const targets = i32([1, 2, 3], [1, 3]);
        assertModuleVjp(m, (t) => crossEntropy(m.forward(t).logits, targets), [i32([4, 5, 6], [1, 3])], 7);
      }
    }
  });
});

describe('DecoderLM causal mask', () => {
  it('logits at t do not depend on tokens after t', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 2, max: 5 }).chain((T) => fc.tuple(tokensArb(T), tokensArb(T), fc.integer({ min: 0, max: T - 1 }))), (c, [a, b, t]) => {
      const m = model(c);
      const T = a.length;
      const changed = a.map((v, i) => (i > t ? b[i] : v));
      const [la, lb] = [m.forward(i32(a, [1, T])).logits, m.forward(i32(changed, [1, T])).logits];
      expect(maxDiff(rows(la, 0, t + 1), rows(lb, 0, t + 1))).toBe(0);
    }), { numRuns: 30 });
  });
});

describe('DecoderLM KV-cached decoding equals the full pass', () => {
  const decode = (m: DecoderLM, ids: number[][], splits: number[]): Tensor => {
    let cache: KvCache[] | undefined;
    const outs: Tensor[] = [];
    for (let i = 0; i + 1 < splits.length; i++) {
      const chunk = ids.map((row) => row.slice(splits[i], splits[i + 1]));
      const r = m.forward(i32(chunk.flat(), [ids.length, splits[i + 1] - splits[i]]), { cache });
      outs.push(r.logits);
      cache = r.cache;
      expect(cache.length).toBe(m.layers.length);
      expect(cache[0].key.shape).toEqual([ids.length, m.config.kvHeads, splits[i + 1], m.config.headDim]);
    }
    return concat(outs, 1);
  };

  it('token by token and after a prefill (rope, alibi, learned, relative, none × MHA/GQA/MQA)', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 2, max: 5 }).chain((T) => fc.tuple(tokensArb(T), tokensArb(T))), fc.nat(), (c, [a, b], k) => {
      const m = model(c);
      const T = a.length;
      const ids = [a, b];
      const full = m.forward(i32([...a, ...b], [2, T])).logits;
      expect(maxDiff(decode(m, ids, Array.from({ length: T + 1 }, (_, i) => i)), full)).toBeLessThan(1e-10);
      const p = 1 + (k % (T - 1));
      expect(maxDiff(decode(m, ids, [0, p, T]), full)).toBeLessThan(1e-10);
    }), { numRuns: 25 });
  });
});

describe('DecoderLM lastLogitsOnly', () => {
  it('gives the last row of the full pass, with and without a cache, and at a symbolic T', async () => {
    await fc.assert(fc.asyncProperty(configArb, fc.integer({ min: 2, max: 5 }).chain((T) => fc.tuple(tokensArb(T), tokensArb(T))), fc.nat(), async (c, [a, b], k) => {
      const m = model(c);
      const T = a.length;
      const full = m.forward(i32([...a, ...b], [2, T])).logits;
      const last = m.forward(i32([...a, ...b], [2, T]), { lastLogitsOnly: true }).logits;
      expect(last.shape).toEqual([2, 1, VOCAB]);
      expect(maxDiff(last, rows(full, T - 1, T))).toBe(0);
      // After a cache of p tokens: the rest's last row.
      const p = 1 + (k % (T - 1));
      const { cache } = m.forward(i32([...a.slice(0, p), ...b.slice(0, p)], [2, p]));
      const rest = m.forward(i32([...a.slice(p), ...b.slice(p)], [2, T - p]), { cache, lastLogitsOnly: true }).logits;
      expect(rest.shape).toEqual([2, 1, VOCAB]);
      expect(maxDiff(rest, rows(full, T - 1, T))).toBeLessThan(1e-10);
      // Traced with T symbolic (as the TextGenerator's step is), then run at this T.
      const graph = trace((ids) => m.forward(ids, { lastLogitsOnly: true }).logits, [{ name: 'ids', shape: [2, 'T'], dtype: 'int32' }]);
      expect(graph.outputs[0].shape).toEqual([2, 1, VOCAB]);
      const [out] = await (await referenceBackend.compile(graph)).run([i32([...a, ...b], [2, T])]);
      expect(maxDiff(out as Tensor, rows(full, T - 1, T))).toBe(0);
    }), { numRuns: 15 });
  });

  it('with a padding mask and per-row positions (a left-padded batch), the last row of the full pass', () => {
    const m = model({ position: 'rope', tied: false, norm: 'rms', heads: 4, kvHeads: 2, layers: 2, seed: 3 });
    const ids = i32([0, 1, 2, 3, 4, 5, 6, 1], [2, 4]);
    const call = { attentionMask: i32([0, 1, 1, 1, 1, 1, 1, 1], [2, 4]), positions: i32([0, 0, 1, 2, 0, 1, 2, 3], [2, 4]) };
    const full = m.forward(ids, call).logits;
    const last = m.forward(ids, { ...call, lastLogitsOnly: true }).logits;
    expect(last.shape).toEqual([2, 1, VOCAB]);
    expect(maxDiff(last, rows(full, 3, 4))).toBe(0);
  });

  it('refuses anything but true or false', () => {
    const m = model({ position: 'rope', tied: false, norm: 'rms', heads: 2, kvHeads: 1, layers: 1, seed: 1 });
    for (const [bad, shown] of [[1, '1'], ['yes', '"yes"'], [null, 'null']] as const) {
      expect(() => m.forward(i32([1, 2], [1, 2]), { lastLogitsOnly: bad as never })).toThrow(`DecoderLM: lastLogitsOnly expected true or false, got ${shown}`);
    }
  });
});
