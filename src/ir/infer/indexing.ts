import { fail } from '../../core/errors.js';
import { formatShape, shapesEqual, type Shape } from '../../core/shape.js';
import { arity, needDType, sameDType } from './common.js';
import type { InferTable, Meta } from './types.js';

function gatherShape(where: string, x: Meta, indices: Meta, axis: number): Shape {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    fail(where, `axis expected an integer in [0, ${rank - 1}] for ${formatShape(x.shape)}, got ${axis}`);
  }
  needDType(where, 'indices', indices, ['int32', 'int64']);
  return [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
}

/** Shape and dtype rules of gather and its transpose. */
export const indexing: InferTable<'gather' | 'scatterAdd'> = {
  gather: (where, inputs, { axis }) => {
    arity(where, inputs, 2);
    const [x, indices] = inputs;
    return { shape: gatherShape(where, x, indices, axis), dtype: x.dtype };
  },
  scatterAdd: (where, inputs, { axis }) => {
    arity(where, inputs, 3);
    const [base, indices, updates] = inputs;
    const expected = gatherShape(where, base, indices, axis);
    needDType(where, 'base', base, ['float32', 'float64', 'int32', 'int64']);
    sameDType(where, base, updates);
    if (!shapesEqual(expected, updates.shape)) {
      fail(where, `updates expected shape ${formatShape(expected)}, got ${formatShape(updates.shape)}`);
    }
    return base;
  },
};
