/**
 * Properties of RotaryEmbedding and ropeFrequencies, for both layouts
 * ('half', 'interleaved'), full and partial rotaryDim, and every scaling
 * type (none, linear, ntk, dynamic, yarn, llama3):
 * - the score rot(q, m)·rot(k, n) depends only on m − n (rel. 1e-10);
 * - each rotated pair keeps its norm (times YaRN's attention factor, which
 *   multiplies cos and sin), dims past rotaryDim pass through unchanged;
 * - rotating a slice at positions [p..T) equals rows p..T of the full
 *   rotation exactly (offset decoding reads the same table rows);
 * - linear scaling by f at position f·m equals no scaling at m (1e-12);
 * - ropeFrequencies: llama3 and yarn keep the highest frequency, divide the
 *   lowest by the factor, and blend in between (closed forms for R = 8,
 *   base 1e4, original length 1000); every scaled frequency lies in
 *   [f/factor, f]; dynamic NTK at a length within the original is unscaled;
 * - gradients w.r.t. the input match finite differences (float64);
 * - dynamic NTK follows the length used, max position + 1, the same in an
 *   eager call and in a graph compiled on ONNX Runtime with the positions
 *   as an input (it used the maxPositions table there), equal to the
 *   rotation by ropeFrequencies at that length (float32: 2e-5).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ropeFrequencies, RotaryEmbedding, sliceAxis, tensor, trace, type RopeScaling } from '../../src/index.js';
import { ortNode } from '../../src/node.js';
import { assertVjp } from '../helpers/check-vjp.js';
import { f64, i32, maxDiff, nums, randn, seedArb } from './util.js';

const MAXPOS = 64;
const scalingArb: fc.Arbitrary<RopeScaling | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ type: fc.constant('linear' as const), factor: fc.double({ min: 1, max: 8, noNaN: true }) }),
  fc.record({ type: fc.constant('ntk' as const), factor: fc.double({ min: 1, max: 8, noNaN: true }) }),
  fc.record({ type: fc.constant('dynamic' as const), factor: fc.double({ min: 1, max: 8, noNaN: true }), originalMaxPositions: fc.integer({ min: 8, max: 128 }) }),
  fc.record({ type: fc.constant('yarn' as const), factor: fc.double({ min: 1, max: 8, noNaN: true }), originalMaxPositions: fc.integer({ min: 8, max: 128 }) }),
  fc.record({ type: fc.constant('llama3' as const), factor: fc.double({ min: 1, max: 8, noNaN: true }), originalMaxPositions: fc.integer({ min: 8, max: 128 }) }),
);
/** headDim D (2..8), an even rotaryDim R <= D, layout and scaling. */
const configArb = fc.integer({ min: 1, max: 4 }).chain((half) => fc.record({
  D: fc.integer({ min: 2 * half, max: 8 }),
  R: fc.constant(2 * half),
  layout: fc.constantFrom('half' as const, 'interleaved' as const),
  scaling: scalingArb,
  base: fc.constantFrom(10000, 500, 1e6),
  seed: seedArb,
}));
type Config = { D: number; R: number; layout: 'half' | 'interleaved'; scaling: RopeScaling | undefined; base: number; seed: number };
const rotary = (c: Config): RotaryEmbedding => new RotaryEmbedding(c.D, { rotaryDim: c.R, layout: c.layout, scaling: c.scaling, base: c.base, maxPositions: MAXPOS });
const attentionFactor = (s: RopeScaling | undefined): number => (s?.type === 'yarn' ? 0.1 * Math.log(s.factor) + 1 : 1);
/**
 * Rotates one vector v (D) at position p. A second row at MAXPOS − 1 pins the
 * table length, so dynamic NTK (whose frequencies follow the length used)
 * rotates every call with the same table; other scalings ignore it.
 */
const at = (rot: RotaryEmbedding, v: number[], p: number): number[] =>
  nums(rot.forward(f64([...v, ...v], [2, v.length]), i32([p, MAXPOS - 1]))).slice(0, v.length);
const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);
/** Index pairs rotated together: (i, i + R/2) for 'half', (2i, 2i + 1) for 'interleaved'. */
const pairs = (R: number, layout: string): [number, number][] =>
  Array.from({ length: R / 2 }, (_, i) => (layout === 'half' ? [i, i + R / 2] : [2 * i, 2 * i + 1]));

describe('RotaryEmbedding', () => {
  it('q(m)·k(n) depends only on m − n', () => {
    const pos = fc.integer({ min: 0, max: MAXPOS / 2 - 1 });
    fc.assert(fc.property(configArb, pos, pos, fc.integer({ min: 0, max: MAXPOS / 2 }), (c, m, n, shift) => {
      const rot = rotary(c);
      const [q, k] = [nums(randn([c.D], c.seed)), nums(randn([c.D], c.seed + 1))];
      const s1 = dot(at(rot, q, m), at(rot, k, n));
      const s2 = dot(at(rot, q, m + shift), at(rot, k, n + shift));
      expect(Math.abs(s1 - s2)).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(s1)));
    }), { numRuns: 60 });
  });

  it('preserves the norm of every rotated pair (× the YaRN attention factor) and passes the rest through', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 0, max: MAXPOS - 1 }), (c, p) => {
      const rot = rotary(c);
      const v = nums(randn([c.D], c.seed));
      const y = at(rot, v, p);
      const scale = attentionFactor(c.scaling);
      for (const [i, j] of pairs(c.R, c.layout)) {
        expect(Math.hypot(y[i], y[j])).toBeCloseTo(scale * Math.hypot(v[i], v[j]), 12);
      }
      expect(y.slice(c.R)).toEqual(v.slice(c.R));
      if (scale === 1) expect(Math.hypot(...y)).toBeCloseTo(Math.hypot(...v), 12);
    }), { numRuns: 60 });
  });

  it('position 0 is the identity (× the attention factor)', () => {
    fc.assert(fc.property(configArb, (c) => {
      const v = nums(randn([c.D], c.seed));
      const scale = attentionFactor(c.scaling);
      expect(maxDiff(at(rotary(c), v, 0), v.map((x, i) => (i < c.R ? scale * x : x)))).toBeLessThan(1e-15);
    }), { numRuns: 20 });
  });

  it('offset decoding: a slice at positions [p..T) equals the same rows of the full rotation', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 1, max: 6 }), fc.nat(), (c, T, k) => {
      const p = k % T;
      const rot = rotary(c);
      const x = randn([2, T, c.D], c.seed); // (heads, T, D)
      const full = rot.forward(x);
      const part = rot.forward(sliceAxis(x, 1, p, T), i32(Array.from({ length: T - p }, (_, i) => p + i)));
      expect(maxDiff(part, sliceAxis(full, 1, p, T))).toBe(0);
    }), { numRuns: 40 });
  });

  it('linear scaling by f at position f·m equals no scaling at m', () => {
    fc.assert(fc.property(configArb, fc.constantFrom(2, 4, 3, 1.5), fc.integer({ min: 0, max: 10 }), (c, f, m) => {
      if (!Number.isInteger(f * m)) return;
      const plain = rotary({ ...c, scaling: undefined });
      const scaled = rotary({ ...c, scaling: { type: 'linear', factor: f } });
      const v = nums(randn([c.D], c.seed));
      expect(maxDiff(at(scaled, v, f * m), at(plain, v, m))).toBeLessThan(1e-12);
    }), { numRuns: 40 });
  });

  it('float32, eager and on ONNX Runtime: each pair is exactly (a cos − b sin, b cos + a sin)', async () => {
    // cos and sin read from the rotation of unit vectors, then the pairwise formula in float32 arithmetic:
    // the rotation (a product with a signed permutation) must round exactly as the formula does.
    const f = Math.fround;
    for (const layout of ['half', 'interleaved'] as const) {
      const D = 8;
      const T = 5;
      const rot = new RotaryEmbedding(D, { layout, rotaryDim: 6, maxPositions: 16 });
      const x = tensor(Float32Array.from(nums(randn([2, T, D], 3))), { shape: [2, T, D] });
      const unit = (i: number): number[] => nums(rot.forward(tensor(Float32Array.from({ length: T * D }, (_, k) => (k % D === i ? 1 : 0)), { shape: [T, D] })));
      const want = nums(x).slice();
      for (const [i, j] of pairs(6, layout)) {
        const e = unit(i); // row t: cos at i, sin at j
        for (let h = 0; h < 2; h++) {
          for (let t = 0; t < T; t++) {
            const [c, s] = [e[t * D + i], e[t * D + j]];
            const [a, b] = [want[(h * T + t) * D + i], want[(h * T + t) * D + j]];
            want[(h * T + t) * D + i] = f(f(a * c) - f(b * s));
            want[(h * T + t) * D + j] = f(f(b * c) + f(a * s));
          }
        }
      }
      expect(nums(rot.forward(x))).toEqual(want);
      const exe = await ortNode.compile(trace((v) => rot.forward(v), [{ shape: [2, T, D], dtype: 'float32' }]));
      expect(nums((await exe.run([x]))[0])).toEqual(want);
      await exe.dispose();
    }
  });

  it('gradients w.r.t. the input match finite differences (both layouts, partial rotaryDim, scalings)', () => {
    fc.assert(fc.property(configArb, fc.integer({ min: 1, max: 4 }), (c, T) => {
      const rot = rotary(c);
      const positions = i32(Array.from({ length: T }, (_, i) => (c.seed + 5 * i) % MAXPOS));
      assertVjp((x) => rot.forward(x, positions), [randn([2, T, c.D], c.seed)], { seed: c.seed });
    }), { numRuns: 20 });
  });
});

describe('ropeFrequencies', () => {
  // R = 8, base 1e4: unscaled inverse frequencies 10^-i, wavelengths 2π·10^i.
  const f0 = [1, 0.1, 0.01, 0.001];
  const close = (got: Float64Array, want: number[]): void => {
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 15));
  };

  it('unscaled: base^(−2i/R)', () => close(ropeFrequencies(8, 1e4), f0));

  it('llama3 (factor 8, original 1000, low 1, high 4): high kept, lowest / factor, middle blended', () => {
    const factor = 8;
    // wavelengths 6.28 and 62.8 < 1000/4 keep; 6283 > 1000/1 is divided; 628 is in the band:
    const smooth = (1000 / (2 * Math.PI * 100) - 1) / (4 - 1);
    close(ropeFrequencies(8, 1e4, { type: 'llama3', factor, originalMaxPositions: 1000 }),
      [1, 0.1, (1 - smooth) * (0.01 / factor) + smooth * 0.01, 0.001 / factor]);
  });

  it('yarn (factor 4, original 1000, betaFast 32, betaSlow 1): ramp over dims 0..3', () => {
    const factor = 4;
    // correction dims: 8·ln(1000/(2π·32))/(2 ln 1e4) = 0.70 -> low 0; 8·ln(1000/2π)/(2 ln 1e4) = 2.20 -> high 3.
    const blend = (f: number, r: number): number => (f / factor) * r + f * (1 - r);
    close(ropeFrequencies(8, 1e4, { type: 'yarn', factor, originalMaxPositions: 1000 }),
      [1, blend(0.1, 1 / 3), blend(0.01, 2 / 3), 0.001 / factor]);
  });

  it('ntk: base · factor^(R/(R−2)); dynamic: unscaled up to the original length, ntk-like past it', () => {
    const b = 1e4 * 2 ** (8 / 6);
    close(ropeFrequencies(8, 1e4, { type: 'ntk', factor: 2 }), [0, 1, 2, 3].map((i) => b ** (-i / 4)));
    const dyn = { type: 'dynamic' as const, factor: 2, originalMaxPositions: 100 };
    close(ropeFrequencies(8, 1e4, dyn, 50), f0);
    close(ropeFrequencies(8, 1e4, dyn, 100), f0);
    const b2 = 1e4 * (2 * 200 / 100 - 1) ** (8 / 6);
    close(ropeFrequencies(8, 1e4, dyn, 200), [0, 1, 2, 3].map((i) => b2 ** (-i / 4)));
  });

  it('llama3 and yarn frequencies lie in [f/factor, f], keep the order, and the lowest is divided when its wavelength exceeds the original length', () => {
    const arb = fc.record({
      half: fc.integer({ min: 2, max: 32 }), base: fc.double({ min: 100, max: 1e6, noNaN: true }),
      factor: fc.double({ min: 1, max: 64, noNaN: true }), orig: fc.integer({ min: 16, max: 8192 }), type: fc.constantFrom('llama3' as const, 'yarn' as const),
    });
    fc.assert(fc.property(arb, (c) => {
      const R = 2 * c.half;
      const plain = ropeFrequencies(R, c.base);
      const got = ropeFrequencies(R, c.base, { type: c.type, factor: c.factor, originalMaxPositions: c.orig });
      got.forEach((g, i) => {
        expect(g).toBeLessThanOrEqual(plain[i] * (1 + 1e-15));
        expect(g).toBeGreaterThanOrEqual((plain[i] / c.factor) * (1 - 1e-15));
        if (i > 0) expect(g).toBeLessThanOrEqual(got[i - 1]);
      });
      if (c.type === 'llama3') {
        if (2 * Math.PI < c.orig / 4) expect(got[0]).toBe(plain[0]);
        const last = c.half - 1;
        if (2 * Math.PI / plain[last] > c.orig) expect(got[last]).toBeCloseTo(plain[last] / c.factor, 15);
      }
    }), { numRuns: 100 });
  });

  it('dynamic NTK leaves sequences within originalMaxPositions unscaled, and scales longer ones', () => {
    const D = 8;
    const plain = new RotaryEmbedding(D, { maxPositions: MAXPOS });
    const dynamic = new RotaryEmbedding(D, { maxPositions: MAXPOS, scaling: { type: 'dynamic', factor: 2, originalMaxPositions: 8 } });
    const x = randn([8, D], 3);
    const short = i32([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(nums(dynamic.forward(x, short))).toEqual(nums(plain.forward(x, short)));
    const long = i32([0, 1, 2, 3, 4, 5, 6, 15]);
    expect(nums(dynamic.forward(x, long))).not.toEqual(nums(plain.forward(x, long)));
  });

  it('dynamic NTK in a compiled graph (positions as an input) follows max position + 1, as the eager call and the formula do', async () => {
    const D = 8;
    const scaling = { type: 'dynamic' as const, factor: 2, originalMaxPositions: 8 };
    const rope = new RotaryEmbedding(D, { maxPositions: MAXPOS, scaling });
    const graph = trace((x, positions) => rope.forward(x, positions), [{ shape: ['T', D] }, { shape: ['T'], dtype: 'int32' }]);
    const exe = await ortNode.compile(graph, { device: 'cpu', intraOpNumThreads: 1 });
    // A prompt past the original length, one decoding step at 40, and a short prompt (unscaled).
    for (const positions of [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [40], [0, 1, 2, 3]]) {
      const T = positions.length;
      const x = tensor(Float32Array.from({ length: T * D }, (_, i) => Math.sin(i + 1)), { shape: [T, D] });
      const pos = tensor(positions, { dtype: 'int32' });
      const eager = nums(rope.forward(x, pos));
      const [compiled] = await exe.run([x, pos]);
      // Written out: rotate each half-pair by position · ropeFrequencies(D, 1e4, scaling, L) in float64.
      const inv = ropeFrequencies(D, 10000, scaling, Math.max(...positions) + 1);
      const xs = nums(x);
      const want = xs.map((_, k) => {
        const [t, d] = [Math.floor(k / D), k % D];
        const i = d % (D / 2);
        const [a, b] = [xs[t * D + i], xs[t * D + i + D / 2]];
        const angle = positions[t] * inv[i];
        return d < D / 2 ? a * Math.cos(angle) - b * Math.sin(angle) : b * Math.cos(angle) + a * Math.sin(angle);
      });
      expect(maxDiff(eager, want)).toBeLessThan(2e-5);
      expect(maxDiff(nums(compiled), want)).toBeLessThan(2e-5);
    }
    await exe.dispose();
  });
});
