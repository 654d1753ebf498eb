import type { Primitive } from '../primitives.js';
import { creation } from './creation.js';
import { elementwise } from './elementwise.js';
import { indexing } from './indexing.js';
import { linalg } from './linalg.js';
import { movement } from './movement.js';
import { random } from './random.js';
import { reduce } from './reduce.js';
import type { KernelTable } from './types.js';

/** Every primitive's reference kernel; a missing one is a type error. */
export const KERNELS: KernelTable<Primitive> = {
  ...elementwise, ...reduce, ...linalg, ...movement, ...indexing, ...creation, ...random,
};
