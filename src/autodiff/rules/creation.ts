import { noGradient, type VjpTable } from '../rule-helpers.js';

/** Constants have no inputs, so nothing to differentiate. */
export const creation: VjpTable<'constant' | 'iota'> = { constant: noGradient, iota: noGradient };
