import { noGradient, type VjpTable } from '../rule-helpers.js';

/** Random numbers do not depend differentiably on their seed and step. */
export const random: VjpTable<'randomUniform'> = { randomUniform: noGradient };
