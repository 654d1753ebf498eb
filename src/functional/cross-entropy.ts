import { checkOptions } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { cast, div, equal, maximum, sub, where } from '../trace/ops/elementwise.js';
import { iota } from '../trace/ops/creation.js';
import { reshape } from '../trace/ops/movement.js';
import { sum } from '../trace/ops/reduce.js';
import { formatShape, shapesEqual } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { logSumExp } from './softmax.js';
import { expectTensor } from '../trace/apply.js';

// N positions (any leading shape), V classes.

/** The default ignoreIndex of {@link crossEntropy}: targets equal to it count for nothing (PyTorch's default). */
export const IGNORE_INDEX = -100;

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Targets equal to this are left out of the loss and the mean (default -100, as PyTorch). */
  ignoreIndex?: number;
}

/**
 * Mean negative log-likelihood of integer `targets` (...) under `logits`
 * (..., V): mean over non-ignored positions of logSumExp(logits) −
 * logits[target]. Stable for large logits (the max is subtracted inside
 * logSumExp). The target logit is picked with a one-hot comparison, which
 * works for symbolic shapes and lowers to ops every device has.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const fn = 'crossEntropy';
  expectTensor(fn, 'logits', logits);
  expectTensor(fn, 'targets', targets);
  checkOptions(fn, options, ['ignoreIndex']);
  const ignore = options?.ignoreIndex ?? IGNORE_INDEX;
  if (!Number.isInteger(ignore)) fail(fn, `ignoreIndex expected an integer, got ${show(ignore)}`);
  if (logits.dtype !== 'float32' && logits.dtype !== 'float64') fail(fn, `logits expected a float tensor, got ${logits.dtype}`);
  if (targets.dtype !== 'int32' && targets.dtype !== 'int64') fail(fn, `targets expected an int32 or int64 tensor, got ${targets.dtype}`);
  if (!shapesEqual(logits.shape.slice(0, -1), targets.shape)) {
    fail(fn, `targets expected shape ${formatShape(logits.shape.slice(0, -1))} (logits without the class axis), got ${formatShape(targets.shape)}`);
  }
  const V = logits.shape[logits.rank - 1];
  if (!targets.isTraced && typeof V === 'number') {
    const bad = Array.from(targets.data(), Number).find((t) => t !== ignore && (t < 0 || t >= V));
    if (bad !== undefined) fail(fn, `targets expected in [0, ${V - 1}] or ignoreIndex (${ignore}), got ${bad}`);
  }
  const t = cast(targets, 'int32');
  const onehot = equal(reshape(iota(V, 'int32'), [...targets.shape.map(() => 1), V]), reshape(t, [...targets.shape, 1])); // (..., V)
  const picked = sum(where(onehot, logits, 0), -1); // (...)
  const nll = sub(logSumExp(logits, -1), picked);
  const ignored = equal(t, ignore);
  const count = maximum(sum(where(ignored, 0, tensor(1, { dtype: logits.dtype }))), tensor(1, { dtype: logits.dtype }));
  // where, not a 0/1 multiply: an ignored row may hold non-finite logits, and Inf · 0 is NaN.
  return div(sum(where(ignored, 0, nll)), count);
}
