import { noGradient, type VjpTable } from '../rule-helpers.js';
import type { FamilyMembers } from '../../ir/primitives.js';

/** Random numbers do not depend differentiably on their seed and step. */
export const random: VjpTable<FamilyMembers<'random'>> = { randomUniform: noGradient };
