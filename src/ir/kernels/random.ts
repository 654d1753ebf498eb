import { fromNumbers } from '../../core/dtype.js';
import type { FamilyMembers } from '../primitives.js';
import { sizeOf } from '../../core/shape.js';
import { randomKey, squares16, squares32 } from '../../core/random-bits.js';
import type { KernelTable } from './types.js';

/** Reference kernel of the random primitive. */
export const random: KernelTable<FamilyMembers<'random'>> = {
  randomUniform: ([seed, step], { salt, bits }, out) => {
    const key = randomKey(Number(seed.data[0]) >>> 0, Number(step.data[0]) >>> 0, salt);
    const r = new Float64Array(sizeOf(out.shape));
    if (bits === 16) for (let i = 0; i < r.length; i++) r[i] = squares16(key, i) / 65536;
    else for (let i = 0; i < r.length; i++) r[i] = squares32(key, i) / 16777216;
    return fromNumbers(out.dtype, r);
  },
};
