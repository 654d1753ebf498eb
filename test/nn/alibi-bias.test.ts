/**
 * Properties of the score biases:
 * - alibiSlopes(n) equals the paper's reference code (written here
 *   independently: a geometric sequence from 2^(−8/m) for powers of two,
 *   else the slopes of the lower power of two followed by every other slope
 *   of the next one) for n = 1..64 (rel. 1e-14), with spot values;
 * - AlibiBias: (H, Tq, Tk), 0 on the diagonal, −slope·(q − k) for k <= q
 *   (exactly linear in the distance), 0 after the query in causal mode,
 *   −slope·|q − k| when bidirectional; no parameters; works at 5000 keys and
 *   with queries at an offset (positions [p..p+T) give the last T rows of the
 *   full bias);
 * - RelativePositionBias: the bucket of k − q equals Hugging Face T5's
 *   _relative_position_bucket (re-implemented here) for causal and
 *   bidirectional settings (odd bucket counts floor buckets / 2, as T5); the bias is table[bucket, h]; gradients w.r.t.
 *   the table match finite differences (float64); relative distances, not
 *   absolute positions, decide the bias (shifting queries and keys together).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlibiBias, alibiSlopes, RelativePositionBias } from '../../src/index.js';
import { assertModuleVjp, i32, maxDiff, nums, seedArb } from './util.js';

/** The ALiBi paper's get_slopes, transcribed. */
function referenceSlopes(n: number): number[] {
  const pow2 = (k: number): number[] => {
    const start = 2 ** -(2 ** -(Math.log2(k) - 3));
    return Array.from({ length: k }, (_, i) => start * start ** i);
  };
  if (Number.isInteger(Math.log2(n))) return pow2(n);
  const closest = 2 ** Math.floor(Math.log2(n));
  return [...pow2(closest), ...referenceSlopes(2 * closest).filter((_, i) => i % 2 === 0).slice(0, n - closest)];
}

const seq = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('alibiSlopes', () => {
  it('equals the paper\'s closed form for 1..64 heads', () => {
    for (let n = 1; n <= 64; n++) {
      const [got, want] = [alibiSlopes(n), referenceSlopes(n)];
      expect(got.length).toBe(n);
      got.forEach((s, i) => expect(Math.abs(s - want[i])).toBeLessThanOrEqual(1e-14 * want[i]));
    }
  });
  it('spot values: 8 heads 1/2..1/256; 12 heads add 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5; 1 head 1/256', () => {
    expect(alibiSlopes(8)).toEqual(seq(1, 8).map((i) => 2 ** -i));
    const twelve = alibiSlopes(12);
    expect(twelve.slice(0, 8)).toEqual(seq(1, 8).map((i) => 2 ** -i));
    twelve.slice(8).forEach((s, i) => expect(s).toBeCloseTo(2 ** -(0.5 + i), 15));
    expect(alibiSlopes(1)).toEqual([2 ** -8]);
  });
  it('rejects a non-positive or fractional head count', () => {
    expect(() => alibiSlopes(0)).toThrow(/alibiSlopes/);
    expect(() => alibiSlopes(2.5)).toThrow(/heads/);
  });
});

describe('AlibiBias', () => {
  const arb = fc.record({ heads: fc.integer({ min: 1, max: 8 }), T: fc.integer({ min: 1, max: 6 }), p: fc.integer({ min: 0, max: 20 }) });
  const biasOf = (b: number[], H: number, Tq: number, Tk: number) => (h: number, q: number, k: number): number => b[(h * Tq + q) * Tk + k] + 0; // + 0: −0 reads as 0

  it('is −slope·(q − k) for keys at or before the query, 0 on the diagonal and after it (causal)', () => {
    fc.assert(fc.property(arb, ({ heads, T, p }) => {
      const m = new AlibiBias(heads);
      expect(m.parameters()).toEqual([]);
      const S = p + T;
      const out = m.forward(i32(seq(p, T)), S, 'float64');
      expect(out.shape).toEqual([heads, T, S]);
      const got = nums(out).map((v) => v + 0); // + 0: −0 reads as 0
      const want = seq(0, heads).flatMap((h) => seq(0, T).flatMap((q) => seq(0, S).map((k) => (k <= p + q ? -m.slopes[h] * (p + q - k) + 0 : 0))));
      expect(got).toEqual(want);
      expect(seq(0, heads).flatMap((h) => seq(0, T).map((q) => got[(h * T + q) * S + p + q]))).toEqual(new Array(heads * T).fill(0));
      // Linear in distance: equal steps between neighbouring keys up to the query.
      const steps = seq(0, heads).flatMap((h) => seq(0, T).flatMap((q) => seq(1, p + q).map((k) => got[(h * T + q) * S + k] - got[(h * T + q) * S + k - 1] - m.slopes[h])));
      expect(maxDiff(steps, steps.map(() => 0))).toBeLessThan(1e-12);
    }), { numRuns: 30 });
  });

  it('bidirectional mode penalises |q − k|', () => {
    const m = new AlibiBias(3, { mode: 'bidirectional' });
    const b = biasOf(nums(m.forward(i32([0, 1, 2, 3]), 4, 'float64')), 3, 4, 4);
    for (let h = 0; h < 3; h++) for (let q = 0; q < 4; q++) for (let k = 0; k < 4; k++) expect(b(h, q, k)).toBe(-m.slopes[h] * Math.abs(q - k) + 0);
  });

  it('offset queries [p..p+T) give the last T rows of the full bias, also at 5000 keys', () => {
    fc.assert(fc.property(arb, ({ heads, T, p }) => {
      const m = new AlibiBias(heads);
      const S = p + T;
      const full = nums(m.forward(i32(seq(0, S)), S, 'float64')).map((v) => v + 0);
      const tail = nums(m.forward(i32(seq(p, T)), S, 'float64')).map((v) => v + 0);
      const want = seq(0, heads).flatMap((h) => full.slice((h * S + p) * S, (h * S + S) * S));
      expect(tail).toEqual(want);
    }), { numRuns: 30 });
    const m = new AlibiBias(4);
    const long = biasOf(nums(m.forward(i32([4995, 4999]), 5000, 'float64')), 4, 2, 5000);
    expect(long(3, 1, 0)).toBe(-m.slopes[3] * 4999);
    expect(long(0, 0, 4995)).toBe(0);
    expect(long(2, 0, 4999)).toBe(0);
  });
});

/** Hugging Face T5's _relative_position_bucket for one relative position k − q. */
function t5Bucket(rel: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let ret = 0;
  let n = numBuckets;
  let r = rel;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (r > 0) ret += n;
    r = Math.abs(r);
  } else {
    r = -Math.min(r, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (r < maxExact) return ret + r;
  const large = maxExact + Math.trunc((Math.log(r / maxExact) / Math.log(maxDistance / maxExact)) * (n - maxExact));
  return ret + Math.min(large, n - 1);
}

describe('RelativePositionBias', () => {
  const arb = fc.record({
    heads: fc.integer({ min: 1, max: 4 }), half: fc.integer({ min: 2, max: 16 }), bidirectional: fc.boolean(),
    maxDistance: fc.integer({ min: 9, max: 200 }), T: fc.integer({ min: 1, max: 5 }), p: fc.integer({ min: 0, max: 300 }), seed: seedArb,
  }).map((c) => ({ ...c, buckets: c.bidirectional ? 2 * c.half : c.half }));

  it('buckets k − q exactly like Hugging Face T5, and the bias is table[bucket, h]', () => {
    fc.assert(fc.property(arb, (c) => {
      const m = new RelativePositionBias(c.heads, { buckets: c.buckets, maxDistance: c.maxDistance, bidirectional: c.bidirectional, seed: c.seed, dtype: 'float64' });
      const S = c.p + c.T;
      const queries = seq(c.p, c.T);
      const bucket = nums(m.bucket(i32(queries), S));
      const want = queries.flatMap((q) => seq(0, S).map((k) => t5Bucket(k - q, c.bidirectional, c.buckets, c.maxDistance)));
      expect(bucket).toEqual(want);
      const table = nums(m.weight.value);
      const bias = nums(m.forward(i32(queries), S, 'float64'));
      expect(bias).toEqual(seq(0, c.heads).flatMap((h) => want.map((b) => table[b * c.heads + h])));
    }), { numRuns: 30 });
  });

  it('an odd bucket count with bidirectional buckets matches T5 (which floors buckets / 2)', () => {
    // T5 with 9 bidirectional buckets uses 4 per side (buckets 0..7); here a side has 4.5, the log part
    // is scaled by 4.5 − 2 instead of 4 − 2 and keys after the query reach bucket 8.
    const m = new RelativePositionBias(1, { buckets: 9, maxDistance: 20, bidirectional: true });
    expect(nums(m.bucket(i32([0]), 40))).toEqual(seq(0, 40).map((k) => t5Bucket(k, true, 9, 20)));
  });

  it('depends on relative distance only: shifting queries and keys together keeps the bias', () => {
    const m = new RelativePositionBias(2, { buckets: 8, maxDistance: 20, seed: 3, dtype: 'float64' });
    const a = nums(m.forward(i32(seq(0, 4)), 4, 'float64'));
    const shifted = nums(m.forward(i32(seq(10, 4)), 14, 'float64'));
    // Rows of the shifted version restricted to keys 10..13.
    const cut = seq(0, 2).flatMap((h) => seq(0, 4).flatMap((q) => shifted.slice((h * 4 + q) * 14 + 10, (h * 4 + q) * 14 + 14)));
    expect(maxDiff(a, cut)).toBe(0);
  });

  it('gradients w.r.t. its table match finite differences', () => {
    fc.assert(fc.property(arb, (c) => {
      const m = new RelativePositionBias(c.heads, { buckets: c.buckets, maxDistance: c.maxDistance, bidirectional: c.bidirectional, seed: c.seed, dtype: 'float64' });
      expect(m.namedParameters().map(([n]) => n)).toEqual(['relative_attention_bias.weight']);
      assertModuleVjp(m, (q) => m.forward(q, c.p + c.T, 'float64'), [i32(seq(c.p, c.T))], c.seed);
    }), { numRuns: 10 });
  });
});
