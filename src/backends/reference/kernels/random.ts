import { fromNumbers } from '../../../tensor/dtype.js';
import { sizeOf } from '../../../tensor/shape.js';
import type { KernelTable } from './types.js';

/**
 * The counter-based hash behind `randomUniform`: uint32 multiplies, adds and
 * right shifts only (no xor), because those are the integer ops every ONNX
 * Runtime device has kernels for, so each backend can reproduce these bits.
 * Returns 24 random bits of (seed, step, salt, index).
 */
export function hash32(seed: number, step: number, salt: number, index: number): number {
  let h = (Math.imul(seed, 0x9e3779b1) + Math.imul(step, 0x85ebca77) + Math.imul(salt, 0xc2b2ae3d)
    + Math.imul(index, 0x27d4eb2f) + 0x165667b1) >>> 0;
  h = (h + (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h + (h >>> 12)) >>> 0;
  h = Math.imul(h, 0x297a2d39) >>> 0;
  h = (h + (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x9e3779b1) >>> 0;
  h = (h + (h >>> 16)) >>> 0;
  return h >>> 8;
}

/** Reference kernel of the random primitive. */
export const random: KernelTable<'randomUniform'> = {
  randomUniform: ([seed, step], { salt }, out) => {
    const s = Number(seed.data[0]);
    const t = Number(step.data[0]);
    const r = new Float64Array(sizeOf(out.shape));
    for (let i = 0; i < r.length; i++) r[i] = hash32(s, t, salt, i) / 16777216;
    return fromNumbers(out.dtype, r);
  },
};
