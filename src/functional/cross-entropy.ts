import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { add, cast, div, equal, less, mul, sub, where } from '../trace/ops/elementwise.js';
import { gather } from '../trace/ops/indexing.js';
import { iota } from '../trace/ops/creation.js';
import { reshape } from '../trace/ops/movement.js';
import { mean, sum } from '../trace/ops/reduce.js';
import { formatShape, isStatic, shapesEqual, sizeOf } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { logSumExp } from './softmax.js';
import { expectTensor } from '../trace/apply.js';

// N positions (any leading shape), V classes.

/** The default ignoreIndex of {@link crossEntropy}: targets equal to it count for nothing (PyTorch's default). */
export const IGNORE_INDEX = -100;

/** Options of {@link crossEntropy}: PyTorch's `F.cross_entropy` options of the same names. */
export interface CrossEntropyOptions {
  /** Targets equal to this are left out of the loss and the mean (default -100, as PyTorch). */
  ignoreIndex?: number;
  /**
   * ε in [0, 1] (default 0): the target distribution puts 1 − ε on the
   * target and ε spread evenly over all V classes, as PyTorch's
   * `label_smoothing` (Szegedy et al. 2016).
   */
  labelSmoothing?: number;
  /**
   * 'mean' (default) over the positions not ignored, 'sum', or 'none': the
   * loss per position (shape of `targets`), 0 at ignored positions.
   */
  reduction?: 'mean' | 'sum' | 'none';
}

const CROSS_ENTROPY_KEYS = optionKeys<CrossEntropyOptions>({ ignoreIndex: true, labelSmoothing: true, reduction: true });

/**
 * Negative log-likelihood of integer `targets` (...) under `logits` (..., V),
 * as PyTorch's `F.cross_entropy`: per position logSumExp(logits) −
 * logits[target] (with label smoothing ε: (1 − ε) times that plus ε times
 * logSumExp(logits) − mean(logits)), then the mean over non-ignored
 * positions. When every target is ignored the mean is 0/0 = NaN, as in
 * PyTorch. Stable for large logits (the max is subtracted inside
 * logSumExp). The target logit is gathered from the flattened logits at a
 * static shape, and picked with a one-hot comparison otherwise (which works
 * for symbolic shapes); both lower to ops every device has.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const fn = 'crossEntropy';
  expectTensor(fn, 'logits', logits);
  expectTensor(fn, 'targets', targets);
  checkOptions(fn, options, CROSS_ENTROPY_KEYS);
  const ignore = options?.ignoreIndex ?? IGNORE_INDEX;
  if (!Number.isInteger(ignore)) fail(fn, `ignoreIndex expected an integer, got ${show(ignore)}`);
  const eps = options?.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) fail(fn, `labelSmoothing expected a number in [0, 1], got ${show(eps)}`);
  const reduction = options?.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') fail(fn, `reduction expected 'mean', 'sum' or 'none', got ${show(reduction)}`);
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
  const picked = pickTargets(logits, t);
  const lse = logSumExp(logits, -1);
  const nll = sub(lse, picked);
  // Smoothing's part: the mean over classes of −log p = lse − mean(logits).
  const loss = eps === 0 ? nll : add(mul(nll, 1 - eps), mul(sub(lse, mean(logits, -1)), eps));
  const ignored = equal(t, ignore);
  // where, not a 0/1 multiply: an ignored row may hold non-finite logits, and Inf · 0 is NaN.
  const perPosition = where(ignored, 0, loss);
  if (reduction === 'none') return perPosition;
  if (reduction === 'sum') return sum(perPosition);
  return div(sum(perPosition), sum(where(ignored, 0, tensor(1, { dtype: logits.dtype }))));
}

/**
 * Each position's logit at its target (...), 0 where the target is not a
 * class. At a static shape with classes (and N · V int32 indices), a gather
 * from the flattened logits (its gradient a scatter of N values), else a
 * one-hot select over all N · V logits.
 */
function pickTargets(logits: Tensor, t: Tensor): Tensor {
  const V = logits.shape[logits.rank - 1];
  const N = isStatic(t.shape) ? sizeOf(t.shape) : undefined;
  if (typeof V === 'number' && V > 0 && N !== undefined && N * V < 2 ** 31) {
    // A class's index, or 0 where the target is none (ignored, or out of range in a traced graph): its logit is
    // read, then replaced by 0, so no gradient reaches it.
    const index = where(less(t, 0), 0, where(less(t, V), t, 0));
    const rows = reshape(mul(iota(N, 'int32'), V), t.shape);
    return where(equal(index, t), gather(reshape(logits, [N * V]), add(rows, index)), 0);
  }
  const onehot = equal(reshape(iota(V, 'int32'), [...t.shape.map(() => 1), V]), reshape(t, [...t.shape, 1])); // (..., V)
  return sum(where(onehot, logits, 0), -1);
}
