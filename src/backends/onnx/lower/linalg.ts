import type { LoweringTable } from './types.js';

/** Lowerings of linear algebra: ONNX MatMul broadcasts batch dimensions as ours does. */
export const linalg: LoweringTable<'matmul'> = {
  matmul: (ctx, _node, inputs) => ctx.b.op('MatMul', inputs),
};
