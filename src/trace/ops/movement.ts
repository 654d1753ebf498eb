import { apply, expectTensor } from '../apply.js';
import { infer } from '../../ir/infer/index.js';
import { fail } from '../../core/errors.js';
import { describe } from '../../core/dtype.js';
import { normalizeAxis, type Dim, type Shape } from '../../core/shape.js';
import type { Tensor } from '../tensor.js';

/** Same elements in a new shape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly (Dim | -1)[]): Tensor {
  // The -1 is resolved here, so the node holds every dim: the reference backend re-reads the attributes with the
  // sizes bound, and a symbolic dim that is 0 at run time left the -1 undetermined there.
  const resolved = Array.isArray(shape) && shape.includes(-1) ? infer('reshape', 'reshape', [expectTensor('reshape', 'x', x)], { shape }).shape : shape;
  return apply('reshape', [x], { shape: resolved }, 'reshape');
}

/** Permutes axes: output axis i is input axis perm[i] (default: reversed). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const rank = expectTensor('transpose', 'x', x).rank;
  return apply('transpose', [x], { perm: perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i) });
}

/** Swaps two axes (negative counts from the end). */
export function swapAxes(x: Tensor, a: number, b: number): Tensor {
  const rank = expectTensor('swapAxes', 'x', x).rank;
  const p = normalizeAxis('swapAxes', a, rank);
  const q = normalizeAxis('swapAxes', b, rank);
  const perm = Array.from({ length: rank }, (_, i) => (i === p ? q : i === q ? p : i));
  return apply('transpose', [x], { perm }, 'swapAxes');
}

/** Broadcasts to `shape` by NumPy rules (size-1 and missing leading dims repeat). */
export function expand(x: Tensor, shape: Shape): Tensor {
  return apply('expand', [x], { shape });
}

/** The block of `sizes` starting at `starts` (one entry per axis, unit step). */
export function slice(x: Tensor, starts: readonly number[], sizes: Shape): Tensor {
  return apply('slice', [x], { starts, sizes });
}

/** Elements [start, end) of one axis (negative indices count from the end). */
export function sliceAxis(x: Tensor, axis: number, start: number, end: number): Tensor {
  const site = 'sliceAxis';
  const ax = normalizeAxis(site, axis, expectTensor(site, 'x', x).rank);
  const dim = x.shape[ax];
  if (typeof dim !== 'number') fail(site, `axis ${axis} expected a static size, got '${dim}'`);
  const s = start < 0 ? start + dim : start;
  const e = end < 0 ? end + dim : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > dim || s > e) {
    fail(site, `range expected 0 <= start <= end <= ${dim}, got [${start}, ${end})`);
  }
  const starts = x.shape.map((_, i) => (i === ax ? s : 0));
  const sizes = x.shape.map((d, i) => (i === ax ? e - s : d));
  return apply('slice', [x], { starts, sizes }, site);
}

/** Zero-pads `x` into a tensor of `shape`, with `x` at offset `before`. */
export function pad(x: Tensor, before: readonly number[], shape: Shape): Tensor {
  return apply('pad', [x], { before, shape });
}

/** Joins tensors along `axis` (negative counts from the end). */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) fail('concat', `xs expected a non-empty array of Tensors, got ${describe(xs)}`);
  const rank = expectTensor('concat', 'xs[0]', xs[0]).rank;
  return apply('concat', xs, { axis: normalizeAxis('concat', axis, rank) });
}

/** Inserts a size-1 axis at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const rank = expectTensor('unsqueeze', 'x', x).rank;
  const ax = normalizeAxis('unsqueeze', axis, rank + 1);
  return apply('reshape', [x], { shape: [...x.shape.slice(0, ax), 1, ...x.shape.slice(ax)] }, 'unsqueeze');
}

/** Removes a size-1 axis. */
export function squeeze(x: Tensor, axis: number): Tensor {
  const rank = expectTensor('squeeze', 'x', x).rank;
  const ax = normalizeAxis('squeeze', axis, rank);
  if (x.shape[ax] !== 1) fail('squeeze', `axis ${axis} expected size 1, got ${x.shape[ax]}`);
  return apply('reshape', [x], { shape: x.shape.filter((_, i) => i !== ax) }, 'squeeze');
}
