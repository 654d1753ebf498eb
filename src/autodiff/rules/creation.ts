import { noGradient, type VjpTable } from '../rule-helpers.js';
import type { FamilyMembers } from '../../ir/primitives.js';

/** Constants have no inputs, so nothing to differentiate. */
export const creation: VjpTable<FamilyMembers<'creation'>> = { constant: noGradient, iota: noGradient };
