/**
 * Small helpers shared by the module tests: float64 tensors from numbers,
 * random parameter values, and a gradient check of a module w.r.t. its
 * inputs and every parameter at once.
 */
import fc from 'fast-check';
import { tensor, type Module, type Tensor } from '../../src/index.js';
import { assertVjp, rng, type CheckResult } from '../helpers/check-vjp.js';

export const nums = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number>, Number);
export const f64 = (values: number[], shape: number[]): Tensor => tensor(values, { shape, dtype: 'float64' });
export const i32 = (values: number[], shape?: number[]): Tensor => tensor(values, { dtype: 'int32', ...(shape ? { shape } : {}) });

/** A float64 tensor of `shape` with values uniform in [-scale, scale) from a seed. */
export function randn(shape: number[], seed: number, scale = 1): Tensor {
  const r = rng(seed);
  return f64(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * (2 * r() - 1)), shape);
}

/** Random values for every parameter of `m` (same shapes, float64), so no gain is 1 and no bias 0. */
export function randomParams(m: Module, seed: number, scale = 0.5): Tensor[] {
  return m.parameters().map((p, i) => randn(p.value.shape as number[], seed + 7919 * i, scale));
}

/**
 * Checks the gradients of `f` (which calls `m`) w.r.t. `inputs` and every
 * parameter of `m`, taken at random parameter values, against finite differences.
 */
export function assertModuleVjp(m: Module, f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], seed: number, scale = 0.5): CheckResult {
  const n = inputs.length;
  return assertVjp((...xs) => m.withParameters(xs.slice(n), () => f(...xs.slice(0, n))), [...inputs, ...randomParams(m, seed, scale)], { seed });
}

/** Largest absolute elementwise difference. */
export function maxDiff(a: Tensor | number[], b: Tensor | number[]): number {
  const [x, y] = [Array.isArray(a) ? a : nums(a), Array.isArray(b) ? b : nums(b)];
  if (x.length !== y.length) return Infinity;
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

export const seedArb: fc.Arbitrary<number> = fc.integer({ min: 1, max: 2 ** 31 - 1 });
