/**
 * Global-norm gradient clipping (src/optim/clip-grad.ts), PyTorch's clip_grad_norm_.
 *
 * Proves, over random float32 and float64 gradient lists:
 * - the returned value is the pre-clip global L2 norm (float64, within 4 ulps);
 * - clipping never increases the global norm nor any single |g|, and the
 *   result's norm is <= maxNorm (1 + 1e-6): float32 rounds each scaled element
 *   by up to 2^-24 relative, so the norm may land a hair above;
 * - the direction is kept: every element is the original times one common
 *   factor, within one float32 rounding (2^-23 relative + 2^-149 for subnormals);
 * - gradients with norm <= 0.999 maxNorm are left bit-for-bit untouched
 *   (unlike PyTorch, which also shrinks a norm within 1e-6 below maxNorm);
 * - clipGradNormGraph traced and run on referenceBackend agrees with the
 *   standalone form: norm and clipped grads within 1e-6 relative (float32 sums
 *   vs float64 ones; plus 1e-18 absolute on the norm, where float32 squares of
 *   values below ~1e-19 underflow), and small gradients come back bit-identical;
 * - bad maxNorm / grads raise LlmTricksError naming the function, with
 *   "expected" and "got", and scale nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clipGradNorm, clipGradNormGraph, LlmTricksError, referenceBackend, tensor, trace, type Floats } from '../../src/index.js';
import { same } from '../helpers/optim.js';

const norm = (gs: readonly Floats[]): number => Math.sqrt(gs.flatMap((g) => Array.from(g)).reduce((a, x) => a + x * x, 0));

/** A list of 1-4 gradients of 0-8 elements, float32 or float64, with magnitudes up to 1e3. */
const gradList = fc.tuple(fc.boolean(), fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { maxLength: 8 }), { minLength: 1, maxLength: 4 }))
  .map(([f32, lists]) => lists.map((l) => (f32 ? Float32Array.from(l) : Float64Array.from(l))) as Floats[]);
const maxNorm = fc.double({ min: 1e-3, max: 1e3, noNaN: true });

function expectLlmError(fn: () => unknown, where: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected a throw').toBeInstanceOf(LlmTricksError);
  expect((err as Error).message).toMatch(new RegExp(`^${where}: .*expected.*got`));
}

describe('clipGradNorm', () => {
  it('returns the pre-clip norm, never increases the norm or any element, and ends at most at maxNorm', () => {
    fc.assert(fc.property(gradList, maxNorm, (grads, max) => {
      const before = grads.map((g) => g.slice());
      const n0 = norm(grads);
      expect(Math.abs(clipGradNorm(grads, max) - n0)).toBeLessThanOrEqual(4 * Number.EPSILON * n0);
      const n1 = norm(grads);
      expect(n1).toBeLessThanOrEqual(n0);
      expect(n1).toBeLessThanOrEqual(max * (1 + 1e-6));
      grads.forEach((g, i) => g.forEach((x, j) => expect(Math.abs(x)).toBeLessThanOrEqual(Math.abs(before[i][j]))));
      if (n0 > max) expect(n1).toBeGreaterThanOrEqual(max * (1 - 1e-5) * n0 / (n0 + 1e-6));
    }), { numRuns: 300 });
  });

  it('keeps the direction: one common factor for every element', () => {
    fc.assert(fc.property(gradList, maxNorm, (grads, max) => {
      const before = grads.map((g) => g.slice());
      const n0 = norm(grads);
      clipGradNorm(grads, max);
      const coef = Math.min(1, max / (n0 + 1e-6));
      grads.forEach((g, i) => g.forEach((x, j) => {
        const want = before[i][j] * coef;
        expect(Math.abs(x - want)).toBeLessThanOrEqual(2 ** -23 * Math.abs(want) + 2 ** -149);
      }));
    }), { numRuns: 200 });
  });

  it('leaves gradients with norm <= 0.999 maxNorm bit-for-bit untouched', () => {
    fc.assert(fc.property(gradList, maxNorm, fc.double({ min: 0, max: 0.999, noNaN: true }), (grads, max, ratio) => {
      const n = norm(grads);
      const small = n === 0 ? grads : grads.map((g) => g.map((x) => (x / n) * max * ratio));
      const before = small.map((g) => g.slice());
      fc.pre(norm(small) <= 0.999 * max);
      clipGradNorm(small, max);
      small.forEach((g, i) => expect(same(g, before[i])).toBe(true));
    }), { numRuns: 200 });
  });

  it('unlike PyTorch, leaves a norm within 1e-6 below maxNorm untouched', () => {
    const g = [Float64Array.from([0.9999995])];
    expect(clipGradNorm(g, 1)).toBe(0.9999995);
    expect(g[0][0]).toBe(0.9999995);
  });

  it('handles zero and empty gradients', () => {
    const g = [new Float32Array(3), new Float64Array(0)];
    expect(clipGradNorm(g, 1)).toBe(0);
    expect(clipGradNorm([], 1)).toBe(0);
    expect(Array.from(g[0])).toEqual([0, 0, 0]);
  });

  it.each([[0], [-1], [NaN], [Infinity], ['1']])('rejects maxNorm %j, scaling nothing', (bad) => {
    const g = [Float32Array.from([30, 40])];
    expectLlmError(() => clipGradNorm(g, bad as number), 'clipGradNorm');
    expect(Array.from(g[0])).toEqual([30, 40]);
  });

  it.each([
    ['not an array', (g: Float32Array) => g], ['a plain array element', (g: Float32Array) => [g, [3, 4]]],
    ['an Int32Array element', (g: Float32Array) => [g, new Int32Array(2)]],
  ])('rejects grads that are %s, scaling nothing', (_name, make) => {
    const g = Float32Array.from([30, 40]);
    expectLlmError(() => clipGradNorm(make(g) as never, 1), 'clipGradNorm');
    expect(Array.from(g)).toEqual([30, 40]);
  });
});

describe('clipGradNormGraph', () => {
  it('agrees with clipGradNorm on referenceBackend; small gradients come back bit-identical', async () => {
    const sizes = [5, 3];
    const graph = trace((a, b) => {
      const { grads, norm: n } = clipGradNormGraph([a, b], 2.5);
      return [...grads, n];
    }, sizes.map((n) => ({ shape: [n] })));
    const exe = await referenceBackend.compile(graph);
    const vec = (n: number): fc.Arbitrary<Float32Array> => fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));
    await fc.assert(fc.asyncProperty(vec(sizes[0]), vec(sizes[1]), fc.double({ min: 0, max: 3, noNaN: true }), async (a0, b0, ratio) => {
      const n = norm([a0, b0]);
      const [a, b] = n === 0 ? [a0, b0] : [a0, b0].map((g) => g.map((x) => (x / n) * 2.5 * ratio));
      const [ga, gb, gn] = await exe.run([tensor(a), tensor(b)]);
      const standalone = [a.slice(), b.slice()];
      const n0 = clipGradNorm(standalone, 2.5);
      expect(Math.abs(gn.item() - n0)).toBeLessThanOrEqual(1e-6 * n0 + 1e-18);
      [ga, gb].forEach((t, i) => {
        const got = t.data() as Float32Array;
        if (n0 <= 0.999 * 2.5) expect(same(got, [a, b][i])).toBe(true);
        got.forEach((x, j) => expect(Math.abs(x - standalone[i][j])).toBeLessThanOrEqual(1e-6 * Math.abs(standalone[i][j]) + 1e-12));
      });
    }), { numRuns: 60 });
  });

  it.each([[[], 1], ['x', 1], [null, 0], [null, NaN]])('rejects grads %j / maxNorm %j', (grads, max) => {
    expectLlmError(() => clipGradNormGraph((grads ?? [tensor([1, 2])]) as never, max), 'clipGradNormGraph');
  });
});
