import { toNumbers } from '../../../tensor/dtype.js';
import { sizeOf, stridesOf } from '../../../tensor/shape.js';
import { fromNumbers } from '../../../tensor/dtype.js';
import { strideIndex } from './index-maps.js';
import type { Buffer, KernelTable } from './types.js';

/** For each input element, the flat index of the output element it reduces into. */
function reduceIndex(x: Buffer, axes: readonly number[]): Int32Array {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const strides = stridesOf(kept).map((s, i) => (axes.includes(i) ? 0 : s));
  return strideIndex(x.shape, strides);
}

/** Reference kernels of the reductions. */
export const reduce: KernelTable<'reduceSum' | 'reduceMax' | 'argMax'> = {
  reduceSum: ([x], { axes }, out) => {
    const a = toNumbers(x.data);
    const into = reduceIndex(x, axes);
    const r = new Float64Array(sizeOf(out.shape));
    for (let i = 0; i < a.length; i++) r[into[i]] += a[i];
    return fromNumbers(out.dtype, r);
  },
  reduceMax: ([x], { axes }, out) => {
    const a = toNumbers(x.data);
    const into = reduceIndex(x, axes);
    const r = new Float64Array(sizeOf(out.shape)).fill(-Infinity);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v > r[into[i]] || Number.isNaN(v)) r[into[i]] = v;
    }
    return fromNumbers(out.dtype, r);
  },
  argMax: ([x], { axis }, out) => {
    const a = toNumbers(x.data);
    const into = reduceIndex(x, [axis]);
    const stride = stridesOf(x.shape)[axis];
    const dim = x.shape[axis];
    const best = new Float64Array(sizeOf(out.shape)).fill(-Infinity);
    const r = new Int32Array(best.length);
    for (let i = 0; i < a.length; i++) {
      // Strictly greater: ties keep the first index, as ONNX ArgMax does.
      if (a[i] > best[into[i]]) {
        best[into[i]] = a[i];
        r[into[i]] = Math.floor(i / stride) % dim;
      }
    }
    return r;
  },
};
