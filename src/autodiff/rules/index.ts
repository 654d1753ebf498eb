import type { Primitive } from '../../ir/primitives.js';
import type { VjpTable } from '../rule-helpers.js';
import { creation } from './creation.js';
import { elementwise } from './elementwise.js';
import { indexing } from './indexing.js';
import { linalg } from './linalg.js';
import { movement } from './movement.js';
import { random } from './random.js';
import { reduce } from './reduce.js';

/** Every primitive's VJP rule; a missing one is a type error. */
export const VJP_RULES: VjpTable<Primitive> = {
  ...elementwise, ...reduce, ...linalg, ...movement, ...indexing, ...creation, ...random,
};
