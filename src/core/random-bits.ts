// Every step below is a uint32 multiply, add or divide by a power of two:
// the integer ops that every ONNX Runtime device has kernels for (WebGPU has
// no xor or shifts), so each backend can reproduce these bits exactly.

/** A murmur3-style finaliser with xor replaced by add; used on scalars only. */
export function mix(h: number): number {
  h = (h + (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h + (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h + (h >>> 16)) >>> 0;
}

/** Added to the salt before mixing (2^32 / φ), so salt 0 is not a fixed point. */
export const GOLDEN = 0x9e3779b9;

/** The odd 32-bit key of one random stream, from (seed, step, salt). */
export function randomKey(seed: number, step: number, salt: number): number {
  return (mix((seed + mix((step + mix((salt + GOLDEN) >>> 0)) >>> 0)) >>> 0) | 1) >>> 0;
}

/** Swaps the 16-bit halves: x * 2^16 + floor(x / 2^16), modulo 2^32. */
function swapHalves(x: number): number {
  return (Math.imul(x, 0x10000) + (x >>> 16)) >>> 0;
}

/**
 * The 32-bit word `index` of the stream `key`: a 32-bit variant of Widynski's
 * "Squares" counter-based generator (four rounds of square, add a Weyl term,
 * swap halves). It needs no xor.
 */
export function squaresWord(key: number, index: number): number {
  const y = Math.imul(index + 1, key) >>> 0;
  const z = (y + key) >>> 0;
  let x = y;
  x = swapHalves((Math.imul(x, x) + y) >>> 0);
  x = swapHalves((Math.imul(x, x) + z) >>> 0);
  x = swapHalves((Math.imul(x, x) + y) >>> 0);
  return swapHalves((Math.imul(x, x) + z) >>> 0);
}

/**
 * 24 random bits for element `index` of the stream `key`: the top 24 bits of
 * word `index`. Passes lag-correlation, cross-stream correlation and bucket
 * chi-square checks at 10^5 samples.
 */
export function squares32(key: number, index: number): number {
  return squaresWord(key, index) >>> 8;
}

/**
 * 16 random bits for element `index` of the stream `key`, two per word: the
 * top half of word ⌊index/2⌋ for an even index, the bottom half for an odd one.
 */
export function squares16(key: number, index: number): number {
  const word = squaresWord(key, index >>> 1);
  return index & 1 ? word & 0xffff : word >>> 16;
}
