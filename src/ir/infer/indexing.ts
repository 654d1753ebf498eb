import { fail } from '../../core/errors.js';
import type { FamilyMembers } from '../primitives.js';
import { formatShape, shapesEqual, type Shape } from '../../core/shape.js';
import { arity, needDType, sameDType } from './common.js';
import type { InferTable, Meta } from './types.js';

function gatherShape(site: string, x: Meta, indices: Meta, axis: number): Shape {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    fail(site, `axis expected an integer in [0, ${rank - 1}] for ${formatShape(x.shape)}, got ${axis}`);
  }
  needDType(site, 'indices', indices, ['int32', 'int64']);
  return [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
}

/** Shape and dtype rules of gather and its transpose. */
export const indexing: InferTable<FamilyMembers<'indexing'>> = {
  gather: (site, inputs, { axis }) => {
    arity(site, inputs, 2);
    const [x, indices] = inputs;
    return { shape: gatherShape(site, x, indices, axis), dtype: x.dtype };
  },
  scatterAdd: (site, inputs, { axis }) => {
    arity(site, inputs, 3);
    const [base, indices, updates] = inputs;
    const expected = gatherShape(site, base, indices, axis);
    needDType(site, 'base', base, ['float32', 'float64', 'int32', 'int64']);
    sameDType(site, base, updates);
    if (!shapesEqual(expected, updates.shape)) {
      fail(site, `updates expected shape ${formatShape(expected)}, got ${formatShape(updates.shape)}`);
    }
    return base;
  },
};
