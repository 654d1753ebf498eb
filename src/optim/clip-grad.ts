import { fail, show } from '../core/errors.js';
import { describe } from '../core/dtype.js';
import { add, div, greater, mul, sqrt, where } from '../trace/ops/elementwise.js';
import { sum } from '../trace/ops/reduce.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import type { Floats } from './optimizer.js';

// Added to the norm before dividing, as PyTorch's clip_grad_norm_ does.
const NORM_EPS = 1e-6;

/**
 * Scales `grads` in place so their global L2 norm is at most `maxNorm`, as
 * PyTorch's `clip_grad_norm_` does (by maxNorm / (norm + 1e-6)), except that
 * a norm at or below maxNorm is never touched (PyTorch also shrinks norms
 * within 1e-6 below it). Returns the norm before clipping.
 */
export function clipGradNorm(grads: readonly Floats[], maxNorm: number): number {
  const site = 'clipGradNorm';
  if (!Array.isArray(grads)) fail(site, `grads expected an array of Float32Array or Float64Array, got ${describe(grads)}`);
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm)) fail(site, `maxNorm expected a finite number > 0, got ${show(maxNorm)}`);
  let squares = 0;
  grads.forEach((g, i) => {
    if (!(g instanceof Float32Array || g instanceof Float64Array)) fail(site, `grads[${i}] expected a Float32Array or Float64Array, got ${describe(g)}`);
    for (let j = 0; j < g.length; j++) squares += g[j] * g[j];
  });
  const norm = Math.sqrt(squares);
  if (norm > maxNorm) {
    const coef = maxNorm / (norm + NORM_EPS);
    for (const g of grads) for (let j = 0; j < g.length; j++) g[j] *= coef;
  }
  return norm;
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
