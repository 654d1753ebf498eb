import { checkOptions } from '../../core/options.js';
import { apply, expectTensor } from '../apply.js';
import { fail, show } from '../../core/errors.js';
import { isStatic, sizeOf, type Shape } from '../../core/shape.js';
import { tensor, type Tensor } from '../tensor.js';
import { axesOf } from './args.js';
import { expand } from './movement.js';

/** Options of the reductions. */
export interface ReduceOptions {
  /** Keep reduced axes as size 1 (default false). */
  keepDims?: boolean;
}

/** Sum over `axis` (one, several, or all when omitted; negative counts from the end). */
export function sum(x: Tensor, axis?: number | readonly number[], options?: ReduceOptions): Tensor {
  checkOptions('sum', options, ['keepDims']);
  const axes = axesOf('sum', axis, expectTensor('sum', 'x', x).rank);
  return apply('reduceSum', [x], { axes, keepDims: options?.keepDims ?? false }, 'sum');
}

/** Max over `axis`; ties share the gradient equally. */
export function max(x: Tensor, axis?: number | readonly number[], options?: ReduceOptions): Tensor {
  checkOptions('max', options, ['keepDims']);
  const axes = axesOf('max', axis, expectTensor('max', 'x', x).rank);
  return apply('reduceMax', [x], { axes, keepDims: options?.keepDims ?? false }, 'max');
}

/** Index (int32) of the first maximum along `axis`. */
export function argMax(x: Tensor, axis: number, options?: ReduceOptions): Tensor {
  checkOptions('argMax', options, ['keepDims']);
  if (typeof axis !== 'number') fail('argMax', `axis expected a number, got ${show(axis)}`);
  const [a] = axesOf('argMax', axis, expectTensor('argMax', 'x', x).rank);
  return apply('argMax', [x], { axis: a, keepDims: options?.keepDims ?? false });
}

/** Mean over `axis`: the sum divided by the element count (counted at run time for symbolic dims). */
export function mean(x: Tensor, axis?: number | readonly number[], options?: ReduceOptions): Tensor {
  checkOptions('mean', options, ['keepDims']);
  const axes = axesOf('mean', axis, expectTensor('mean', 'x', x).rank);
  const total = sum(x, axes, options);
  const dims: Shape = axes.map((a) => x.shape[a]);
  if (isStatic(dims)) {
    const count = sizeOf(dims);
    return apply('div', [total, tensor(count, { dtype: x.dtype })], {}, 'mean');
  }
  const count = sum(expand(tensor(1, { dtype: x.dtype }), x.shape), axes, options);
  return apply('div', [total, count], {}, 'mean');
}
