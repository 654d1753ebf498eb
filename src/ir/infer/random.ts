import { fail, show } from '../../core/errors.js';
import type { FamilyMembers } from '../primitives.js';
import { formatShape, isDim } from '../../core/shape.js';
import { arity, needDType } from './common.js';
import type { InferTable } from './types.js';

/** Shape and dtype rules of the random primitives. */
export const random: InferTable<FamilyMembers<'random'>> = {
  randomUniform: (site, inputs, { shape, dtype, salt, bits }) => {
    arity(site, inputs, 2);
    inputs.forEach((m, i) => {
      needDType(site, i === 0 ? 'seed' : 'step', m, ['int32']);
      if (m.shape.length !== 0) fail(site, `${i === 0 ? 'seed' : 'step'} expected a scalar, got shape ${formatShape(m.shape)}`);
    });
    if (!Array.isArray(shape) || !shape.every(isDim)) fail(site, `shape expected dimensions, got ${show(shape)}`);
    if (dtype !== 'float32' && dtype !== 'float64') fail(site, `dtype expected float32 or float64, got ${show(dtype)}`);
    if (!Number.isInteger(salt) || salt < 0 || salt > 0xffffffff) fail(site, `salt expected an integer in [0, 2^32), got ${salt}`);
    if (bits !== 16 && bits !== 24) fail(site, `bits expected 16 or 24, got ${show(bits)}`);
    return { shape, dtype };
  },
};
