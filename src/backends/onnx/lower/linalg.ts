import type { LoweringTable } from './types.js';
import type { FamilyMembers } from '../../../ir/primitives.js';

/** Lowerings of linear algebra: ONNX MatMul broadcasts batch dimensions as ours does. */
export const linalg: LoweringTable<FamilyMembers<'linalg'>> = {
  matmul: (ctx, _node, inputs) => ctx.b.op('MatMul', inputs),
};
