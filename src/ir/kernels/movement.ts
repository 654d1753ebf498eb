import { allocate } from '../../core/dtype.js';
import type { FamilyMembers } from '../primitives.js';
import { stridesOf } from '../../core/shape.js';
import { broadcastStrides, strideIndex, take } from './index-maps.js';
import type { Elements, KernelTable } from './types.js';

/** Reference kernels of the movement primitives. */
export const movement: KernelTable<FamilyMembers<'movement'>> = {
  // Tensors are immutable, so a reshape shares its input's data.
  reshape: ([x]) => x.data,
  transpose: ([x], { perm }, out) => {
    const strides = stridesOf(x.shape);
    return take(x.data, strideIndex(out.shape, perm.map((p) => strides[p])), out.dtype);
  },
  expand: ([x], _attrs, out) => take(x.data, strideIndex(out.shape, broadcastStrides(x.shape, out.shape)), out.dtype),
  slice: ([x], { starts }, out) => {
    const strides = stridesOf(x.shape);
    const offset = starts.reduce((s, start, i) => s + start * strides[i], 0);
    return take(x.data, strideIndex(out.shape, strides, offset), out.dtype);
  },
  pad: ([x], { before }, out) => {
    const strides = stridesOf(out.shape);
    const offset = before.reduce((s, b, i) => s + b * strides[i], 0);
    const into = strideIndex(x.shape, strides, offset);
    const r = allocate(out.dtype, out.shape.reduce((a, b) => a * b, 1)) as Elements;
    const src = x.data as Elements;
    for (let i = 0; i < into.length; i++) r[into[i]] = src[i];
    return r as typeof x.data;
  },
  concat: (inputs, { axis }, out) => {
    // Each input contributes a block of dim[axis] * inner per outer index.
    const outer = out.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = out.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const rowOut = out.shape[axis] * inner;
    const r = allocate(out.dtype, outer * rowOut);
    let at = 0;
    for (const x of inputs) {
      const row = x.shape[axis] * inner;
      for (let o = 0; o < outer; o++) {
        (r as Float64Array).set((x.data as Float64Array).subarray(o * row, (o + 1) * row), o * rowOut + at);
      }
      at += row;
    }
    return r;
  },
};
