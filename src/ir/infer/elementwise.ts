import { fail, show } from '../../core/errors.js';
import { isDType } from '../../core/dtype.js';
import { broadcastShapes } from '../../core/shape.js';
import { arity, needDType, needFloat, sameDType } from './common.js';
import type { NoAttrs } from '../primitives.js';
import type { InferFn, InferTable, Meta } from './types.js';

const NUMERIC = ['float32', 'float64', 'int32', 'int64'] as const;

const floatUnary: InferFn<NoAttrs> = (where, inputs) => {
  arity(where, inputs, 1);
  needFloat(where, 'x', inputs[0]);
  return inputs[0];
};

const numericUnary: InferFn<NoAttrs> = (where, inputs) => {
  arity(where, inputs, 1);
  needDType(where, 'x', inputs[0], NUMERIC);
  return inputs[0];
};

function binary(kind: 'numeric' | 'float' | 'compare' | 'equal'): InferFn<NoAttrs> {
  return (where, inputs) => {
    arity(where, inputs, 2);
    const [a, b] = inputs;
    if (kind === 'float') needFloat(where, 'a', a);
    else if (kind !== 'equal') needDType(where, 'a', a, NUMERIC);
    sameDType(where, a, b);
    const shape = broadcastShapes(where, a.shape, b.shape);
    return { shape, dtype: kind === 'compare' || kind === 'equal' ? 'bool' : a.dtype };
  };
}

/** Shape and dtype rules of the elementwise primitives. */
export const elementwise: InferTable<'neg' | 'abs' | 'sign' | 'exp' | 'log' | 'sin' | 'cos' | 'sqrt' | 'reciprocal' | 'tanh'
  | 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow' | 'less' | 'equal' | 'where' | 'cast' | 'stopGradient'> = {
  neg: numericUnary, abs: numericUnary, sign: numericUnary,
  exp: floatUnary, log: floatUnary, sin: floatUnary, cos: floatUnary,
  sqrt: floatUnary, reciprocal: floatUnary, tanh: floatUnary,
  add: binary('numeric'), sub: binary('numeric'), mul: binary('numeric'), div: binary('numeric'),
  maximum: binary('numeric'), minimum: binary('numeric'), pow: binary('float'),
  less: binary('compare'), equal: binary('equal'),
  where: (where, inputs) => {
    arity(where, inputs, 3);
    const [cond, a, b] = inputs;
    needDType(where, 'condition', cond, ['bool']);
    sameDType(where, a, b);
    return { shape: broadcastShapes(where, cond.shape, a.shape, b.shape), dtype: a.dtype };
  },
  cast: (where, inputs, attrs) => {
    arity(where, inputs, 1);
    if (!isDType(attrs.dtype)) fail(where, `dtype expected float32, float64, int32, int64 or bool, got ${show(attrs.dtype)}`);
    return { shape: inputs[0].shape, dtype: attrs.dtype };
  },
  stopGradient: (where, inputs): Meta => {
    arity(where, inputs, 1);
    return inputs[0];
  },
};
