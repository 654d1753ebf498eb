import { formatShape, type Dim } from '../../core/shape.js';
import { fail } from '../../core/errors.js';
import { arity, checkAxes, needDType } from './common.js';
import type { FamilyMembers, PrimitiveAttrs } from '../primitives.js';
import type { InferFn, InferTable } from './types.js';

const NUMERIC = ['float32', 'float64', 'int32', 'int64'] as const;

const reduceAxes: InferFn<PrimitiveAttrs['reduceSum']> = (site, inputs, { axes, keepDims }) => {
  arity(site, inputs, 1);
  const [x] = inputs;
  needDType(site, 'x', x, NUMERIC);
  checkAxes(site, axes, x.shape.length);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keepDims) shape.push(1);
  });
  return { shape, dtype: x.dtype };
};

/** Shape and dtype rules of the reductions. */
export const reduce: InferTable<FamilyMembers<'reduce'>> = {
  reduceSum: reduceAxes,
  reduceMax: reduceAxes,
  argMax: (site, inputs, { axis, keepDims }) => {
    const out = reduceAxes(site, inputs, { axes: [axis], keepDims });
    // An empty axis has no index to give (ONNX Runtime returned the int32 extremes, or failed without a message).
    if (inputs[0].shape[axis] === 0 && !out.shape.includes(0)) fail(site, `x expected a non-empty axis ${axis}, got shape ${formatShape(inputs[0].shape)}`);
    return { shape: out.shape, dtype: 'int32' };
  },
};
