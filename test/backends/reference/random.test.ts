/**
 * randomUniform: a counter-based generator, a pure function of
 * (seed, step, salt, element index).
 *
 * Proves:
 * - determinism: the same (seed, step, salt, shape) gives identical numbers,
 *   in float32 and float64 alike (24-bit values are exact in both), and the
 *   shape only decides how many: element i is the same for any shape;
 * - changing seed, step or salt changes the stream (almost no equal
 *   positions), for many neighbouring values;
 * - every value lies in [0, 1);
 * - statistics over 10k samples, each within a 5-sigma bound: the mean is
 *   1/2, the fraction below p is p (binomial) for several p; elements a few
 *   positions apart, and streams of neighbouring steps/seeds/salts, are
 *   uncorrelated;
 * - inside a compiled traced graph, with seed and step as graph inputs (and
 *   a symbolic size), the numbers are exactly the eager ones;
 * - seed/step must be int32 scalars and salt an integer in [0, 2^32);
 * - 16 bits (two numbers per generator word): numbers 2k and 2k + 1 are
 *   the top and bottom halves of the word whose top 24 bits are number k at
 *   24 bits, so both share one generator; every value is a multiple of
 *   2^-16 in [0, 1); the same statistics hold (lag 1 pairs the halves of one
 *   word); a compiled graph of odd and symbolic size gives the eager numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LlmTricksError, randomUniform, referenceBackend, scalar, tensor, trace, type Tensor } from '../../../src/index.js';
import { randomKey, squaresWord } from '../../../src/core/random-bits.js';

const i32 = (v: number): Tensor => scalar(v, 'int32');
const draw = (seed: number, step: number, n: number, salt = 0, dtype: 'float32' | 'float64' = 'float32', bits: 16 | 24 = 24): number[] =>
  Array.from(randomUniform(i32(seed), i32(step), [n], { salt, dtype, bits }).data(), Number);
const draw16 = (seed: number, step: number, n: number, salt = 0): number[] => draw(seed, step, n, salt, 'float32', 16);
const samePositions = (a: number[], b: number[]): number => a.filter((v, i) => v === b[i]).length;
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

describe('determinism', () => {
  it('the same (seed, step, salt) gives identical numbers', () => {
    fc.assert(fc.property(int32, int32, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed, step, salt) => {
      expect(draw(seed, step, 64, salt)).toEqual(draw(seed, step, 64, salt));
    }), { numRuns: 50 });
  });

  it('float32 and float64 give the same values', () => {
    expect(draw(7, 3, 256, 1, 'float64')).toEqual(draw(7, 3, 256, 1, 'float32'));
    expect(randomUniform(i32(7), i32(3), [2], { dtype: 'float64' }).dtype).toBe('float64');
  });

  it('element i depends only on i, not on the shape', () => {
    const long = draw(11, 5, 120);
    const shaped = randomUniform(i32(11), i32(5), [2, 3, 4]);
    expect(shaped.shape).toEqual([2, 3, 4]);
    expect(Array.from(shaped.data(), Number)).toEqual(long.slice(0, 24));
    expect(draw(11, 5, 7)).toEqual(long.slice(0, 7));
  });
});

describe('different inputs give different streams', () => {
  const base = draw(1234, 10, 1000, 3);

  it.each([
    ['seed', (d: number) => draw(1234 + d, 10, 1000, 3)],
    ['step', (d: number) => draw(1234, 10 + d, 1000, 3)],
    ['salt', (d: number) => draw(1234, 10, 1000, 3 + d)],
  ] as const)('changing the %s by 1..20 leaves almost no equal positions', (_name, other) => {
    for (let d = 1; d <= 20; d++) expect(samePositions(base, other(d))).toBeLessThan(5);
  });

  it('random pairs of (seed, step, salt) differ', () => {
    const triple = fc.tuple(int32, int32, fc.integer({ min: 0, max: 1000 }));
    fc.assert(fc.property(triple, triple, (a, b) => {
      fc.pre(a.some((v, i) => v !== b[i]));
      expect(samePositions(draw(a[0], a[1], 200, a[2]), draw(b[0], b[1], 200, b[2]))).toBeLessThan(5);
    }), { numRuns: 50 });
  });
});

describe('range and statistics (10k samples, 5-sigma bounds)', () => {
  const N = 10_000;
  const samples = [draw(0, 0, N), draw(42, 1, N, 0, 'float64'), draw(-7, 99999, N, 12345)];

  it('every value lies in [0, 1)', () => {
    fc.assert(fc.property(int32, int32, (seed, step) => {
      const v = draw(seed, step, 500);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThan(1);
    }), { numRuns: 30 });
  });

  it.each(samples.map((s, i) => [i, s] as const))('sample %i: the mean is within 5 sigma of 1/2', (_i, s) => {
    const mean = s.reduce((a, b) => a + b, 0) / N;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 / Math.sqrt(12 * N));
  });

  it.each(samples.map((s, i) => [i, s] as const))('sample %i: the fraction below p is within 5 binomial sigma', (_i, s) => {
    for (const p of [0.01, 0.1, 0.25, 0.5, 0.9, 0.999]) {
      const below = s.filter((v) => v < p).length;
      expect(Math.abs(below - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    }
  });

  /** Correlation of two U(0, 1) streams: cov / (1/12); its sd is 1/sqrt(n) when independent. */
  const corr = (a: number[], b: number[]): number => {
    const n = Math.min(a.length, b.length);
    let s = 0;
    for (let i = 0; i < n; i++) s += (a[i] - 0.5) * (b[i] - 0.5);
    return (s / n) * 12;
  };
  const bound = 5 / Math.sqrt(N);

  it.each([1, 3, 16, 64])('elements %i apart are uncorrelated', (lag) => {
    for (const s of samples) expect(Math.abs(corr(s.slice(lag), s))).toBeLessThan(bound);
  });

  it('streams of neighbouring steps, seeds and salts are uncorrelated', () => {
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(corr(draw(9, k, N), draw(9, k + 1, N)))).toBeLessThan(bound);
      expect(Math.abs(corr(draw(k, 0, N), draw(k + 1, 0, N)))).toBeLessThan(bound);
      expect(Math.abs(corr(draw(9, 0, N, k), draw(9, 0, N, k + 1)))).toBeLessThan(bound);
    }
  });
});

describe('inside a compiled graph', () => {
  it('seed and step as graph inputs reproduce the eager numbers', async () => {
    const g = trace((seed, step) => [randomUniform(seed, step, [3, 5]), randomUniform(seed, step, [4], { salt: 2, dtype: 'float64' })], [
      { shape: [], dtype: 'int32', name: 'seed' }, { shape: [], dtype: 'int32', name: 'step' },
    ]);
    expect(g.nodes.filter((n) => n.kind === 'primitive' && n.op === 'randomUniform')).toHaveLength(2);
    const exe = await referenceBackend.compile(g);
    for (const [seed, step] of [[0, 0], [5, 1], [5, 2], [-3, 1000]]) {
      const [a, b] = await exe.run({ seed: i32(seed), step: i32(step) });
      expect(a.data()).toEqual(randomUniform(i32(seed), i32(step), [3, 5]).data());
      expect(b.data()).toEqual(randomUniform(i32(seed), i32(step), [4], { salt: 2, dtype: 'float64' }).data());
    }
  });

  it('a symbolic size bound by another input gives the eager prefix', async () => {
    // x is only there to bind N at run time.
    const g = trace((seed, step) => randomUniform(seed, step, ['N']), [
      { shape: [], dtype: 'int32' }, { shape: [], dtype: 'int32' }, { shape: ['N'] },
    ]);
    const exe = await referenceBackend.compile(g);
    for (const n of [1, 17]) {
      const [out] = await exe.run([i32(8), i32(2), tensor(new Float32Array(n))]);
      expect(Array.from(out.data(), Number)).toEqual(draw(8, 2, n));
    }
  });
});

describe('16 bits: two numbers per generator word', () => {
  it('numbers 2k and 2k + 1 are the halves of the word whose top 24 bits are number k at 24 bits', () => {
    fc.assert(fc.property(int32, int32, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed, step, salt) => {
      const wide = draw(seed, step, 50, salt);
      const narrow = draw16(seed, step, 100, salt);
      wide.forEach((u, k) => {
        // The top 16 of the 24 bits, and the other 8 are the bottom half's top 8.
        expect(narrow[2 * k] * 2 ** 16).toBe(Math.floor(u * 2 ** 16));
        expect(Math.floor(narrow[2 * k + 1] * 2 ** 8)).toBe(Math.round((u * 2 ** 24) % 2 ** 8));
      });
      // All 32 bits of each word: the generator's word, split.
      const key = randomKey(seed >>> 0, step >>> 0, salt);
      for (let k = 0; k < 50; k++) expect([narrow[2 * k], narrow[2 * k + 1]].map((v) => v * 2 ** 16)).toEqual([squaresWord(key, k) >>> 16, squaresWord(key, k) & 0xffff]);
    }), { numRuns: 30 });
  });

  it('values are multiples of 2^-16 in [0, 1), the same in float64, and element i depends only on i', () => {
    const v = draw16(3, 4, 1001, 9);
    expect(v.every((x) => x >= 0 && x < 1 && Number.isInteger(x * 2 ** 16))).toBe(true);
    expect(draw(3, 4, 1001, 9, 'float64', 16)).toEqual(v);
    expect(draw16(3, 4, 7, 9)).toEqual(v.slice(0, 7));
    expect(Array.from(randomUniform(i32(3), i32(4), [3, 5], { salt: 9, bits: 16 }).data(), Number)).toEqual(v.slice(0, 15));
  });

  it('statistics over 10k samples (5-sigma bounds): mean, fraction below p, lags 1 to 64, neighbouring streams', () => {
    const N = 10_000;
    const bound = 5 / Math.sqrt(N);
    const corr = (a: number[], b: number[]): number => {
      const n = Math.min(a.length, b.length);
      let s = 0;
      for (let i = 0; i < n; i++) s += (a[i] - 0.5) * (b[i] - 0.5);
      return (s / n) * 12;
    };
    for (const s of [draw16(0, 0, N), draw16(42, 1, N, 5), draw16(-7, 99999, N, 12345)]) {
      expect(Math.abs(s.reduce((a, b) => a + b, 0) / N - 0.5)).toBeLessThan(5 / Math.sqrt(12 * N));
      for (const p of [0.01, 0.1, 0.25, 0.5, 0.9]) {
        expect(Math.abs(s.filter((v) => v < p).length - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
      }
      for (const lag of [1, 2, 3, 16, 64]) expect(Math.abs(corr(s.slice(lag), s))).toBeLessThan(bound);
      // The two halves of each word, side by side.
      const tops = s.filter((_, i) => i % 2 === 0);
      const bottoms = s.filter((_, i) => i % 2 === 1);
      expect(Math.abs(corr(tops, bottoms))).toBeLessThan(5 / Math.sqrt(N / 2));
    }
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(corr(draw16(9, k, N), draw16(9, k + 1, N)))).toBeLessThan(bound);
      expect(Math.abs(corr(draw16(9, 0, N, k), draw16(9, 0, N, k + 1)))).toBeLessThan(bound);
    }
  });

  it('a compiled graph with seed and step as inputs, odd and symbolic sizes, gives the eager numbers', async () => {
    const g = trace((seed, step, x) => [randomUniform(seed, step, [3, 7], { bits: 16 }), randomUniform(seed, step, x.shape, { bits: 16, salt: 4, dtype: 'float64' })], [
      { shape: [], dtype: 'int32' }, { shape: [], dtype: 'int32' }, { shape: ['N'] },
    ]);
    const exe = await referenceBackend.compile(g);
    for (const n of [1, 2, 17]) {
      const [a, b] = await exe.run([i32(8), i32(2), tensor(new Float32Array(n))]);
      expect(Array.from(a.data(), Number)).toEqual(draw16(8, 2, 21));
      expect(Array.from(b.data(), Number)).toEqual(draw(8, 2, n, 4, 'float64', 16));
    }
  });
});

describe('argument checks', () => {
  it('rejects non-int32 or non-scalar seed/step and bad salt or dtype', () => {
    expect(() => randomUniform(scalar(1), i32(0), [2])).toThrow(/randomUniform: seed expected dtype int32, got float32/);
    expect(() => randomUniform(i32(1), tensor([1, 2], { dtype: 'int32' }), [2])).toThrow(/randomUniform: step expected a scalar, got shape \[2\]/);
    expect(() => randomUniform(i32(1), i32(0), [2], { salt: -1 })).toThrow(/salt expected an integer in \[0, 2\^32\), got -1/);
    expect(() => randomUniform(i32(1), i32(0), [2], { salt: 1.5 })).toThrow(LlmTricksError);
    expect(() => randomUniform(i32(1), i32(0), [2], { dtype: 'int32' as never })).toThrow(/dtype expected float32 or float64, got "int32"/);
    expect(() => randomUniform(i32(1), i32(0), [2], { bits: 32 as never })).toThrow(/randomUniform: bits expected 16 or 24, got 32/);
  });
});
