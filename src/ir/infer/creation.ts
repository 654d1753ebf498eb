import { fail, show } from '../../core/errors.js';
import type { FamilyMembers } from '../primitives.js';
import { dtypeOfArray, isDType } from '../../core/dtype.js';
import { formatShape, isDim, sizeOf } from '../../core/shape.js';
import { arity, checkIntList } from './common.js';
import type { InferTable } from './types.js';

/** Shape and dtype rules of the constant-producing primitives. */
export const creation: InferTable<FamilyMembers<'creation'>> = {
  constant: (site, inputs, { value, shape }) => {
    arity(site, inputs, 0);
    const dtype = dtypeOfArray(site, value);
    checkIntList(site, 'shape', shape, Array.isArray(shape) ? shape.length : 0);
    if (sizeOf(shape) !== value.length) {
      fail(site, `data expected ${sizeOf(shape)} elements for shape ${formatShape(shape)}, got ${value.length}`);
    }
    return { shape, dtype };
  },
  iota: (site, inputs, { length, dtype }) => {
    arity(site, inputs, 0);
    if (!isDim(length)) fail(site, `length expected a non-negative integer or a dimension name, got ${show(length)}`);
    if (!isDType(dtype) || dtype === 'bool') fail(site, `dtype expected float32, float64, int32 or int64, got ${show(dtype)}`);
    return { shape: [length], dtype };
  },
};
