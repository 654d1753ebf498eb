/**
 * Properties of the simple layers:
 * - Linear: y = x Wᵀ + b on rank 1/2/3 inputs (1e-12), and its gradients
 *   w.r.t. the input, weight and bias match finite differences (float64,
 *   check-vjp defaults atol 1e-7, rtol 1e-6), with and without bias;
 * - Embedding / LearnedPositionEmbedding: rows gathered by int32 id, gradient
 *   w.r.t. the table (repeated ids accumulate); Embedding.attend = x Eᵀ;
 * - RmsNorm (plain gain and Gemma's 1 + w), LayerNorm (with/without bias)
 *   and SwiGlu: gradients w.r.t. input and parameters;
 * - RmsNorm is invariant to x -> c·x for c in [1e-2, 1e2], up to the
 *   analytic eps effect |eps·(1 − 1/c²)| / (2·mean(x²)) (relative) + 1e-13;
 * - Dropout: identity in eval mode, at rate 0 and without a rate; at rate p
 *   the kept fraction lies within 5 binomial sigmas of 1 − p; in float64 and float32 it rounds p to the nearest
 *   multiple q of 2^-16 (at most 1 − 2^-16), drops exactly where the 16-bit
 *   uniform stream of its salt is below q and scales the rest by exactly
 *   1/(1 − q); the mask is a function of (seed, step); the rate can be
 *   a runtime graph input (one traced graph run at two rates).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Dropout, Embedding, LayerNorm, LearnedPositionEmbedding, Linear, randomUniform, RmsNorm, SwiGlu, sum, tensor, trace, type Tensor,
} from '../../src/index.js';
import { run, vjpGrads } from '../helpers/check-vjp.js';
import { assertModuleVjp, f64, i32, maxDiff, nums, randn, seedArb } from './util.js';

const RUNS = { numRuns: 10 };

describe('Linear', () => {
  const arb = fc.record({
    inF: fc.integer({ min: 1, max: 6 }), outF: fc.integer({ min: 1, max: 6 }), rank: fc.integer({ min: 1, max: 3 }),
    lead: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), bias: fc.boolean(), seed: seedArb,
  });
  const inputShape = (c: { inF: number; rank: number; lead: [number, number] }): number[] => [...c.lead.slice(0, c.rank - 1), c.inF];

  it('computes x Wᵀ + b for rank 1, 2 and 3 inputs', () => {
    fc.assert(fc.property(arb, (c) => {
      const m = new Linear(c.inF, c.outF, { bias: c.bias, dtype: 'float64', seed: c.seed });
      if (c.bias) m.loadStateDict({ weight: m.weight.value, bias: randn([c.outF], c.seed) });
      const x = randn(inputShape(c), c.seed + 1);
      const y = m.forward(x);
      expect(y.shape).toEqual([...inputShape(c).slice(0, -1), c.outF]);
      const [xv, w, b] = [nums(x), nums(m.weight.value), m.bias ? nums(m.bias.value) : null];
      const want = Array.from({ length: xv.length / c.inF }, (_, r) => Array.from({ length: c.outF }, (_, o) =>
        (b ? b[o] : 0) + Array.from({ length: c.inF }, (_, i) => xv[r * c.inF + i] * w[o * c.inF + i]).reduce((s, v) => s + v, 0))).flat();
      expect(maxDiff(y, want)).toBeLessThan(1e-12);
    }), { numRuns: 30 });
  });

  it('gradients w.r.t. input, weight and bias match finite differences (rank 1/2/3, with/without bias)', () => {
    fc.assert(fc.property(arb, (c) => {
      const m = new Linear(c.inF, c.outF, { bias: c.bias, dtype: 'float64', seed: c.seed });
      assertModuleVjp(m, (x) => m.forward(x), [randn(inputShape(c), c.seed)], c.seed);
    }), { numRuns: 20 });
  });
});

describe('Embedding and LearnedPositionEmbedding', () => {
  const arb = fc.record({ count: fc.integer({ min: 1, max: 6 }), dim: fc.integer({ min: 1, max: 5 }), n: fc.integer({ min: 1, max: 6 }), seed: seedArb })
    .chain((c) => fc.tuple(fc.constant(c), fc.array(fc.integer({ min: 0, max: c.count - 1 }), { minLength: c.n, maxLength: c.n })));

  it('forward gathers rows; attend is x Eᵀ', () => {
    fc.assert(fc.property(arb, ([c, ids]) => {
      const m = new Embedding(c.count, c.dim, { dtype: 'float64', seed: c.seed });
      const w = nums(m.weight.value);
      expect(nums(m.forward(i32(ids)))).toEqual(ids.flatMap((id) => w.slice(id * c.dim, (id + 1) * c.dim)));
      const x = randn([2, c.dim], c.seed);
      const want = [0, 1].flatMap((r) => Array.from({ length: c.count }, (_, v) =>
        Array.from({ length: c.dim }, (_, k) => nums(x)[r * c.dim + k] * w[v * c.dim + k]).reduce((s, z) => s + z, 0)));
      expect(maxDiff(m.attend(x), want)).toBeLessThan(1e-12);
    }), { numRuns: 30 });
  });

  it('gradients w.r.t. the table match finite differences (int32 ids, repeats accumulate), also through attend', () => {
    fc.assert(fc.property(arb, ([c, ids]) => {
      const m = new Embedding(c.count, c.dim, { dtype: 'float64', seed: c.seed });
      assertModuleVjp(m, (t) => m.forward(t), [i32(ids)], c.seed);
      assertModuleVjp(m, (x) => m.attend(x), [randn([2, c.dim], c.seed)], c.seed);
      const p = new LearnedPositionEmbedding(c.count, c.dim, { dtype: 'float64', seed: c.seed });
      assertModuleVjp(p, (t) => p.forward(t), [i32(ids, [1, c.n])], c.seed);
    }), RUNS);
  });

  it('an id repeated k times gets k times the cotangent', () => {
    const m = new Embedding(3, 2, { dtype: 'float64' });
    const [gw] = vjpGrads((t, w) => m.withParameters([w], () => sum(m.forward(t))), [i32([1, 1, 1, 2]), m.weight.value]);
    expect(nums(gw)).toEqual([0, 0, 3, 3, 1, 1]);
  });
});

describe('RmsNorm, LayerNorm and SwiGlu gradients', () => {
  const arb = fc.record({ dim: fc.integer({ min: 2, max: 6 }), n: fc.integer({ min: 1, max: 3 }), seed: seedArb });
  it('RmsNorm, both gain forms (w and 1 + w), w.r.t. input and gain', () => {
    fc.assert(fc.property(arb, fc.boolean(), (c, unitOffset) => {
      const m = new RmsNorm(c.dim, { unitOffset, dtype: 'float64' });
      expect(nums(m.weight.value)).toEqual(new Array(c.dim).fill(unitOffset ? 0 : 1));
      assertModuleVjp(m, (x) => m.forward(x), [randn([c.n, c.dim], c.seed)], c.seed);
    }), RUNS);
  });
  it('the two gain forms agree when w_offset = w_plain − 1', () => {
    const [plain, offset] = [new RmsNorm(4, { dtype: 'float64' }), new RmsNorm(4, { unitOffset: true, dtype: 'float64' })];
    plain.loadStateDict({ weight: f64([0.5, 2, -1, 1.5], [4]) });
    offset.loadStateDict({ weight: f64([-0.5, 1, -2, 0.5], [4]) });
    const x = randn([3, 4], 9);
    expect(maxDiff(plain.forward(x), offset.forward(x))).toBeLessThan(1e-15);
  });
  it('LayerNorm with and without bias, w.r.t. input, gain and bias', () => {
    fc.assert(fc.property(arb, fc.boolean(), (c, bias) => {
      const m = new LayerNorm(c.dim, { bias, dtype: 'float64' });
      expect(m.parameters().length).toBe(bias ? 2 : 1);
      assertModuleVjp(m, (x) => m.forward(x), [randn([c.n, c.dim], c.seed)], c.seed);
    }), RUNS);
  });
  it('SwiGlu w.r.t. input and gate/up/down weights', () => {
    fc.assert(fc.property(arb, fc.integer({ min: 1, max: 6 }), (c, hidden) => {
      const m = new SwiGlu(c.dim, { hidden, dtype: 'float64', seed: c.seed });
      expect(m.namedParameters().map(([n]) => n)).toEqual(['gate_proj.weight', 'up_proj.weight', 'down_proj.weight']);
      assertModuleVjp(m, (x) => m.forward(x), [randn([c.n, c.dim], c.seed)], c.seed, 1);
    }), RUNS);
  });
});

describe('RmsNorm is invariant to positive scaling of its input', () => {
  it('y(c·x) = y(x) up to the eps effect, c in [1e-2, 1e2]', () => {
    const arb = fc.record({
      dim: fc.integer({ min: 1, max: 8 }), rows: fc.integer({ min: 1, max: 3 }), seed: seedArb,
      logC: fc.double({ min: -2, max: 2, noNaN: true }), eps: fc.constantFrom(1e-12, 1e-6),
    });
    fc.assert(fc.property(arb, (c) => {
      const scale = 10 ** c.logC;
      const m = new RmsNorm(c.dim, { eps: c.eps, dtype: 'float64' });
      m.loadStateDict({ weight: randn([c.dim], c.seed + 1, 2) });
      const x = randn([c.rows, c.dim], c.seed);
      const xs = nums(x);
      const [y, yc] = [nums(m.forward(x)), nums(m.forward(f64(xs.map((v) => v * scale), [c.rows, c.dim])))];
      for (let r = 0; r < c.rows; r++) {
        const ms = xs.slice(r * c.dim, (r + 1) * c.dim).reduce((s, v) => s + v * v, 0) / c.dim;
        // y(cx) = x / sqrt(ms + eps/c²) vs x / sqrt(ms + eps): relative gap <= |eps − eps/c²| / (2 ms).
        const rel = Math.abs(c.eps - c.eps / scale ** 2) / (2 * ms) + 1e-13;
        for (let k = r * c.dim; k < (r + 1) * c.dim; k++) expect(Math.abs(yc[k] - y[k])).toBeLessThanOrEqual(rel * Math.abs(y[k]) + 1e-15);
      }
    }), { numRuns: 100 });
  });
});

describe('Dropout', () => {
  const ctx = (p: number | Tensor, seed = 1, step = 1): { dropout: number | Tensor; seed: Tensor; step: Tensor } =>
    ({ dropout: p, seed: i32([seed], []), step: i32([step], []) });
  const x = randn([40, 50], 3);

  it('is the identity in eval mode, at rate 0 and without a rate', () => {
    const d = new Dropout({ seed: 2 });
    expect(d.forward(x, ctx(0))).toBe(x);
    expect(d.forward(x)).toBe(x);
    expect(d.forward(x, {})).toBe(x);
    expect(d.eval().forward(x, ctx(0.5))).toBe(x);
    expect(d.train().forward(x, ctx(0.5))).not.toBe(x);
  });

  it('keeps a fraction within 5 binomial sigmas of 1 − p and scales kept values by 1/(1 − q), q = p to the nearest 2^-16', () => {
    fc.assert(fc.property(fc.double({ min: 0.02, max: 0.95, noNaN: true }), seedArb, fc.integer({ min: 1, max: 1000 }), (p, seed, step) => {
      const y = nums(new Dropout({ seed }).forward(x, ctx(p, seed, step)));
      const xs = nums(x);
      const n = xs.length;
      const kept = y.filter((v) => v !== 0).length;
      expect(Math.abs(kept / n - (1 - p))).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n));
      const q = Math.round(p * 2 ** 16) / 2 ** 16;
      const worst = y.reduce((m, v, k) => (v === 0 ? m : Math.max(m, Math.abs(v - xs[k] / (1 - q)) / Math.abs(v))), 0);
      expect(worst).toBeLessThanOrEqual(1e-15);
    }), { numRuns: 20 });
  });

  it('rounds the rate to the nearest multiple of 2^-16, drops exactly where the 16-bit stream is below it, and scales by its complement', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const d = new Dropout({ seed: 6 });
      const xs = dtype === 'float64' ? x : tensor(nums(x), { shape: x.shape as number[], dtype });
      const u = nums(randomUniform(i32([3], []), i32([9], []), x.shape, { salt: d.salt, bits: 16 }));
      const k0 = u[0] * 2 ** 16; // element 0's number, in steps of 2^-16
      // [rate, the multiple of 2^-16 it rounds to]: element 0 is kept at the first two, dropped at the third.
      const rates: [number, number][] = [[(k0 + 0.4) / 2 ** 16, k0 / 2 ** 16], [k0 / 2 ** 16, k0 / 2 ** 16], [(k0 + 0.6) / 2 ** 16, (k0 + 1) / 2 ** 16], [0.1, 6554 / 2 ** 16], [3 * 2 ** -18, 2 ** -16], [0.9999999, 1 - 2 ** -16]];
      for (const [p, q] of rates) {
        const y = nums(d.forward(xs, ctx(p, 3, 9)));
        const round = dtype === 'float32' ? Math.fround : (v: number) => v;
        const scale = round(1 / round(1 - q));
        y.forEach((v, k) => {
          expect(v === 0, `${dtype} element ${k} at rate ${p}`).toBe(u[k] < q);
          if (u[k] >= q) expect(v, `${dtype} element ${k} at rate ${p}`).toBe(round(nums(xs)[k] * scale));
        });
      }
    }
  });

  it('multiplies by its mask: a NaN or infinity stays NaN even where its element is dropped', () => {
    const bad = tensor(Array.from({ length: 200 }, (_, i) => [NaN, Infinity, -Infinity][i % 3]), { dtype: 'float64' });
    const y = nums(new Dropout({ seed: 4 }).forward(bad, ctx(0.5, 2, 3)));
    y.forEach((v, i) => expect(v, `element ${i}`).toSatisfy((u: number) => Number.isNaN(u) || u === [NaN, Infinity, -Infinity][i % 3]));
    // About half are dropped (0 · ±Infinity is NaN), the rest keep their value scaled by 2.
    expect(y.filter((v) => Number.isNaN(v)).length).toBeGreaterThan(100);
  });

  it('the mask is a function of (seed, step): same → same, new step or new seed → different', () => {
    const d = new Dropout({ seed: 5 });
    const mask = (seed: number, step: number): string => nums(d.forward(x, ctx(0.5, seed, step))).map((v) => (v ? 1 : 0)).join('');
    expect(mask(3, 7)).toBe(mask(3, 7));
    expect(mask(3, 7)).not.toBe(mask(3, 8));
    expect(mask(3, 7)).not.toBe(mask(4, 7));
    // Separate layers (different salts) draw different masks from the same context.
    expect(nums(new Dropout({ seed: 6 }).forward(x, ctx(0.5, 3, 7))).map((v) => (v ? 1 : 0)).join('')).not.toBe(mask(3, 7));
  });

  it('refuses a seed or step that is not a tensor, naming the layer', () => {
    const d = new Dropout({ seed: 12 });
    expect(() => d.forward(x, { dropout: 0.5, seed: 3 as never, step: i32([1], []) })).toThrow(/^Dropout: context expected seed and step as int32 scalar tensors, got number 3 and Tensor/);
  });

  it('takes the rate as a runtime graph input: one graph, two rates, no retracing', () => {
    const d = new Dropout({ seed: 11 });
    let traces = 0;
    const graph = trace((input, rate, seed, step) => { traces++; return d.forward(input, { dropout: rate, seed, step }); },
      [{ shape: [40, 50], dtype: 'float64' }, { shape: [], dtype: 'float64' }, { shape: [], dtype: 'int32' }, { shape: [], dtype: 'int32' }]);
    const at = (p: number): number[] => nums(run(graph, [x, tensor(p, { dtype: 'float64' }), i32([4], []), i32([9], [])])[0]);
    const [y0, y1, y2] = [at(0), at(0.1), at(0.6)];
    expect(traces).toBe(1);
    expect(y0).toEqual(nums(x)); // rate 0: every u >= 0, nothing dropped, divided by 1
    const n = y1.length;
    for (const [y, p] of [[y1, 0.1], [y2, 0.6]] as const) {
      expect(Math.abs(y.filter((v) => v !== 0).length / n - (1 - p))).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n));
    }
    // The eager layer with the same seed, step and rate draws the same mask as the graph.
    expect(maxDiff(y2, nums(d.forward(x, ctx(0.6, 4, 9))))).toBe(0);
  });
});
