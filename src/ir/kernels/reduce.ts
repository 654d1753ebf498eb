import { toNumbers } from '../../core/dtype.js';
import type { FamilyMembers } from '../primitives.js';
import { formatShape, sizeOf, stridesOf } from '../../core/shape.js';
import { fail } from '../../core/errors.js';
import { fromNumbers } from '../../core/dtype.js';
import { strideIndex } from './index-maps.js';
import type { Buffer, KernelTable } from './types.js';

/** For each input element, the flat index of the output element it reduces into. */
function reduceIndex(x: Buffer, axes: readonly number[]): Int32Array {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const strides = stridesOf(kept).map((s, i) => (axes.includes(i) ? 0 : s));
  return strideIndex(x.shape, strides);
}

/** int64 reductions on bigints, exact beyond 2^53. */
function bigReduce(x: Buffer, axes: readonly number[], shape: readonly number[], f: (acc: bigint, v: bigint) => bigint, init: bigint): BigInt64Array {
  const a = x.data as BigInt64Array;
  const into = reduceIndex(x, axes);
  const r = new BigInt64Array(sizeOf(shape)).fill(init);
  for (let i = 0; i < a.length; i++) r[into[i]] = f(r[into[i]], a[i]);
  return r;
}

/** Reference kernels of the reductions. */
export const reduce: KernelTable<FamilyMembers<'reduce'>> = {
  reduceSum: ([x], { axes }, out) => {
    if (x.dtype === 'int64') return bigReduce(x, axes, out.shape, (a, b) => BigInt.asIntN(64, a + b), 0n);
    const a = toNumbers(x.data);
    const into = reduceIndex(x, axes);
    const r = new Float64Array(sizeOf(out.shape));
    for (let i = 0; i < a.length; i++) r[into[i]] += a[i];
    return fromNumbers(out.dtype, r);
  },
  reduceMax: ([x], { axes }, out) => {
    if (x.dtype === 'int64') return bigReduce(x, axes, out.shape, (a, b) => (b > a ? b : a), -(2n ** 63n));
    const a = toNumbers(x.data);
    const into = reduceIndex(x, axes);
    const r = new Float64Array(sizeOf(out.shape)).fill(-Infinity);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v > r[into[i]] || Number.isNaN(v)) r[into[i]] = v;
    }
    // The max of nothing: int32's least value, as int64's above and ONNX Runtime's (not 0, which -Infinity casts to).
    if (out.dtype === 'int32') r.forEach((v, i) => { if (v === -Infinity) r[i] = -(2 ** 31); });
    return fromNumbers(out.dtype, r);
  },
  argMax: ([x], { axis }, out) => {
    // No index to give (a symbolic axis that is 0 at run time; a literal 0 fails when traced).
    if (x.shape[axis] === 0 && sizeOf(out.shape) > 0) fail('argMax', `x expected a non-empty axis ${axis}, got shape ${formatShape(x.shape)}`);
    const a = toNumbers(x.data);
    const into = reduceIndex(x, [axis]);
    const stride = stridesOf(x.shape)[axis];
    const dim = x.shape[axis];
    const best = new Float64Array(sizeOf(out.shape)).fill(-Infinity);
    const r = new Int32Array(best.length);
    for (let i = 0; i < a.length; i++) {
      // Strictly greater: ties keep the first index, as ONNX ArgMax does; the
      // first NaN wins, as max() propagates it.
      if (a[i] > best[into[i]] || (Number.isNaN(a[i]) && !Number.isNaN(best[into[i]]))) {
        best[into[i]] = a[i];
        r[into[i]] = Math.floor(i / stride) % dim;
      }
    }
    return r;
  },
};
