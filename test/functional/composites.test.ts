/**
 * Properties of the functional composites (src/functional):
 * - gradients of softmax (any axis), logSumExp (keepDims or not), logSoftmax,
 *   sigmoid, silu, swiglu, rmsNorm, layerNorm (with/without bias) and
 *   crossEntropy (with ignoreIndex) match five-point finite differences in
 *   float64 (test/helpers/check-vjp.ts: atol 1e-7, rtol 1e-6);
 * - the custom VJPs of softmax, rmsNorm and swiglu give the same gradients
 *   (to 1e-12) as differentiating a plain re-implementation written here with
 *   primitive ops, and keep fewer forward elements for the backward pass
 *   (savedForBackward on a [4, 8] input: softmax 32 vs 68, rmsNorm 40 vs 80,
 *   swiglu 64 vs 160);
 * - crossEntropy equals a direct float64 computation (1e-12), leaves
 *   ignoreIndex positions out of both the sum and the count, and stays
 *   finite and exact for logits around 1e4.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, crossEntropy, div, exp, layerNorm, logSoftmax, logSumExp, max, mean, mul, neg, reciprocal, rmsNorm, savedForBackward,
  sigmoid, silu, softmax, sqrt, stopGradient, sub, sum, swiglu, tensor, trace, type InputSpec, type Tensor,
} from '../../src/index.js';
import { floatTensor, seed, shape } from '../helpers/arbitraries.js';
import { assertVjp, vjpGrads } from '../helpers/check-vjp.js';

const f64 = (v: number): Tensor => tensor(v, { dtype: 'float64' });
const nums = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number>, Number);
const RUNS = { numRuns: 20 };

/** The population variance of each row (last axis) of a rank-2 tensor. */
const rowVariances = (x: Tensor): number[] => {
  const v = nums(x);
  const [n, c] = x.shape as number[];
  return Array.from({ length: n }, (_, r) => {
    const row = v.slice(r * c, (r + 1) * c);
    const m = row.reduce((a, b) => a + b, 0) / c;
    return row.reduce((a, b) => a + (b - m) ** 2, 0) / c;
  });
};

/** A float64 tensor of rank >= 1 together with an axis of it (positive or negative). */
const withAxis = shape({ minRank: 1, maxRank: 3 }).chain((s) =>
  fc.tuple(floatTensor(s), fc.integer({ min: -s.length, max: s.length - 1 }), seed));

describe('gradients of the composites match finite differences (float64)', () => {
  it('softmax along any axis', () => {
    fc.assert(fc.property(withAxis, ([x, axis, s]) => { assertVjp((t) => softmax(t, axis), [x], { seed: s }); }), RUNS);
  });
  it('logSumExp along any axis, with and without keepDims', () => {
    fc.assert(fc.property(withAxis, fc.boolean(), ([x, axis, s], keep) => { assertVjp((t) => logSumExp(t, axis, keep), [x], { seed: s }); }), RUNS);
  });
  it('logSoftmax along any axis', () => {
    fc.assert(fc.property(withAxis, ([x, axis, s]) => { assertVjp((t) => logSoftmax(t, axis), [x], { seed: s }); }), RUNS);
  });
  it('sigmoid and silu', () => {
    fc.assert(fc.property(shape({ maxRank: 3 }).chain((s) => floatTensor(s)), seed, (x, s) => {
      assertVjp(sigmoid, [x], { seed: s });
      assertVjp(silu, [x], { seed: s });
    }), RUNS);
  });
  it('swiglu w.r.t. gate and up', () => {
    fc.assert(fc.property(shape({ maxRank: 3 }).chain((s) => fc.tuple(floatTensor(s), floatTensor(s))), seed, ([g, u], s) => {
      assertVjp(swiglu, [g, u], { seed: s });
    }), RUNS);
  });
  it('rmsNorm w.r.t. x and the gain', () => {
    fc.assert(fc.property(shape({ minRank: 1, maxRank: 3 }).chain((s) => fc.tuple(floatTensor(s, 'awayFromZero'), floatTensor(s.slice(-1)))), seed, ([x, w], s) => {
      assertVjp((a, b) => rmsNorm(a, b), [x, w], { seed: s });
    }), RUNS);
  });
  it('layerNorm w.r.t. x, the gain and the bias (and without a bias)', () => {
    const arb = fc.tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }))
      .chain(([c, n]) => fc.tuple(floatTensor([n, c]), floatTensor([c]), floatTensor([c])));
    fc.assert(fc.property(arb, seed, ([x, w, b], s) => {
      // A row of (nearly) equal values sits where x/sqrt(var + eps) bends by ~1/eps^1.5:
      // five-point differences with steps up to 2e-4 are no reference there.
      fc.pre(rowVariances(x).every((v) => v >= 1e-2));
      assertVjp((a, g, h) => layerNorm(a, g, h), [x, w, b], { seed: s });
      assertVjp((a, g) => layerNorm(a, g, null), [x, w], { seed: s });
    }), RUNS);
  });
  it('crossEntropy w.r.t. the logits, with ignored targets', () => {
    const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 })).chain(([n, v]) => fc.tuple(
      floatTensor([n, v]),
      fc.array(fc.oneof(fc.integer({ min: 0, max: v - 1 }), fc.constant(-1)), { minLength: n, maxLength: n }),
    ));
    fc.assert(fc.property(arb, seed, ([logits, t], s) => {
      fc.pre(t.some((x) => x !== -1)); // all ignored: the mean is NaN
      const targets = tensor(t, { dtype: 'int32' });
      assertVjp((l) => crossEntropy(l, targets, { ignoreIndex: -1 }), [logits], { seed: s });
    }), RUNS);
  });
});

// Plain re-implementations with primitive ops: what autodiff would do without a custom rule.
const plainSoftmax = (x: Tensor): Tensor => {
  const e = exp(sub(x, stopGradient(max(x, -1, { keepDims: true }))));
  return div(e, sum(e, -1, { keepDims: true }));
};
const EPS = 1e-6;
const plainRmsNorm = (x: Tensor, w: Tensor): Tensor =>
  mul(mul(x, reciprocal(sqrt(add(mean(mul(x, x), -1, { keepDims: true }), f64(EPS))))), w);
const plainSwiglu = (g: Tensor, u: Tensor): Tensor => mul(mul(g, reciprocal(add(exp(neg(g)), f64(1)))), u);

function expectSameGrads(a: Tensor[], b: Tensor[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((g, i) => {
    expect(g.shape).toEqual(b[i].shape);
    const [x, y] = [nums(g), nums(b[i])];
    x.forEach((v, k) => expect(Math.abs(v - y[k])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(y[k]))));
  });
}

describe('custom backward rules equal the generic gradient and save less', () => {
  const ct = (s: number[]): fc.Arbitrary<Tensor> => floatTensor(s);
  const arb = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }));

  it('softmax: same gradients as exp / sum', () => {
    fc.assert(fc.property(arb.chain(([n, c]) => fc.tuple(floatTensor([n, c]), ct([n, c]))), ([x, c]) => {
      expectSameGrads(vjpGrads((t) => softmax(t), [x], c), vjpGrads(plainSoftmax, [x], c));
    }), RUNS);
  });
  it('rmsNorm: same gradients (x and gain) as x · rsqrt(mean(x²) + eps) · w', () => {
    fc.assert(fc.property(arb.chain(([n, c]) => fc.tuple(floatTensor([n, c], 'awayFromZero'), floatTensor([c]), ct([n, c]))), ([x, w, c]) => {
      expectSameGrads(vjpGrads((a, b) => rmsNorm(a, b, EPS), [x, w], c), vjpGrads(plainRmsNorm, [x, w], c));
    }), RUNS);
  });
  it('swiglu: same gradients (gate and up) as gate · sigmoid(gate) · up', () => {
    fc.assert(fc.property(arb.chain(([n, c]) => fc.tuple(floatTensor([n, c]), floatTensor([n, c]), ct([n, c]))), ([g, u, c]) => {
      expectSameGrads(vjpGrads(swiglu, [g, u], c), vjpGrads(plainSwiglu, [g, u], c));
    }), RUNS);
  });

  const x: InputSpec = { shape: [4, 8], dtype: 'float64' };
  const w: InputSpec = { shape: [8], dtype: 'float64' };
  const saved = (f: (...xs: Tensor[]) => Tensor, specs: InputSpec[]): number =>
    savedForBackward(trace(f, specs)).elements;
  it('savedForBackward on [4, 8]: softmax keeps 32 elements (y), the generic graph 68', () => {
    expect(saved((t) => softmax(t), [x])).toBe(32);
    expect(saved(plainSoftmax, [x])).toBe(68);
  });
  it('savedForBackward on [4, 8]: rmsNorm keeps 40 elements (x, w), the generic graph 80', () => {
    expect(saved((a, b) => rmsNorm(a, b, EPS), [x, w])).toBe(40);
    expect(saved(plainRmsNorm, [x, w])).toBe(80);
  });
  it('savedForBackward on [4, 8]: swiglu keeps 64 elements (gate, up), the generic graph 160', () => {
    expect(saved(swiglu, [x, x])).toBe(64);
    expect(saved(plainSwiglu, [x, x])).toBe(160);
  });
});

/**
 * PyTorch's cross_entropy written out in float64: per position
 * −Σ_v q_v log p_v with q = (1 − ε) onehot + ε / V, 0 at `ignore`; then the
 * mean over the positions kept (NaN for none), the sum, or the list.
 */
function directCrossEntropy(logits: number[], targets: number[], v: number, ignore: number, eps = 0, reduction: 'mean' | 'sum' | 'none' = 'mean'): number | number[] {
  const per = targets.map((t, i) => {
    if (t === ignore) return 0;
    const row = logits.slice(i * v, (i + 1) * v);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
    return row.reduce((s, z, c) => s - ((c === t ? 1 - eps : 0) + eps / v) * (z - lse), 0);
  });
  const kept = targets.filter((t) => t !== ignore).length;
  const total = per.reduce((a, b) => a + b, 0);
  return reduction === 'none' ? per : reduction === 'sum' ? total : total / kept;
}

describe('crossEntropy', () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }))
    .chain(([b, t, v]) => fc.tuple(
      fc.constant([b, t, v]),
      floatTensor([b, t, v]),
      fc.array(fc.oneof(fc.integer({ min: 0, max: v - 1 }), fc.constant(-100)), { minLength: b * t, maxLength: b * t }),
    ));

  it('equals a direct float64 computation, ignoreIndex (-100 by default) left out of the mean', () => {
    fc.assert(fc.property(arb, ([[b, t, v], logits, tg]) => {
      const got = crossEntropy(logits, tensor(tg, { shape: [b, t], dtype: 'int32' })).item();
      fc.pre(tg.some((x) => x !== -100));
      expect(got).toBeCloseTo(directCrossEntropy(nums(logits), tg, v, -100) as number, 12);
    }), { numRuns: 50 });
  });

  it('ignored positions change neither the loss nor get a gradient, whatever their logits', () => {
    fc.assert(fc.property(arb, fc.double({ min: -50, max: 50, noNaN: true }), ([[b, t, v], logits, tg], shift) => {
      fc.pre(tg.some((x) => x !== -100));
      const targets = tensor(tg, { shape: [b, t], dtype: 'int32' });
      const moved = tensor(nums(logits).map((z, k) => (tg[Math.floor(k / v)] === -100 ? z + shift * (k % 2 ? 1 : -1) : z)), { shape: [b, t, v], dtype: 'float64' });
      expect(crossEntropy(moved, targets).item()).toBeCloseTo(crossEntropy(logits, targets).item(), 12);
      const [g] = vjpGrads((l) => crossEntropy(l, targets), [logits]);
      nums(g).forEach((d, k) => { if (tg[Math.floor(k / v)] === -100) expect(d).toBe(0); });
    }), { numRuns: 30 });
  });

  it('a custom ignoreIndex works; all ignored is NaN under mean (0/0, as PyTorch) and 0 under sum', () => {
    const logits = tensor([[1, 2, 3], [0, 0, 5]], { dtype: 'float64' });
    expect(crossEntropy(logits, tensor([2, 0], { dtype: 'int32' }), { ignoreIndex: 0 }).item())
      .toBeCloseTo(directCrossEntropy([1, 2, 3, 0, 0, 5], [2, 0], 3, 0) as number, 12);
    expect(crossEntropy(logits, tensor([7, 7], { dtype: 'int32' }), { ignoreIndex: 7 }).item()).toBeNaN();
    expect(crossEntropy(logits, tensor([7, 7], { dtype: 'int32' }), { ignoreIndex: 7, reduction: 'sum' }).item()).toBe(0);
  });

  it("labelSmoothing and reduction 'mean' | 'sum' | 'none' equal PyTorch's definition written out", () => {
    fc.assert(fc.property(arb, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('mean', 'sum', 'none' as const), ([[b, t, v], logits, tg], eps, reduction) => {
      fc.pre(reduction !== 'mean' || tg.some((x) => x !== -100));
      const got = crossEntropy(logits, tensor(tg, { shape: [b, t], dtype: 'int32' }), { labelSmoothing: eps, reduction });
      const want = directCrossEntropy(nums(logits), tg, v, -100, eps, reduction);
      if (reduction === 'none') {
        expect(got.shape).toEqual([b, t]);
        nums(got).forEach((x, i) => expect(x).toBeCloseTo((want as number[])[i], 12));
      } else expect(got.item()).toBeCloseTo(want as number, 12);
    }), { numRuns: 60 });
  });

  it('labelSmoothing has the gradient of its definition; ignored rows still get none', () => {
    fc.assert(fc.property(arb, fc.integer(), ([, logits, tg], s) => {
      const targets = tensor(tg, { shape: logits.shape.slice(0, -1) as number[], dtype: 'int32' });
      assertVjp((l) => crossEntropy(l, targets, { labelSmoothing: 0.1, reduction: 'sum' }), [logits], { seed: s });
    }), { numRuns: 15 });
  });

  it.each<[string, object]>([
    ['labelSmoothing 1.5', { labelSmoothing: 1.5 }], ['labelSmoothing -0.1', { labelSmoothing: -0.1 }], ['labelSmoothing NaN', { labelSmoothing: NaN }],
    ['reduction "avg"', { reduction: 'avg' }], ['an unknown option', { smoothing: 0.1 }],
  ])('rejects %s', (_label, options) => {
    const logits = tensor([[1, 2, 3]]);
    expect(() => crossEntropy(logits, tensor([1], { dtype: 'int32' }), options as never)).toThrow(/crossEntropy/);
  });

  it('is finite and exact for logits around 1e4 (float64 and float32)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 3 }), (noise, t) => {
      const raw = noise.map((z, k) => 1e4 + (k % 4) * 3 + z);
      const targets = tensor([t, 3 - t], { dtype: 'int32' });
      const want = directCrossEntropy(raw, [t, 3 - t], 4, -100) as number;
      const l64 = crossEntropy(tensor(raw, { shape: [2, 4], dtype: 'float64' }), targets).item();
      expect(l64).toBeCloseTo(want, 9);
      const l32 = crossEntropy(tensor(raw, { shape: [2, 4], dtype: 'float32' }), targets).item();
      expect(Number.isFinite(l32)).toBe(true);
      const [g] = vjpGrads((l) => crossEntropy(l, targets), [tensor(raw, { shape: [2, 4], dtype: 'float64' })]);
      expect(nums(g).every(Number.isFinite)).toBe(true);
    }), { numRuns: 20 });
  });

  it('softmax and logSumExp do not overflow at 1e4 either', () => {
    const x = tensor([1e4, 1e4 + 1, 1e4 - 2], { dtype: 'float64' });
    const want = 1e4 + 1 + Math.log(Math.exp(-1) + 1 + Math.exp(-3));
    expect(logSumExp(x).item()).toBeCloseTo(want, 9);
    expect(nums(softmax(x)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
  });
});
