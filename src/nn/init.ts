import { randomKey, squares32 } from '../core/random-bits.js';
import { sizeOf } from '../core/shape.js';
import { full, Tensor } from '../trace/tensor.js';
import type { DType } from '../core/dtype.js';

/** A child module's seed: a hash of the parent's seed and the child's name. */
export function deriveSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = randomKey(h, name.charCodeAt(i), i);
  return h;
}

/**
 * Normal(0, std²) values from a seed, by Box–Muller over the counter-based
 * generator: the same seed gives the same weights on every machine.
 */
export function normalInit(shape: readonly number[], std: number, seed: number, dtype: DType = 'float32'): Tensor {
  const n = sizeOf(shape);
  const key = randomKey(seed >>> 0, 0, 0);
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // u1 in (0, 1] so the log is finite.
    const u1 = (squares32(key, i) + 1) / 16777216;
    const u2 = squares32(key, i + 1) / 16777216;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return new Tensor(shape, dtype === 'float64' ? 'float64' : 'float32', out);
}

/** A tensor of `shape` filled with `value` (norm gains). */
export function constantInit(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  return full(shape, value, dtype);
}
