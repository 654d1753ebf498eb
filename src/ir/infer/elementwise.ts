import { fail, show } from '../../core/errors.js';
import { isDType } from '../../core/dtype.js';
import { broadcastShapes } from '../../core/shape.js';
import { arity, needDType, needFloat, sameDType } from './common.js';
import type { FamilyMembers, NoAttrs } from '../primitives.js';
import type { InferFn, InferTable, Meta } from './types.js';

const NUMERIC = ['float32', 'float64', 'int32', 'int64'] as const;

const floatUnary: InferFn<NoAttrs> = (site, inputs) => {
  arity(site, inputs, 1);
  needFloat(site, 'x', inputs[0]);
  return inputs[0];
};

const numericUnary: InferFn<NoAttrs> = (site, inputs) => {
  arity(site, inputs, 1);
  needDType(site, 'x', inputs[0], NUMERIC);
  return inputs[0];
};

function binary(kind: 'numeric' | 'float' | 'compare' | 'equal'): InferFn<NoAttrs> {
  return (site, inputs) => {
    arity(site, inputs, 2);
    const [a, b] = inputs;
    if (kind === 'float') needFloat(site, 'a', a);
    else if (kind !== 'equal') needDType(site, 'a', a, NUMERIC);
    sameDType(site, a, b);
    const shape = broadcastShapes(site, a.shape, b.shape);
    return { shape, dtype: kind === 'compare' || kind === 'equal' ? 'bool' : a.dtype };
  };
}

/** Shape and dtype rules of the elementwise primitives. */
export const elementwise: InferTable<FamilyMembers<'elementwise'>> = {
  neg: numericUnary, abs: numericUnary, sign: numericUnary,
  exp: floatUnary, log: floatUnary, sin: floatUnary, cos: floatUnary,
  sqrt: floatUnary, reciprocal: floatUnary, tanh: floatUnary,
  add: binary('numeric'), sub: binary('numeric'), mul: binary('numeric'), div: binary('numeric'),
  maximum: binary('numeric'), minimum: binary('numeric'), pow: binary('float'),
  less: binary('compare'), equal: binary('equal'),
  where: (site, inputs) => {
    arity(site, inputs, 3);
    const [cond, a, b] = inputs;
    needDType(site, 'condition', cond, ['bool']);
    sameDType(site, a, b);
    return { shape: broadcastShapes(site, cond.shape, a.shape, b.shape), dtype: a.dtype };
  },
  cast: (site, inputs, attrs) => {
    arity(site, inputs, 1);
    if (!isDType(attrs.dtype)) fail(site, `dtype expected float32, float64, int32, int64 or bool, got ${show(attrs.dtype)}`);
    return { shape: inputs[0].shape, dtype: attrs.dtype };
  },
  stopGradient: (site, inputs): Meta => {
    arity(site, inputs, 1);
    return inputs[0];
  },
};
