import { allocate, type DType, type TypedArray } from '../../core/dtype.js';
import { sizeOf, stridesOf } from '../../core/shape.js';
import type { Elements } from './types.js';

/**
 * For every element of `shape` (row-major), the flat index
 * `offset + Σ idx[d] * strides[d]`. One routine serves transpose, slice, pad,
 * broadcasting and reductions: each is a choice of strides.
 */
export function strideIndex(shape: readonly number[], strides: readonly number[], offset = 0): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let flat = offset;
  for (let i = 0; i < n; i++) {
    out[i] = flat;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      flat += strides[d];
      if (idx[d] < shape[d]) break;
      flat -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Strides that read `from` broadcast to `to` (0 along broadcast axes). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const strides = stridesOf(from);
  const offset = to.length - from.length;
  return to.map((_, i) => (i < offset || from[i - offset] === 1 ? 0 : strides[i - offset]));
}

/** Index map reading `from` broadcast to `to`, or null when no broadcast is needed. */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array | null {
  if (from.length === to.length && from.every((d, i) => d === to[i])) return null;
  return strideIndex(to, broadcastStrides(from, to));
}

/** out[i] = data[index[i]] in the given dtype. */
export function take(data: TypedArray, index: Int32Array, dtype: DType): TypedArray {
  const out = allocate(dtype, index.length) as Elements;
  const src = data as Elements;
  for (let i = 0; i < index.length; i++) out[i] = src[index[i]];
  return out as TypedArray;
}
