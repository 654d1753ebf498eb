import type { PrimitiveAttrs, Primitive } from '../primitives.js';
import { creation } from './creation.js';
import { elementwise } from './elementwise.js';
import { indexing } from './indexing.js';
import { linalg } from './linalg.js';
import { movement } from './movement.js';
import { random } from './random.js';
import { reduce } from './reduce.js';
import type { InferTable, Meta } from './types.js';

/** Every primitive's shape/dtype rule; the InferTable type makes a missing one a type error. */
export const INFER: InferTable<Primitive> = {
  ...elementwise, ...reduce, ...linalg, ...movement, ...indexing, ...creation, ...random,
};

/** Checks a primitive application and gives its output's shape and dtype. */
export function infer<P extends Primitive>(op: P, site: string, inputs: readonly Meta[], attrs: PrimitiveAttrs[P]): Meta {
  return (INFER[op] as (w: string, i: readonly Meta[], a: PrimitiveAttrs[P]) => Meta)(site, inputs, attrs);
}

export type { Meta } from './types.js';
