import { fail, show } from '../core/errors.js';
import { describe } from '../core/dtype.js';
import { add, div, greater, mul, sqrt, where } from '../trace/ops/elementwise.js';
import { sum } from '../trace/ops/reduce.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { checkDense, type Floats } from './optimizer.js';
import { scaleSimd, sumSquaresSimd } from './kernels/simd.js';

// Added to the norm before dividing, as PyTorch's clip_grad_norm_ does.
const NORM_EPS = 1e-6;

/**
 * Scales `grads` in place so their global L2 norm is at most `maxNorm`, as
 * PyTorch's `clip_grad_norm_` does (by maxNorm / (norm + 1e-6)), except that
 * a norm at or below maxNorm is never touched (PyTorch also shrinks norms
 * within 1e-6 below it). Returns the norm before clipping.
 *
 * The squares are summed in float64, in eight partial sums (element j of
 * each array into sum j mod 8, in order), added as ((s0 + s1) + (s2 + s3)) +
 * ((s4 + s5) + (s6 + s7)): the same bits with the WebAssembly SIMD kernels
 * and without them. Large arrays run on those kernels, in place when they
 * were allocated by an optimizer's `allocate`.
 */
export function clipGradNorm(grads: readonly Floats[], maxNorm: number): number {
  const site = 'clipGradNorm';
  if (!Array.isArray(grads)) fail(site, `grads expected an array of Float32Array or Float64Array, got ${describe(grads)}`);
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm)) fail(site, `maxNorm expected a finite number > 0, got ${show(maxNorm)}`);
  checkDense(site, 'grads', grads);
  grads.forEach((g, i) => {
    if (!(g instanceof Float32Array || g instanceof Float64Array)) fail(site, `grads[${i}] expected a Float32Array or Float64Array, got ${describe(g)}`);
  });
  const sums = new Float64Array(8);
  for (const g of grads) if (!sumSquaresSimd(g, sums, addSquares)) addSquares(g, sums, 0, g.length);
  const norm = Math.sqrt(((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7])));
  if (norm > maxNorm) {
    const coef = maxNorm / (norm + NORM_EPS);
    for (const g of grads) if (!scaleSimd(g, coef, scale)) scale(g, coef, 0, g.length);
  }
  return norm;
}

/** Adds x[j]² to sums[j % 8] for j in [from, to), `from` a multiple of 8. */
function addSquares(x: Floats, sums: Float64Array, from: number, to: number): void {
  let [s0, s1, s2, s3, s4, s5, s6, s7] = sums;
  let j = from;
  for (; j + 8 <= to; j += 8) {
    const a = x[j], b = x[j + 1], c = x[j + 2], d = x[j + 3], e = x[j + 4], f = x[j + 5], g = x[j + 6], h = x[j + 7];
    s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d;
    s4 += e * e; s5 += f * f; s6 += g * g; s7 += h * h;
  }
  sums.set([s0, s1, s2, s3, s4, s5, s6, s7]);
  for (; j < to; j++) sums[j & 7] += x[j] * x[j];
}

/** x[j] *= coef for j in [from, to). */
function scale(x: Floats, coef: number, from: number, to: number): void {
  for (let j = from; j < to; j++) x[j] *= coef;
}

/**
 * {@link clipGradNorm} with Tensor ops, for a traced training step: returns
 * the clipped gradients and the norm before clipping (a scalar). Gradients
 * within the bound are multiplied by exactly 1, so they stay as they were.
 */
export function clipGradNormGraph(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; norm: Tensor } {
  const fn = 'clipGradNormGraph';
  if (!Array.isArray(grads) || grads.length === 0) fail(fn, `grads expected a non-empty array of Tensors, got ${describe(grads)}`);
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm)) fail(fn, `maxNorm expected a finite number > 0, got ${show(maxNorm)}`);
  const dtype = grads[0].dtype;
  const k = (v: number): Tensor => tensor(v, { dtype });
  const norm = sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
  const coef = where(greater(norm, k(maxNorm)), div(k(maxNorm), add(norm, k(NORM_EPS))), k(1));
  return { grads: grads.map((g) => mul(g, coef)), norm };
}
