import { fusedComposite } from '../trace/composite.js';
import { add, div, equal, exp, log, mul, stopGradient, sub, where } from '../trace/ops/elementwise.js';
import { transpose } from '../trace/ops/movement.js';
import { max, sum } from '../trace/ops/reduce.js';
import { normalizeAxis } from '../core/shape.js';
import { expectTensor } from '../trace/apply.js';
import { fail, show } from '../core/errors.js';
import type { Tensor } from '../trace/tensor.js';

function lastAxis(site: string, x: Tensor, axis: number): number {
  if (typeof axis !== 'number') fail(site, `axis expected a number, got ${show(axis)}`);
  return normalizeAxis(site, axis, expectTensor(site, 'x', x).rank);
}

/** log Σ exp(x) along `axis`, shifted by the (gradient-free) max so large inputs don't overflow. */
export function logSumExp(x: Tensor, axis = -1, keepDims = false): Tensor {
  const ax = lastAxis('logSumExp', x, axis);
  const top = stopGradient(max(x, ax, { keepDims: true }));
  // A row of all -Inf has max -Inf, and -Inf - -Inf is NaN: shift such rows by 0 instead.
  const m = where(equal(sub(top, top), 0), top, 0);
  const lse = add(log(sum(exp(sub(x, m)), ax, { keepDims: true })), m);
  return keepDims ? lse : sum(lse, ax);
}

/** log softmax along `axis`: x - logSumExp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return sub(x, logSumExp(x, axis, true));
}

const softmaxLast = fusedComposite(
  'softmax',
  (x) => {
    const e = exp(sub(x, stopGradient(max(x, -1, { keepDims: true }))));
    return div(e, sum(e, -1, { keepDims: true }));
  },
  // dx = y ⊙ (g - Σ g⊙y): only the output y is kept for the backward pass.
  (g, _inputs, y) => [mul(y, sub(g, sum(mul(g, y), -1, { keepDims: true })))],
);

/**
 * softmax along `axis` (default the last), stable for large inputs. Its
 * backward keeps only the output: dx = y ⊙ (g − Σ g ⊙ y).
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  const ax = lastAxis('softmax', x, axis);
  if (ax === x.rank - 1) return softmaxLast(x);
  const perm = [...Array(x.rank).keys()].map((i) => (i === ax ? x.rank - 1 : i === x.rank - 1 ? ax : i));
  // Swapping two axes is its own inverse.
  return transpose(softmaxLast(transpose(x, perm)), perm);
}
