import { fail } from '../../core/errors.js';
import type { FamilyMembers } from '../primitives.js';
import { broadcastShapes, formatShape } from '../../core/shape.js';
import { arity, needFloat, sameDType } from './common.js';
import type { InferTable } from './types.js';

/** Shape and dtype rules of linear algebra. */
export const linalg: InferTable<FamilyMembers<'linalg'>> = {
  // (..., M, K) @ (..., K, N) -> (..., M, N), batch dims broadcast
  matmul: (site, inputs) => {
    arity(site, inputs, 2);
    const [a, b] = inputs;
    needFloat(site, 'a', a);
    sameDType(site, a, b);
    if (a.shape.length < 2 || b.shape.length < 2) {
      fail(site, `operands expected rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const k1 = a.shape[a.shape.length - 1];
    const k2 = b.shape[b.shape.length - 2];
    if (k1 !== k2 && (typeof k1 === typeof k2)) {
      fail(site, `inner dimensions expected equal, got ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
    }
    const batch = broadcastShapes(site, a.shape.slice(0, -2), b.shape.slice(0, -2));
    return { shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]], dtype: a.dtype };
  },
};
