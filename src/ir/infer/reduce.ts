import type { Dim } from '../../core/shape.js';
import { arity, checkAxes, needDType } from './common.js';
import type { PrimitiveAttrs } from '../primitives.js';
import type { InferFn, InferTable } from './types.js';

const NUMERIC = ['float32', 'float64', 'int32', 'int64'] as const;

const reduce: InferFn<PrimitiveAttrs['reduceSum']> = (where, inputs, { axes, keepDims }) => {
  arity(where, inputs, 1);
  const [x] = inputs;
  needDType(where, 'x', x, NUMERIC);
  checkAxes(where, axes, x.shape.length);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keepDims) shape.push(1);
  });
  return { shape, dtype: x.dtype };
};

/** Shape and dtype rules of the reductions. */
export const reduceRules: InferTable<'reduceSum' | 'reduceMax' | 'argMax'> = {
  reduceSum: reduce,
  reduceMax: reduce,
  argMax: (where, inputs, { axis, keepDims }) => {
    const out = reduce(where, inputs, { axes: [axis], keepDims });
    return { shape: out.shape, dtype: 'int32' };
  },
};
