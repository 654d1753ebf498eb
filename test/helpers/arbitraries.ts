/**
 * fast-check arbitraries for gradient tests: small shapes, broadcast-compatible
 * shape pairs, and float64 tensors whose values stay inside an op's smooth
 * domain (positive for log/sqrt/pow, away from the kinks of abs/sign, no ties
 * for max/maximum), so finite differences (steps up to 2e-4) never cross a kink.
 */
import fc from 'fast-check';
import { tensor, type DType, type Tensor } from '../../src/index.js';

/** Where generated values lie. */
export type Domain =
  | 'any' // [-2, 2]
  | 'positive' // [0.5, 2]
  | 'awayFromZero' // ±[0.1, 2]
  | 'distinct' // pairwise at least 0.01 apart, in [-4, 4] (at most 801 values): no ties for reduceMax
  | 'oddGrid' // odd multiples of 0.1 in [-1.9, 1.9]: never equal to an evenGrid value
  | 'evenGrid'; // even multiples of 0.1 in [-2, 2]

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A shape of rank minRank..maxRank (default 0..4) with dims 1..maxDim (default 4). */
export function shape(options: { minRank?: number; maxRank?: number; maxDim?: number } = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4, maxDim = 4 } = options;
  return fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * A shape that broadcasts to `to`: a suffix of it (rank may drop on the
 * left) with some dims replaced by 1.
 */
export function broadcastableTo(to: readonly number[]): fc.Arbitrary<number[]> {
  return fc.tuple(fc.integer({ min: 0, max: to.length }), fc.array(fc.boolean(), { minLength: to.length, maxLength: to.length }))
    .map(([drop, ones]) => to.slice(drop).map((d, i) => (ones[drop + i] ? 1 : d)));
}

/** `count` shapes that broadcast together, with their broadcast shape first. */
export function broadcastShapes(count: number, options: { maxRank?: number } = {}): fc.Arbitrary<{ out: number[]; shapes: number[][] }> {
  return shape({ maxRank: options.maxRank ?? 4 }).chain((out) =>
    fc.tuple(...Array.from({ length: count }, () => broadcastableTo(out))).map((shapes) => ({ out, shapes })));
}

/** Values of one domain, `n` of them. */
export function values(n: number, domain: Domain = 'any'): fc.Arbitrary<number[]> {
  const grid = (min: number, max: number, step: number, offset: number): fc.Arbitrary<number> =>
    fc.integer({ min, max }).map((k) => Math.round((k * step + offset) * 10) / 10);
  switch (domain) {
    case 'any': return fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n });
    case 'positive': return fc.array(fc.double({ min: 0.5, max: 2, noNaN: true }), { minLength: n, maxLength: n });
    case 'awayFromZero':
      return fc.array(fc.tuple(fc.double({ min: 0.1, max: 2, noNaN: true }), fc.boolean()).map(([v, s]) => (s ? v : -v)), { minLength: n, maxLength: n });
    case 'distinct':
      return fc.uniqueArray(fc.integer({ min: -400, max: 400 }), { minLength: n, maxLength: n }).map((ks) => ks.map((k) => k / 100));
    case 'oddGrid': return fc.array(grid(-10, 9, 0.2, 0.1), { minLength: n, maxLength: n });
    case 'evenGrid': return fc.array(grid(-10, 10, 0.2, 0), { minLength: n, maxLength: n });
  }
}

/** A float tensor of `shape` with values in `domain` (float64 unless told). */
export function floatTensor(shape: readonly number[], domain: Domain = 'any', dtype: DType = 'float64'): fc.Arbitrary<Tensor> {
  return values(sizeOf(shape), domain).map((v) => tensor(v, { shape: [...shape], dtype }));
}

/** A float64 tensor of a generated shape. */
export function anyFloatTensor(domain: Domain = 'any', options: { minRank?: number; maxRank?: number } = {}): fc.Arbitrary<Tensor> {
  return shape(options).chain((s) => floatTensor(s, domain));
}

/** Integer indices of `shape` into an axis of size `dim`, negative ones included (counting from the end). */
export function indices(shape: readonly number[], dim: number, dtype: 'int32' | 'int64' = 'int32'): fc.Arbitrary<Tensor> {
  return fc.array(fc.integer({ min: -dim, max: dim - 1 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((v) => tensor(v, { shape: [...shape], dtype }));
}

/** A bool tensor of `shape`. */
export function boolTensor(shape: readonly number[]): fc.Arbitrary<Tensor> {
  return fc.array(fc.boolean(), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((v) => tensor(v, { shape: [...shape], dtype: 'bool' }));
}

/** Axes of a rank-`rank` tensor: a subset (possibly empty), each written positive or negative. */
export function axes(rank: number): fc.Arbitrary<number[]> {
  const all = Array.from({ length: rank }, (_, i) => i);
  return fc.tuple(fc.subarray(all), fc.array(fc.boolean(), { minLength: rank, maxLength: rank }))
    .map(([picked, negative]) => picked.map((a) => (negative[a] ? a - rank : a)));
}

/** A permutation of 0..rank-1. */
export function permutation(rank: number): fc.Arbitrary<number[]> {
  const all = Array.from({ length: rank }, (_, i) => i);
  return fc.shuffledSubarray(all, { minLength: rank, maxLength: rank });
}

/** A seed for the checker's direction and cotangent. */
export const seed: fc.Arbitrary<number> = fc.integer({ min: 1, max: 2 ** 31 - 1 });
