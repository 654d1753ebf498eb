/**
 * Shape generators and naive index arithmetic for the tensor, IR and
 * reference-backend tests. Everything here is written independently of
 * src/ (no imports from it beyond types), so the tests compare the library
 * against a second, deliberately simple implementation.
 */
import fc from 'fast-check';

/** Number of elements of a static shape (1 for a scalar). */
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `[2, 3]`, as the library formats shapes in error messages. */
export const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`;

/** Row-major multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/** Flat row-major position of multi-index `idx` in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
  return flat;
}

/** Reads `values` (of `shape`) at an index of the broadcast shape `to` (NumPy rule). */
export function readBroadcast(values: ArrayLike<number>, shape: readonly number[], idx: readonly number[]): number {
  const off = idx.length - shape.length;
  return values[ravel(shape.map((d, i) => (d === 1 ? 0 : idx[off + i])), shape)];
}

/** A shape of rank minRank..maxRank with dims minDim..maxDim. */
export function arbShape(o: { minRank?: number; maxRank?: number; minDim?: number; maxDim?: number } = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4, minDim = 1, maxDim = 4 } = o;
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/** A shape that NumPy-broadcasts to `to`: a suffix of it with some dims set to 1. */
export function arbBroadcastableTo(to: readonly number[]): fc.Arbitrary<number[]> {
  return fc.tuple(
    fc.integer({ min: 0, max: to.length }),
    fc.array(fc.boolean(), { minLength: to.length, maxLength: to.length }),
  ).map(([drop, ones]) => to.slice(drop).map((d, i) => (ones[drop + i] ? 1 : d)));
}

/** A permutation of [0, n). */
export function arbPerm(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n })
    .map((keys) => keys.map((k, i) => [k, i] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]).map(([, i]) => i));
}

/** `n` small integers in [-lim, lim]: exact in float32, sums stay exact, ties are common. */
export function arbInts(n: number, lim = 9): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: -lim, max: lim }), { minLength: n, maxLength: n });
}

/** `n` float32-representable values in [-lim, lim]. */
export function arbFloats(n: number, lim = 4): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: -lim, max: lim, noNaN: true }).map(Math.fround), { minLength: n, maxLength: n });
}

/** A shape together with `arbInts` values for it. */
export function arbIntTensor(o: Parameters<typeof arbShape>[0] = {}, lim = 9): fc.Arbitrary<{ shape: number[]; values: number[] }> {
  return arbShape(o).chain((shape) => arbInts(numel(shape), lim).map((values) => ({ shape, values })));
}
