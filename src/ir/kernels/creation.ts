import { fromNumbers } from '../../core/dtype.js';
import type { FamilyMembers } from '../primitives.js';
import type { KernelTable } from './types.js';

/** Reference kernels of the constant-producing primitives. */
export const creation: KernelTable<FamilyMembers<'creation'>> = {
  constant: (_inputs, { value }) => value,
  iota: (_inputs, _attrs, out) => fromNumbers(out.dtype, Float64Array.from({ length: out.shape[0] }, (_, i) => i)),
};
