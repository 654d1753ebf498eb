import { apply, expectTensor } from '../apply.js';
import { normalizeAxis } from '../../core/shape.js';
import type { Tensor } from '../tensor.js';

/**
 * Picks slices of `x` along `axis` by integer `indices` (ONNX Gather):
 * out.shape = x.shape[:axis] + indices.shape + x.shape[axis+1:].
 * Negative indices count from the end.
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const ax = normalizeAxis('gather', axis, expectTensor('gather', 'x', x).rank);
  return apply('gather', [x, indices], { axis: ax });
}

/**
 * Adds `updates` into a copy of `base` at `indices` along `axis`: the
 * transpose of {@link gather}, so repeated indices accumulate.
 */
export function scatterAdd(base: Tensor, indices: Tensor, updates: Tensor, axis = 0): Tensor {
  const ax = normalizeAxis('scatterAdd', axis, expectTensor('scatterAdd', 'base', base).rank);
  return apply('scatterAdd', [base, indices, updates], { axis: ax });
}
